"""Protocol samples shared by driver and simulator tests."""

# A ZebraDesigner-generated `~DG ... :Z64:` block from a public project (the reference's
# "verified" CRC sample was of the same kind): 371 bytes, 7 per row, CRC 3890.
DESIGNER_Z64 = (
    b"eJwdkL1KA0EURs9m4y7iuFEsTLEkFhYpIzYjCWGfwEeQdFpOsHCRBEYU7FKKna/gE8iIoBZifIJkJYUW"
    b"FmIKA1H0bm5xD8P9m+8D74E8GoNryd7o90fg98tjC6HjyEHVEmQQS8FAM4EU71MKLXiVtgjv9gVKhHYK"
    b"CzbM2zxX4itHhZGg3WRX5uualsybmmrIRpPEq7ImSSpLj3BgwvMUdN2/1wJTushfWTTL0MoVO47Ds6ww"
    b"cUxV2xulvovrPGvfakMl7VLOaLxNUY4tUVR0bA+sqRmqvZOh1kQ7vtMpe8cl0low+9CYTdW5W8EpNRlY"
    b"snj9qif/LPuRprCxrIZdgiS0s/dcUX590fpNub6G9z2aax/34Qn2Ld6luMTcJWWIRWEwPb2Z+/mX+0mk"
    b"sxyBKOIfImphyA=="
)
