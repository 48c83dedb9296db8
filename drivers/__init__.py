"""Transports and printer languages, installed as labeld.drivers."""
