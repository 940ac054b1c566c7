"""Passwords (argon2id), random secrets and their hashes."""

from __future__ import annotations

import hashlib
import os
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from careclub.core.errors import ValidationFailed


def _make_hasher() -> PasswordHasher:
    # argon2id with the library's recommended parameters. The test suite hashes hundreds of
    # passwords on two cores, so it opts into the smallest parameters argon2 allows; hashes made
    # either way verify either way, since the parameters travel inside each hash.
    if os.environ.get("CARECLUB_INSECURE_FAST_HASH") == "1":
        return PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    return PasswordHasher()


_hasher = _make_hasher()

MIN_PASSWORD_LENGTH = 10

# The most common passwords of ten or more characters in public breach lists, plus the obvious
# local ones. Short passwords are already refused by length.
_COMMON = frozenset(
    """
    1234567890 12345678910 0123456789 1234567890a a1234567890 qwertyuiop qwertyuiop1 1q2w3e4r5t
    1qaz2wsx3edc qazwsxedc123 password123 password1234 passw0rd123 iloveyou123 abcdefghij
    abc1234567 aaaaaaaaaa 1111111111 0000000000 9876543210 123123123123 1234512345 5201314520
    woaini1314 woaini520 qwerty12345 qwerty123456 123456789a 123456789q 1234567890q administrator
    admin123456 admin12345 welcome123 letmein123 sunshine123 football123 baseball123 princess123
    changeme123 careclub123 careclub2026 trustno1234 zxcvbnm123 asdfghjkl1 asdfghjkl123
    """.split()
)


def check_password_strength(password: str, *, field: str = "password") -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed("password must be at least %(MIN_PASSWORD_LENGTH)s characters long",
                               code="password_too_short", field=field,
                               params={"MIN_PASSWORD_LENGTH": MIN_PASSWORD_LENGTH})
    lowered = password.lower()
    if lowered in _COMMON or len(set(lowered)) <= 2:
        raise ValidationFailed("this password is one of the most common ones and easy to guess; "
                               "choose another", code="password_too_common", field=field)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# Verifying against a real hash when the account does not exist keeps timing from telling
# an attacker which emails are registered.
_DUMMY_HASH = _hasher.hash("careclub-timing-equaliser")


def burn_verify() -> None:
    verify_password(_DUMMY_HASH, "not-the-password")


def new_secret(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def digest(secret: str) -> str:
    """Tokens are high-entropy, so a plain SHA-256 is the right stored form (no salt needed)."""
    return hashlib.sha256(secret.encode()).hexdigest()

