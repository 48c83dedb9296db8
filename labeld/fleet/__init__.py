"""The fleet support channel: each shop's labeld keeps one outbound MQTT connection to the
vendor's broker, publishes its printers' state there and answers a technician's requests;
the support desk reads every shop from the same broker. No port is opened in the shop.

`protocol.py` is the contract both sides share (topics and payloads, version 1); README
("Fleet support channel") is its description for other tools.
"""
