"""Pure platform rules: what a valid slug, email, org tree or role looks like."""

from __future__ import annotations

import re
import zoneinfo
from functools import cache

from careclub.core.errors import ValidationFailed
from careclub.platform.permissions import Perm

SLUG = re.compile(r"^[a-z][a-z0-9-]{1,46}[a-z0-9]$")
RESERVED_SLUGS = frozenset({"api", "admin", "www", "static", "schema", "health", "login", "logout",
                            "signup", "webhooks", "careclub", "app", "join", "t"})
# The address forms mail actually uses (RFC 5322's dot-atom local part, a host name of letters, digits
# and hyphens): no quoting, comments or IP literals, and so none of < > " ( ) , ; : \ [ ] or spaces.
_ATEXT = r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+"
EMAIL = re.compile(rf"^(?={_ATEXT}(\.{_ATEXT})*@.{{1,253}}$).{{1,64}}@"
                   r"([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
UNIT_KINDS = ("company", "region", "branch", "project", "department")
USER_KINDS = ("staff", "member", "merchant")
LOCALES = ("zh_CN", "en")


def check_slug(slug: str) -> str:
    if not SLUG.match(slug or ""):
        raise ValidationFailed("slug must be 3–48 lowercase letters, digits or hyphens, starting with "
                               "a letter", field="slug")
    if slug in RESERVED_SLUGS:
        raise ValidationFailed("the slug %(slug)r is reserved", field="slug", code="slug_reserved",
                               params={"slug": slug})
    return slug


def check_email(email: str, *, field: str = "email") -> str:
    email = (email or "").strip().lower()
    if len(email) > 254 or not EMAIL.match(email):
        raise ValidationFailed("%(field)s is not a valid email address", field=field, params={"field": field})
    return email


def check_text(value: str, field: str, *, max_len: int = 200, required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        raise ValidationFailed("%(field)s is required", field=field, params={"field": field})
    if len(value) > max_len:
        raise ValidationFailed("%(field)s must be at most %(max_len)s characters", field=field,
                               params={"field": field, "max_len": max_len})
    return value


def check_code(code: str, field: str = "code") -> str:
    if not CODE.match(code or ""):
        raise ValidationFailed("%(field)s must be 1–64 letters, digits, '_', '.' or '-'", field=field,
                               params={"field": field})
    return code


def check_unit_kind(kind: str) -> str:
    if kind not in UNIT_KINDS:
        raise ValidationFailed("kind must be one of %(choices)s", field="kind",
                               params={"choices": ', '.join(UNIT_KINDS)})
    return kind


def check_locale(locale: str | None, field: str = "locale") -> str | None:
    if locale is not None and locale not in LOCALES:
        raise ValidationFailed("%(field)s must be one of %(choices)s", field=field,
                               params={"field": field, "choices": ', '.join(LOCALES)})
    return locale


@cache
def time_zones() -> frozenset[str]:
    """The IANA zones this machine knows (a company's days, deadlines and months are counted in one)."""
    return frozenset(zoneinfo.available_timezones())


def check_timezone(value: str, field: str = "timezone") -> str:
    value = (value or "").strip()
    if value not in time_zones():
        raise ValidationFailed("%(field)s: unknown time zone %(value)s (a name such as Asia/Shanghai)", field=field,
                               code="unknown_time_zone", params={"field": field, "value": value[:64]})
    return value


def check_currency(value: str, field: str = "currency") -> str:
    value = (value or "").strip()
    if len(value) != 3 or not value.isascii() or not value.isalpha() or not value.isupper():
        raise ValidationFailed("%(field)s must be a three-letter ISO code like CNY", field=field,
                               params={"field": field})
    return value


def check_permissions(perms: list[str]) -> list[str]:
    known = {p.value for p in Perm} - {Perm.AUTHENTICATED.value}
    unknown = sorted(set(perms) - known)
    if unknown:
        raise ValidationFailed("unknown permissions: %(choices)s", field="permissions",
                               params={"choices": ', '.join(unknown)})
    return sorted(set(perms))


def child_path(parent_path: str | None, unit_id: object) -> str:
    return f"{parent_path or '/'}{unit_id}/"
