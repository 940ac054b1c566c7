"""Pure rules of clubs: card status, term stacking, masking, card numbers, QR token format,
discounts. No I/O here."""

from __future__ import annotations

import base64
import calendar
import re
import struct
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from careclub.core.errors import ValidationFailed

# ---- card status --------------------------------------------------------------------------

STATES = ("pending", "active", "suspended", "cancelled", "replaced")
STATUSES = ("pending", "active", "in_grace", "expired", "suspended", "cancelled")


def card_status(state: str, valid_until: datetime | None, grace_days: int, now: datetime) -> str:
    """What a card is right now: events decide pending/suspended/cancelled, dates decide the rest."""
    if state == "replaced":
        return "cancelled"
    if state != "active":
        return state
    if valid_until is None or now < valid_until:
        return "active"
    if now < valid_until + timedelta(days=grace_days):
        return "in_grace"
    return "expired"


def add_months(moment: datetime, months: int) -> datetime:
    month0 = moment.month - 1 + months
    year, month = moment.year + month0 // 12, month0 % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def stacked_term(valid_until: datetime | None, grace_days: int, term_months: int,
                 now: datetime) -> tuple[datetime, datetime]:
    """A paid period runs from the card's current end when the card is still live (active or in
    grace), else from now; the result never ends before the current end."""
    if valid_until is not None and now < valid_until + timedelta(days=grace_days):
        start = valid_until
    else:
        start = now
    end = add_months(start, term_months)
    if valid_until is not None and end < valid_until:
        end = valid_until
    return start, end


# ---- people ---------------------------------------------------------------------------------

def mask_name(name: str) -> str:
    """'张三丰' -> '张**', 'Alice Wong' -> 'A*** W***': enough for a merchant to greet, no more."""
    parts = name.split()
    if len(parts) > 1:
        return " ".join(p[0] + "*" * min(len(p) - 1, 3) for p in parts if p)
    name = name.strip()
    if not name:
        return ""
    return name[0] + "*" * max(1, min(len(name) - 1, 3))


