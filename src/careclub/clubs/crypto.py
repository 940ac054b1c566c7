"""Secrets at rest and the QR signatures.

Field encryption: AES-256-GCM under a key derived (HKDF-SHA256) from `settings.secret_key`, with
the tenant id (and the purpose) as associated data, so a ciphertext copied into another tenant's
row does not decrypt. Layout: 12-byte nonce || ciphertext+tag."""

from __future__ import annotations

import functools
import os
import uuid

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_secret_override: str | None = None


def configure(secret_key: str) -> None:
    """Use this secret instead of the environment's (tests, tools)."""
    global _secret_override
    _secret_override = secret_key
    _aead.cache_clear()


@functools.lru_cache(maxsize=4)
def _aead(purpose: str) -> AESGCM:
    secret = _secret_override
    if secret is None:
        from careclub.settings import Settings

        secret = Settings.from_env().secret_key
    if not secret:
        raise RuntimeError("settings.secret_key is empty: cannot encrypt secrets at rest")
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"careclub/clubs",
               info=f"careclub/field-encryption/{purpose}/v1".encode()).derive(secret.encode())
    return AESGCM(key)


def encrypt(plain: bytes, *, tenant_id: uuid.UUID, purpose: str) -> bytes:
    nonce = os.urandom(12)
    return nonce + _aead(purpose).encrypt(nonce, plain, tenant_id.bytes + purpose.encode())


def decrypt(blob: bytes, *, tenant_id: uuid.UUID, purpose: str) -> bytes:
    try:
        return _aead(purpose).decrypt(bytes(blob[:12]), bytes(blob[12:]), tenant_id.bytes + purpose.encode())
    except InvalidTag as exc:
        raise ValueError("cannot decrypt: wrong key or tenant") from exc


def new_signing_key() -> tuple[bytes, bytes]:
    """(private raw 32 bytes, public raw 32 bytes)."""
    private = Ed25519PrivateKey.generate()
    raw_private = private.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                        serialization.NoEncryption())
    raw_public = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return raw_private, raw_public


def sign(raw_private: bytes, message: bytes) -> bytes:
    return Ed25519PrivateKey.from_private_bytes(raw_private).sign(message)


@functools.lru_cache(maxsize=1024)
def public_key(raw_public: bytes) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(raw_public)


def verify(raw_public: bytes, signature: bytes, message: bytes) -> bool:
    try:
        public_key(bytes(raw_public)).verify(signature, message)
    except InvalidSignature:
        return False
    return True
