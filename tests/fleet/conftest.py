"""The fleet tests' fixtures: a real Mosquitto (tests/fleet/broker.py)."""

from tests.fleet.broker import broker  # noqa: F401 - a fixture, found by pytest by name
