"""The request signature and body, against vectors computed outside Python.

Each expected hex below is `printf '%s' "$SECRET<string to sign>$SECRET" |
openssl dgst -sha256 -hmac "$SECRET"`, so the vectors do not share a bug with the code.
"""

from __future__ import annotations

import hashlib
import hmac

import pytest

from returnwatch.sources.doudian_api import DoudianClient, SignatureRejectedError
from returnwatch.sources.doudian_api.client import (
    Credentials,
    method_name,
    param_json,
    sign,
    string_to_sign,
)

from .fake_doudian import ACCESS_TOKEN, APP_KEY, APP_SECRET

VECTORS = [
    # (app_key, app_secret, method, param_json, timestamp, expected sign)
    (
        "app_key_456",
        "app_secret_123",
        "afterSale.List",
        '{"end_time":1785513599,"page":0,"size":100,"start_time":1782835200}',
        "1785600000",
        "f831dd72c494dddb609dfad4dddb3b6d63e7feda35dcaacecb4dd6cde21be2ae",
    ),
    (
        "7000000000000000001",
        "密钥-secret",
        "order.searchList",
        '{"a":"<b>&","z":[{"x":"售后","y":1}]}',
        "1700000000",
        "f8b6ed8defb6e1ec3c6c4d128901084b2586ab0ef69a39c8094fe384028cfeb4",
    ),
    (
        "7000000000000000001",
        "密钥-secret",
        "order.searchList",
        "{}",
        "1700000000",
        "20c89c006bc6c7f8abc54d22524d7094bb17890e7f97a79597bb7d5d5e9b7f6e",
    ),
]


@pytest.mark.parametrize(("app_key", "secret", "method", "body", "timestamp", "expected"), VECTORS)
def test_sign_matches_vectors_computed_with_openssl(
    app_key, secret, method, body, timestamp, expected
):
    assert sign(app_key, secret, method, body, timestamp) == expected


def test_the_string_to_sign_is_spelled_as_the_sdk_spells_it():
    assert (
        string_to_sign("k", "afterSale.List", '{"page":0}', "1700000000")
        == 'app_keykmethodafterSale.Listparam_json{"page":0}timestamp1700000000v2'
    )
    # the secret wraps the string inside the HMAC message and is also its key
    manual = hmac.new(
        b"s", b"s" + string_to_sign("k", "m", "{}", "1").encode() + b"s", hashlib.sha256
    )
    assert sign("k", "s", "m", "{}", "1") == manual.hexdigest()


def test_param_json_is_compact_sorted_at_every_level_and_not_escaped():
    body = param_json({"z": 1, "a": {"y": "<售后>&", "b": [{"d": 2, "c": 1}]}, "m": None})
    assert body == '{"a":{"b":[{"c":1,"d":2}],"y":"<售后>&"},"m":null,"z":1}'


def test_method_is_the_path_with_dots():
    assert method_name("/afterSale/List") == "afterSale.List"
    assert method_name("order/searchList") == "order.searchList"


def test_the_fake_platform_accepts_exactly_what_the_client_signs(fake):
    client = DoudianClient(
        Credentials(APP_KEY, APP_SECRET, ACCESS_TOKEN), base_url=fake.base_url, sleep=lambda _: None
    )
    client.call(
        "/order/searchList", {"update_time_start": 0, "update_time_end": 10, "page": 0, "size": 5}
    )

    (seen,) = fake.seen
    assert seen.answer == "ok"
    assert set(seen.query) == {
        "app_key", "method", "timestamp", "v", "sign_method", "sign", "access_token"
    }  # fmt: skip
    assert seen.query["method"] == "order.searchList"
    assert (seen.query["v"], seen.query["sign_method"]) == ("2", "hmac-sha256")
    assert seen.body == '{"page":0,"size":5,"update_time_end":10,"update_time_start":0}'
    expected = sign(APP_KEY, APP_SECRET, "order.searchList", seen.body, seen.query["timestamp"])
    assert seen.query["sign"] == expected


def test_a_wrong_secret_is_refused_with_a_message_naming_the_settings(fake):
    client = DoudianClient(
        Credentials(APP_KEY, "not-the-secret-xyz", ACCESS_TOKEN),
        base_url=fake.base_url,
        sleep=lambda _: None,
    )
    with pytest.raises(SignatureRejectedError) as raised:
        client.call("/afterSale/List", {"start_time": 0, "end_time": 10, "page": 0, "size": 5})

    message = str(raised.value)
    assert "RETURNWATCH_SOURCE__API__APP_SECRET" in message
    assert "not-the-secret-xyz" not in message
    assert ACCESS_TOKEN not in message
    assert len(fake.seen) == 1  # not retried: retrying cannot fix a signature
