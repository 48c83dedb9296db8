"""[support]'s channel keys: checked when the config is read, so a shop that would send its
password in clear text, or publish under a topic no desk reads, never starts."""

from __future__ import annotations

import pytest

from labeld.config import TOPIC_LEVEL, SupportConfig, broker_address, from_dict
from labeld.errors import ConfigError
from labeld.fleet import protocol


def support(**keys) -> SupportConfig:
    return from_dict({"support": keys}).support


def refused(**keys) -> str:
    with pytest.raises(ConfigError) as caught:
        support(**keys)
    assert caught.value.code == "invalid-config"
    return caught.value.message


def test_the_channel_is_off_unless_a_broker_is_given():
    s = support()
    assert s.broker == "" and s.topic_prefix == "labeld" and s.keepalive_s == 30
    assert s.requests_per_minute == 60 and s.max_role == "tech" and s.allow_insecure is False


def test_a_broker_url_is_mqtts_or_mqtt_with_a_host():
    assert broker_address("mqtts://broker.example.hu") == (True, "broker.example.hu", 8883)
    assert broker_address("mqtt://127.0.0.1:1884") == (False, "127.0.0.1", 1884)
    for bad in ("http://broker", "mqtts://", "broker:8883", "mqtts://h/path", "mqtts://h:99999"):
        assert "broker" in refused(broker=bad, shop_id="a")


def test_mqtt_without_tls_only_to_this_machine_or_when_written_so():
    assert "no TLS" in refused(broker="mqtt://192.168.1.10", shop_id="a")
    assert support(broker="mqtt://localhost", shop_id="a").broker == "mqtt://localhost"
    assert support(broker="mqtt://[::1]:1883", shop_id="a").shop_id == "a"
    assert support(broker="mqtt://192.168.1.10", shop_id="a", allow_insecure=True).broker


@pytest.mark.parametrize("shop_id", ["", "bp/12", "bp+12", "#", "-bp", "bp 12", "x" * 64])
def test_a_shop_id_is_one_topic_level(shop_id):
    assert "shop_id" in refused(broker="mqtts://h", shop_id=shop_id)


def test_the_configs_level_rule_is_the_protocols():
    for value in ("bp-12", "Shop_3.a", "x" * 63, "x" * 64, "", "a/b", "a+", "#", "-a", "á"):
        assert bool(TOPIC_LEVEL.match(value)) == protocol.valid_level(value), value


def test_credentials_and_prefix_are_checked():
    assert "not both" in refused(broker="mqtts://h", shop_id="a", password="x",
                                 password_file="/etc/labeld/mqtt.pw")
    assert "together" in refused(broker="mqtts://h", shop_id="a", client_cert="c.pem")
    assert "mqtts" in refused(broker="mqtt://127.0.0.1", shop_id="a", client_cert="c.pem",
                              client_key="c.key")
    for prefix in ("", "a/+/b", "a/#", "/labeld", "labeld/"):
        assert "topic_prefix" in refused(broker="mqtts://h", shop_id="a", topic_prefix=prefix)
    assert support(broker="mqtts://h", shop_id="a", topic_prefix="acme/labeld").topic_prefix
    assert "max_role" in refused(broker="mqtts://h", shop_id="a", max_role="admin")
    assert "requests_per_minute" in refused(broker="mqtts://h", shop_id="a",
                                            requests_per_minute=0)


def test_an_unreadable_password_file_stops_labeld_before_it_listens(tmp_path):
    from labeld.config import Config, ServerConfig
    from labeld.http.app import create_app

    config = Config(server=ServerConfig(spool=str(tmp_path / "spool.db")),
                    support=support(broker="mqtts://h", shop_id="a",
                                    password_file=str(tmp_path / "missing.pw")))
    with pytest.raises(ConfigError) as caught:
        create_app(config)
    assert caught.value.code == "support-password-file"
