"""The config file: a bad one stops labeld at start and names the key and the reason."""

import subprocess
import sys

import pytest

from labeld import config
from labeld.errors import ConfigError


def test_a_good_file_loads_with_defaults(tmp_path):
    f = tmp_path / "l.toml"
    f.write_text('[[printers]]\nid = "shelf-1"\nuri = "socket://10.0.0.5"\n'
                 'model = "zebra-generic-203"\n')
    cfg = config.load(f)
    assert cfg.server.listen == "127.0.0.1:8631"
    assert cfg.printers[0].id == "shelf-1"
    assert cfg.delivery.max_attempts >= 1


def test_the_shipped_example_is_valid():
    cfg = config.load("examples/labeld.toml")
    assert {p.model for p in cfg.printers} == {"zebra-generic-203", "escpos-generic-80"}


@pytest.mark.parametrize("text, named", [
    ('[server]\nlisten = "localhost"\n', "server.listen"),
    ('[server]\nlistn = "127.0.0.1:1"\n', "server.listn"),
    ('[[printers]]\nid = "Bad Id"\nuri = "socket://x"\nmodel = "m"\n', "printers[0].id"),
    ('[[printers]]\nid = "a"\nuri = "nocolon"\nmodel = "m"\n', "printers[0].uri"),
    ('[[printers]]\nid = "a"\nuri = "socket://x"\n', "printers[0].model"),
    (('[[printers]]\nid = "a"\nuri = "socket://x"\nmodel = "m"\n'
      '[[printers]]\nid = "a"\nuri = "socket://y"\nmodel = "m"\n'), "used twice"),
    ('[delivery]\nmax_attempts = 0\n', "delivery.max_attempts"),
])
def test_a_bad_key_is_named_with_its_reason(tmp_path, text, named):
    f = tmp_path / "bad.toml"
    f.write_text(text)
    with pytest.raises(ConfigError) as err:
        config.load(f)
    assert named in err.value.message
    assert str(f) in err.value.message


def test_not_toml_and_missing_file_are_config_errors(tmp_path):
    f = tmp_path / "x.toml"
    f.write_text("[server\nlisten=")
    with pytest.raises(ConfigError) as err:
        config.load(f)
    assert err.value.code == "config-not-toml"
    with pytest.raises(ConfigError) as err:
        config.load(tmp_path / "missing.toml")
    assert err.value.code == "config-unreadable"


def test_serve_with_a_bad_config_exits_before_listening(tmp_path):
    f = tmp_path / "bad.toml"
    f.write_text('[[printers]]\nid = "a"\nuri = "socket://127.0.0.1:9"\nmodel = "no-such-model"\n')
    proc = subprocess.run([sys.executable, "-m", "labeld", "serve", "--config", str(f),
                           "--listen", "127.0.0.1:0"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "printers[0] (a).model" in proc.stderr and "no-such-model" in proc.stderr


def test_the_http_edge_and_the_config_share_one_set_of_security_defaults():
    """A middleware built without a config (a test, a plugin's app) behaves as a daemon with
    an empty [security] section: there is one set of numbers, in labeld.config."""
    from labeld.http.middleware import BodyLimitConfig, HostConfig, RateConfig

    section = config.SecurityConfig()
    assert RateConfig().rate_per_second == section.rate_per_second
    assert RateConfig().burst == section.burst
    assert BodyLimitConfig().max_bytes == section.max_body_bytes
    assert HostConfig().allowed_hosts == tuple(section.allowed_hosts)


def test_the_support_desk_has_hours_days_and_a_zone_and_says_what_is_wrong():
    desk = config.from_dict({"support": {"hours": "09:30-17:00", "days": ["fri", "mon"],
                                         "timezone": "Europe/Budapest"}}).support
    assert desk.closes == (17, 0) and desk.days == ["mon", "fri"]
    assert config.Config().support.hours == "08:00-16:00"
    assert config.Config().support.timezone is None  # the machine's own zone
    for bad, said in (({"hours": "16:00-08:00"}, "support.hours"),
                      ({"hours": "8-16"}, "support.hours"), ({"days": []}, "support.days"),
                      ({"days": ["monday"]}, "support.days[0]"),
                      ({"timezone": "Europe/Atlantis"}, "no time zone 'Europe/Atlantis'")):
        with pytest.raises(ConfigError) as err:
            config.from_dict({"support": bad})
        assert said in err.value.message, err.value.message


def test_the_desk_section_names_the_broker_and_refuses_clear_text_beyond_this_machine():
    desk = config.from_dict({"desk": {"broker": "mqtts://fleet.example.com", "username": "anna",
                                      "password_file": "/etc/labeld/desk.pass"}}).desk
    assert desk.tls and config.parse_broker(desk.broker) == ("mqtts", "fleet.example.com", 8883)
    assert desk.topic_prefix == "labeld" and not desk.allow_insecure
    assert config.Config().desk is None  # a shop's labeld has no desk
    assert config.from_dict({"desk": {"broker": "mqtt://127.0.0.1", "username": "anna"}}).desk
    assert config.from_dict({"desk": {"broker": "mqtt://10.0.0.9:1883", "username": "anna",
                                      "allow_insecure": True}}).desk
    for desk, said in (
            ({"broker": "mqtt://10.0.0.9", "username": "anna"}, "clear text"),
            ({"broker": "https://fleet.example.com", "username": "anna"}, "desk.broker"),
            ({"broker": "mqtts://h", "username": "anna/x"}, "desk.username"),
            ({"broker": "mqtts://h", "username": "anna", "password": "a",
              "password_file": "b"}, "not both"),
            ({"broker": "mqtts://h", "username": "anna", "client_cert": "c.pem"}, "together"),
            ({"broker": "mqtts://h", "username": "anna", "topic_prefix": "shops/#"},
             "desk.topic_prefix"),
            ({"broker": "mqtts://h"}, "desk.username")):
        with pytest.raises(ConfigError) as err:
            config.from_dict({"desk": desk})
        assert said in err.value.message, (desk, err.value.message)