def mask_id_number(id_number: str) -> str:
    """'110101199003071234' -> '110***********1234'. At most a quarter shows at each end (never
    more than 3 + 4 characters), so a short number is never shown whole."""
    s = id_number.strip()
    if len(s) <= 4:
        return "*" * len(s)
    head, tail = min(3, len(s) // 4), min(4, len(s) // 4)
    return s[:head] + "*" * (len(s) - head - tail) + s[len(s) - tail:]


_PHONE = re.compile(r"^\+?[0-9][0-9 \-]{5,30}$")
_PLATE = re.compile(r"^[\w\-· ]{2,16}$")


def check_phone(phone: str) -> str:
    phone = (phone or "").strip()
    if not _PHONE.match(phone):
        raise ValidationFailed("phone must be a phone number (digits, optional +, spaces or dashes)", field="phone")
    return phone_key(phone)


def phone_key(phone: str) -> str:
    """The one form phones are stored in (digits, the leading +), so a search finds a phone by
    equality however it was typed."""
    return re.sub(r"[^0-9+]", "", phone)


def check_plate(plate: str) -> str:
    plate = (plate or "").strip().upper()
    if not _PLATE.match(plate):
        raise ValidationFailed("plate must be 2–16 letters or digits", field="plate")
    return plate


def format_card_no(prefix: str, digits: int, seq: int) -> str:
    return f"{prefix}{seq:0{digits}d}"


_PREFIX = re.compile(r"^[A-Z][A-Z0-9]{0,7}-?$")


def check_card_prefix(prefix: str) -> str:
    if not _PREFIX.match(prefix or ""):
        raise ValidationFailed("card_prefix must be 1–8 capital letters or digits, optionally ending in '-'",
                               field="card_prefix")
    return prefix


def period_key(period: str, day: date) -> str:
    """The quota window a scan falls in: 'year' -> '2026', 'month' -> '2026-11', 'day' -> '2026-11-23'."""
    if period == "year":
        return f"{day.year:04d}"
    if period == "month":
        return f"{day.year:04d}-{day.month:02d}"
    if period == "day":
        return day.isoformat()
    if period == "ever":
        return "ever"
    raise ValueError(period)


QUOTA_PERIODS = ("year", "month", "day", "ever")
REFUND_RULES = ("remove_period", "keep")
OFFER_KINDS = ("none", "percent", "amount", "free")


def discount_for(offer_kind: str, offer_value: int, amount: int | None, *, free_benefit: bool) -> int | None:
    """The discount in minor units for a bill of `amount` (None when no amount was given)."""
    if amount is None:
        return None
    if free_benefit or offer_kind == "free":
        return amount
    if offer_kind == "percent":
        return (amount * offer_value + 50) // 100
    if offer_kind == "amount":
        return min(offer_value, amount)
    return 0


# ---- the QR token ----------------------------------------------------------------------------
# Text: "CC1:" + base32(payload || ed25519 signature). Base32 keeps to the QR alphanumeric set,
# which encodes denser than bytes. The payload holds no personal data:
#   version u8 | flags u8 (bit0 static) | kid u32 | tenant 16B | card 16B | iat u32 | exp u32 | nonce 12B

TOKEN_PREFIX = "CC1:"  # noqa: S105 - a format marker, not a secret
_LAYOUT = struct.Struct(">BBI16s16sII12s")
SIG_LEN = 64
TOKEN_VERSION = 1
FLAG_STATIC = 1
SIGN_CONTEXT = b"careclub/qr/v1|"
MAX_LIFETIME = 60


class TokenRefused(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class QrClaims:
    kid: int
    tenant_id: uuid.UUID
    card_id: uuid.UUID
    issued_at: int
    expires_at: int
    nonce: bytes
    static: bool

    def payload(self) -> bytes:
        return _LAYOUT.pack(TOKEN_VERSION, FLAG_STATIC if self.static else 0, self.kid, self.tenant_id.bytes,
                            self.card_id.bytes, self.issued_at, self.expires_at, self.nonce)


def signing_input(payload: bytes) -> bytes:
    return SIGN_CONTEXT + payload


def encode_token(claims: QrClaims, signature: bytes) -> str:
    raw = claims.payload() + signature
    return TOKEN_PREFIX + base64.b32encode(raw).decode("ascii").rstrip("=")


_B32_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_B32_DIGITS = str.maketrans(_B32_ALPHABET, "0123456789abcdefghijklmnopqrstuv")
_B32_TEXT = re.compile(f"[{_B32_ALPHABET}]+")


def _b32decode(body: str, size: int) -> bytes | None:
    """Unpadded RFC 4648 base32 of exactly `size` bytes, or None. The standard library's decoder
    is pure Python in 3.11 and was a visible share of a check-in's CPU; this is one C-level int
    conversion. Trailing pad bits must be zero, so each token has exactly one spelling."""
    if len(body) != -(-size * 8 // 5) or not _B32_TEXT.fullmatch(body):
        return None
    spare = len(body) * 5 - size * 8
    number = int(body.translate(_B32_DIGITS), 32)
    if number & ((1 << spare) - 1):
        return None
    return (number >> spare).to_bytes(size, "big")


def decode_token(text: str) -> tuple[QrClaims, bytes, bytes]:
    """Parse the scanned text into (claims, payload, signature); `malformed` when it is not ours."""
    if not isinstance(text, str):
        raise TokenRefused("malformed")
    text = text.strip()
    if not text.upper().startswith(TOKEN_PREFIX) or len(text) > 400:
        raise TokenRefused("malformed")
    raw = _b32decode(text[len(TOKEN_PREFIX):].upper(), _LAYOUT.size + SIG_LEN)
    if raw is None:
        raise TokenRefused("malformed")
    payload, signature = raw[:_LAYOUT.size], raw[_LAYOUT.size:]
    version, flags, kid, tenant, card, iat, exp, nonce = _LAYOUT.unpack(payload)
    if version != TOKEN_VERSION or flags & ~FLAG_STATIC:
        raise TokenRefused("malformed")
    static = bool(flags & FLAG_STATIC)
    if not static and not (0 < exp - iat <= MAX_LIFETIME):
        raise TokenRefused("malformed")
    claims = QrClaims(kid=kid, tenant_id=uuid.UUID(bytes=tenant), card_id=uuid.UUID(bytes=card), issued_at=iat,
                      expires_at=exp, nonce=nonce, static=static)
    return claims, payload, signature
