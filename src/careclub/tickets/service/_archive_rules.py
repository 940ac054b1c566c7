"""The customer archive's pure rules: the fixed choices (uses, statuses, roles, kinds), and reading what
people type — codes, phones, e-mail addresses, floors, areas in m² (kept exactly, in square centimetres) and
the words a Chinese office writes in a sheet for roles, uses and statuses. No I/O."""

from __future__ import annotations

import re
from decimal import Decimal

from careclub.core.errors import ValidationFailed

RECORD_KINDS = ("move_in", "renovation", "payment", "deposit", "violation", "arrears", "note")
USES = ("residential", "office", "shop", "parking", "other")
UNIT_STATUSES = ("vacant", "occupied", "renovating")
PERSON_KINDS = ("individual", "company")
ROLES = ("owner", "tenant", "occupant", "contact")
MONEY_KINDS = ("payment", "deposit", "arrears")  # records that are about an amount
FLOORS = (-20, 300)
AREA_MAX_CM2 = 1_000_000 * 10_000  # a million square metres
AMOUNT_MAX = 10**13  # a hundred billion yuan, in fen
NOTE_MAX = 4000
# what people type in a sheet: the codes, and the words a Chinese office uses for them
ROLE_WORDS = {"业主": "owner", "产权人": "owner", "租户": "tenant", "承租人": "tenant", "住户": "occupant",
              "居住人": "occupant", "联系人": "contact"}
USE_WORDS = {"住宅": "residential", "办公": "office", "写字楼": "office", "商铺": "shop", "商业": "shop",
             "车位": "parking", "停车位": "parking", "其他": "other", "其它": "other"}
STATUS_WORDS = {"空置": "vacant", "空置中": "vacant", "已入住": "occupied", "入住": "occupied", "在住": "occupied",
                "装修": "renovating", "装修中": "renovating"}

_CODE = re.compile(r"^[\w\-.#]{1,32}$")
_PHONE = re.compile(r"^\+?[0-9][0-9 \-()]{4,30}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_AREA_UNITS = ("平方米", "平米", "m²", "m2", "㎡")


# ---- checking what people typed ---------------------------------------------------------------------

def check_code(text: str | None, field: str = "code") -> str:
    value = (text or "").strip()
    if not _CODE.match(value):
        raise ValidationFailed("%(field)s must be 1–32 letters, digits, '-', '_', '.' or '#'", field=field,
                               params={"field": field})
    return value


def check_text(text: str | None, field: str, length: int, *, required: bool = False) -> str:
    value = (text or "").strip()
    if required and not value:
        raise ValidationFailed("%(field)s is required", field=field, params={"field": field})
    if len(value) > length:
        raise ValidationFailed("%(field)s must be at most %(length)s characters", field=field, code="too_long",
                               params={"field": field, "length": length})
    return value


def check_choice(value: str | None, choices: tuple[str, ...], field: str, words: dict[str, str] | None = None) -> str:
    text = (value or "").strip()
    found = (words or {}).get(text, text.lower())
    if found not in choices:
        raise ValidationFailed("%(field)s must be one of %(choices)s", field=field,
                               params={"field": field, "choices": ", ".join(choices)})
    return found


def check_phone(text: str | None, field: str = "phone") -> str:
    value = (text or "").strip()
    if not value:
        return ""
    if not _PHONE.match(value):
        raise ValidationFailed("%(field)s must be a phone number (digits, optional +, spaces or dashes)", field=field,
                               params={"field": field})
    return phone_digits(value)


def check_email(text: str | None, field: str = "email") -> str:
    value = (text or "").strip().lower()
    if value and (len(value) > 254 or not _EMAIL.match(value)):
        raise ValidationFailed("%(field)s is not a valid email address", field=field, params={"field": field})
    return value


def check_floor(value: int | None, field: str = "floor") -> int | None:
    if value is not None and not FLOORS[0] <= value <= FLOORS[1]:
        raise ValidationFailed("%(field)s must be a whole number from %(lo)s to %(hi)s", field=field,
                               params={"field": field, "lo": FLOORS[0], "hi": FLOORS[1]})
    return value


def check_area(value: int | None, field: str = "area") -> int | None:
    if value is not None and not 0 < value <= AREA_MAX_CM2:
        raise ValidationFailed("%(field)s must be more than 0 and at most 1,000,000 m²", field=field,
                               params={"field": field})
    return value


def parse_area(text: str | None, field: str = "area") -> int | None:
    """An area as people type it, in m² ("89.5", "1,089.50 m²", "96.2㎡") -> square centimetres, exactly."""
    value = (text or "").strip().replace("，", ",").replace(" ", "")
    for unit in _AREA_UNITS:
        value = value.removesuffix(unit)
    if not value:
        return None
    grouped = "," not in value or re.match(r"^\d{1,3}(,\d{3})+(\.\d+)?$", value) is not None
    value = value.replace(",", "")
    number = Decimal(value) if grouped and re.match(r"^\d{1,9}(\.\d{1,4})?$", value) else Decimal(0)
    if number <= 0:
        raise ValidationFailed("%(field)s must be an area in m² with at most four decimal places, like 89.5",
                               field=field, params={"field": field})
    return check_area(int(number * 10_000), field)


def format_area(cm2: int | None) -> str | None:
    """Square centimetres as m² for people: two places, more only when the area has them ("89.50", "0.1234")."""
    if cm2 is None:
        return None
    text = f"{cm2 // 10_000}.{cm2 % 10_000:04d}"
    return text[:-2] + text[-2:].rstrip("0") if text.endswith("0") else text


def parse_floor(text: str | None, field: str = "floor") -> int | None:
    value = (text or "").strip().removesuffix("层").removesuffix("F").removesuffix("f")
    if not value:
        return None
    if not re.match(r"^-?\d{1,4}$", value):
        raise ValidationFailed("%(field)s must be a whole number from %(lo)s to %(hi)s", field=field,
                               params={"field": field, "lo": FLOORS[0], "hi": FLOORS[1]})
    return check_floor(int(value), field)


def phone_digits(text: str) -> str:
    """The one form phones are kept in (digits and a leading +), so a search finds one however it was typed."""
    return re.sub(r"[^0-9+]", "", text or "")


def looks_like_phone(text: str) -> bool:
    return _PHONE.match(text.strip()) is not None
