"""A request body that arrives in chunks, for the tests of what reads a body and how far."""


class Source:
    """A streaming request body that counts how much of it was taken."""

    def __init__(self, chunks: int, size: int = 1024):
        self.chunks, self.size, self.taken = chunks, size, 0

    async def __aiter__(self):
        for _ in range(self.chunks):
            self.taken += 1
            yield b"x" * self.size
