"""The systemd unit and udev rules ship what the README promises."""

import configparser
from pathlib import Path

ROOT = Path(__file__).parent.parent


def unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read(ROOT / "systemd" / "labeld.service")
    return parser


def test_the_unit_runs_the_daemon_as_a_dedicated_user_and_restarts_it():
    service = unit()["Service"]
    assert service["ExecStart"].endswith("labeld serve --config /etc/labeld/labeld.toml")
    assert service["Restart"] == "on-failure"
    assert service["User"] == "labeld" and service["StateDirectory"] == "labeld"
    sysusers = (ROOT / "systemd" / "labeld.sysusers").read_text()
    assert "u labeld" in sysusers


def test_the_unit_is_hardened():
    service = unit()["Service"]
    for key, value in {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "PrivateTmp": "yes",
                       "ProtectHome": "yes", "DevicePolicy": "closed"}.items():
        assert service[key] == value, key


def test_udev_rules_give_printer_devices_to_labelds_group():
    rules = (ROOT / "systemd" / "70-labeld-printers.rules").read_text()
    assert 'GROUP="lp"' in rules and "0701" in rules
    unit = (ROOT / "systemd" / "labeld.service").read_text()
    assert "SupplementaryGroups=lp dialout" in unit  # USB printers; serial ones (ttyUSB, ttyACM)
    assert "DeviceAllow=char-ttyUSB rw" in unit and "DeviceAllow=char-ttyACM rw" in unit
