"""Signatures against vectors computed independently with openssl, e.g. for Feishu:
printf '' | openssl dgst -sha256 -hmac "$(printf '1700000000\\nSECdemo-secret')" -binary | base64
"""

from returnwatch.alerts.signing import dingtalk_sign, feishu_sign, generic_sign

SECRET = "SECdemo-secret"


def test_feishu_signs_timestamp_and_secret_as_the_key_over_an_empty_message():
    assert feishu_sign(SECRET, 1700000000) == "CeX1I77s2eAjWI201qPO2QljNbRExRfaaWuDMV9NqtE="


def test_dingtalk_signs_timestamp_ms_and_secret_url_encoded():
    # base64 hMcp9tIC+t4YETtvFK+lpdjLr1E/ovXPdM+YDW8K4XM= , then urlencoded
    assert dingtalk_sign(SECRET, 1700000000000) == (
        "hMcp9tIC%2Bt4YETtvFK%2BlpdjLr1E%2FovXPdM%2BYDW8K4XM%3D"
    )


def test_generic_signs_timestamp_dot_body():
    assert generic_sign(SECRET, 1700000000, b'{"a":1}') == (
        "sha256=6263ad1bca0a52c8bbb568546d3455efba06f1919edb77cff8e99f6b9923a975"
    )
