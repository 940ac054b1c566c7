from __future__ import annotations

import os
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from careclub.clubs import crypto, rules

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def test_card_status_from_state_and_dates() -> None:
    assert rules.card_status("pending", None, 10, NOW) == "pending"
    assert rules.card_status("suspended", NOW + timedelta(days=9), 10, NOW) == "suspended"
    assert rules.card_status("replaced", NOW + timedelta(days=9), 10, NOW) == "cancelled"
    assert rules.card_status("active", NOW + timedelta(seconds=1), 10, NOW) == "active"
    assert rules.card_status("active", NOW, 10, NOW) == "in_grace"
    assert rules.card_status("active", NOW - timedelta(days=9, hours=23), 10, NOW) == "in_grace"
    assert rules.card_status("active", NOW - timedelta(days=10), 10, NOW) == "expired"
    assert rules.card_status("active", NOW - timedelta(seconds=1), 0, NOW) == "expired"


def test_stacked_term() -> None:
    live_end = NOW + timedelta(days=30)
    assert rules.stacked_term(live_end, 0, 12, NOW) == (live_end, rules.add_months(live_end, 12))
    in_grace = NOW - timedelta(days=3)
    assert rules.stacked_term(in_grace, 10, 12, NOW)[0] == in_grace
    lapsed = NOW - timedelta(days=30)
    assert rules.stacked_term(lapsed, 10, 12, NOW) == (NOW, rules.add_months(NOW, 12))
    assert rules.stacked_term(None, 0, 1, NOW) == (NOW, datetime(2026, 12, 23, 12, tzinfo=UTC))


def test_add_months_clamps_to_month_end() -> None:
    assert rules.add_months(datetime(2026, 1, 31, tzinfo=UTC), 1) == datetime(2026, 2, 28, tzinfo=UTC)
    assert rules.add_months(datetime(2027, 11, 30, tzinfo=UTC), 3) == datetime(2028, 2, 29, tzinfo=UTC)


def test_masking() -> None:
    assert rules.mask_name("张三丰") == "张**"
    assert rules.mask_name("李") == "李*"
    assert rules.mask_name("Alice Wong") == "A*** W***"
    assert rules.mask_id_number("110101199003071234") == "110***********1234"
    assert rules.mask_id_number("1234") == "****"


def test_discounts() -> None:
    assert rules.discount_for("percent", 20, 10000, free_benefit=False) == 2000
    assert rules.discount_for("percent", 15, 333, free_benefit=False) == 50
    assert rules.discount_for("amount", 5000, 3000, free_benefit=False) == 3000
    assert rules.discount_for("none", 0, 3000, free_benefit=True) == 3000
    assert rules.discount_for("percent", 20, None, free_benefit=False) is None


def test_period_keys() -> None:
    d = date(2026, 11, 23)
    assert [rules.period_key(p, d) for p in rules.QUOTA_PERIODS] == ["2026", "2026-11", "2026-11-23", "ever"]


def _claims(**over: object) -> rules.QrClaims:
    base: dict[str, object] = {"kid": 7, "tenant_id": uuid.uuid4(), "card_id": uuid.uuid4(), "issued_at": 1000,
                               "expires_at": 1060, "nonce": os.urandom(12), "static": False}
    base.update(over)
    return rules.QrClaims(**base)  # type: ignore[arg-type]


def test_token_round_trip_is_qr_alphanumeric_and_signed() -> None:
    private, public = crypto.new_signing_key()
    claims = _claims()
    token = rules.encode_token(claims, crypto.sign(private, rules.signing_input(claims.payload())))
    assert set(token) <= set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")
    parsed, payload, sig = rules.decode_token(token.lower())  # scanners may change case
    assert parsed == claims
    assert crypto.verify(public, sig, rules.signing_input(payload))
    _, other_public = crypto.new_signing_key()
    assert not crypto.verify(other_public, sig, rules.signing_input(payload))


@pytest.mark.parametrize("text", ["", "CC1:", "CC2:AAAA", "CC1:" + "A" * 300, "CC1:1111"])
def test_malformed_texts(text: str) -> None:
    with pytest.raises(rules.TokenRefused) as exc:
        rules.decode_token(text)
    assert exc.value.reason == "malformed"


def test_base32_decoder_matches_the_standard_library_and_refuses_other_spellings() -> None:
    import base64

    for size in (1, 5, 7, 125):
        for _ in range(50):
            raw = os.urandom(size)
            text = base64.b32encode(raw).decode().rstrip("=")
            assert rules._b32decode(text, size) == raw
            assert rules._b32decode(text, size + 1) is None  # length is exact
    text = base64.b32encode(b"careclub").decode().rstrip("=")  # 8 bytes: 13 characters, 1 spare bit
    assert rules._b32decode(text, 8) == b"careclub"
    assert rules._b32decode(text[:-1] + "B", 8) is None  # a set spare bit: another spelling of the same bytes
    # int() would take these (digits outside the alphabet, signs, underscores, spaces); base32 does not
    for bad in ("0", "1", "8", "9", "_", "-", "+", " ", "a", "="):
        assert rules._b32decode(bad + text[1:], 8) is None
        assert rules._b32decode(text[:5] + bad + text[6:], 8) is None


def test_lifetime_over_60_seconds_is_malformed() -> None:
    claims = _claims(expires_at=1061)
    token = rules.encode_token(claims, b"\0" * 64)
    with pytest.raises(rules.TokenRefused):
        rules.decode_token(token)
    static = _claims(expires_at=0, static=True)
    assert rules.decode_token(rules.encode_token(static, b"\0" * 64))[0].static


def test_field_encryption_is_bound_to_tenant() -> None:
    crypto.configure("unit-test-secret")
    try:
        t = uuid.uuid4()
        blob = crypto.encrypt(b"secret", tenant_id=t, purpose="p")
        assert b"secret" not in blob
        assert crypto.decrypt(blob, tenant_id=t, purpose="p") == b"secret"
        with pytest.raises(ValueError):
            crypto.decrypt(blob, tenant_id=uuid.uuid4(), purpose="p")
        with pytest.raises(ValueError):
            crypto.decrypt(blob, tenant_id=t, purpose="q")
    finally:
        crypto._secret_override = None
        crypto._aead.cache_clear()


def test_id_numbers_are_masked_at_least_by_half_whatever_their_length() -> None:
    assert rules.mask_id_number("110101199003071234") == "110***********1234"
    assert rules.mask_id_number("12345") == "1***5"  # once shown whole as "123*2345"
    assert rules.mask_id_number("A1234567") == "A1****67"
    assert rules.mask_id_number("1234") == "****"
    for n in range(1, 40):
        text = "".join(str(i % 10) for i in range(n))
        masked = rules.mask_id_number(text)
        assert len(masked) == n and masked != text
        assert sum(c != "*" for c in masked) <= n // 2
