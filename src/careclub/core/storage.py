"""Where uploaded files live: one small interface, so the domains never care which.

The data directory is the default (one app host). Several app hosts share an S3-compatible object
store instead (`STORAGE_URL`, see `parse_url`), behind the same three calls."""

from __future__ import annotations

import asyncio
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

STORAGE_URL_FORMAT = "s3://ACCESS_KEY:SECRET_KEY@host[:port]/bucket?region=REGION&secure=true"
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


class Storage(Protocol):
    async def put(self, key: str, data: bytes) -> None: ...
    async def get(self, key: str) -> bytes: ...
    async def delete(self, key: str) -> None: ...


class DirectoryStorage:
    """Files under a directory, one per key (`tenant/attachment-id`); written whole, then renamed into
    place, so a reader never sees half a file."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not str(path).startswith(str(self.root.resolve())):
            raise ValueError("a storage key may not leave the storage directory")
        return path

    async def put(self, key: str, data: bytes) -> None:
        path = self._path(key)

        def write() -> None:
            path.parent.mkdir(parents=True, exist_ok=True)
            part = path.with_suffix(".part")
            part.write_bytes(data)
            part.replace(path)

        await asyncio.to_thread(write)

    async def get(self, key: str) -> bytes:
        return await asyncio.to_thread(self._path(key).read_bytes)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, True)


class StorageUrlError(ValueError):
    """STORAGE_URL cannot be used; the message names it and never repeats the secret key."""


@dataclass(frozen=True)
class S3Location:
    """Where an S3-compatible bucket is and how to sign in to it (what STORAGE_URL says)."""

    endpoint_url: str
    bucket: str
    region: str
    access_key: str
    secret_key: str

    @property
    def secure(self) -> bool:
        return self.endpoint_url.startswith("https://")

    def describe(self) -> str:
        """For logs and `careclub doctor`: no secret."""
        return f"S3 bucket {self.bucket} at {self.endpoint_url} (region {self.region})"


def _refuse(problem: str) -> StorageUrlError:
    return StorageUrlError(f"STORAGE_URL is malformed: {problem} (expected {STORAGE_URL_FORMAT})")


def parse_url(url: str) -> S3Location:
    """`s3://ACCESS_KEY:SECRET_KEY@host[:port]/bucket?region=…&secure=true|false`.

    The keys are URL-encoded (a secret's `/` as `%2F`, `+` as `%2B`); left out, they come from
    AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY. `secure=false` speaks plain http (a MinIO inside the
    network); the region defaults to us-east-1. Anything else is refused, naming STORAGE_URL."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise _refuse("the host or port cannot be read") from None
    if parts.scheme != "s3":
        raise _refuse(f"the scheme must be s3://, not {parts.scheme + '://' if parts.scheme else 'none'}")
    if not parts.hostname:
        raise _refuse("no host")
    if parts.fragment:
        raise _refuse("a '#' in it (URL-encode the keys: '#' as %23, '/' as %2F)")
    bucket = parts.path.strip("/")
    if not bucket:
        raise _refuse("no bucket")
    if "/" in bucket:
        raise _refuse("the path must be just the bucket (URL-encode the keys: '/' as %2F)")
    if not _BUCKET.fullmatch(bucket) or ".." in bucket:
        raise _refuse(f"{bucket!r} is not a bucket name (3-63 lower-case letters, digits, '.' and '-')")
    try:
        query = parse_qs(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    except ValueError:
        raise _refuse("the query cannot be read") from None
    unknown = sorted(set(query) - {"region", "secure"})
    if unknown:
        raise _refuse(f"unknown option {', '.join(unknown)} (only region and secure)")
    if any(len(values) > 1 for values in query.values()):
        raise _refuse("an option is given twice")
    region = query.get("region", ["us-east-1"])[0].strip()
    if not re.fullmatch(r"[a-z0-9-]+", region):
        raise _refuse(f"region {region!r} is not a region name")
    secure_text = query.get("secure", ["true"])[0].strip().lower()
    if secure_text not in _TRUE | _FALSE:
        raise _refuse(f"secure must be true or false, not {secure_text!r}")
    if parts.username is None and parts.password is None:
        access_key = os.environ.get("AWS_ACCESS_KEY_ID", "")
        secret_key = os.environ.get("AWS_SECRET_ACCESS_KEY", "")
        if not (access_key and secret_key):
            raise StorageUrlError("STORAGE_URL has no keys and AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY are not "
                                  f"both set (expected {STORAGE_URL_FORMAT})")
    else:
        access_key, secret_key = unquote(parts.username or ""), unquote(parts.password or "")
        if not (access_key and secret_key):
            raise _refuse("give both keys as ACCESS_KEY:SECRET_KEY@, or neither (then AWS_ACCESS_KEY_ID and "
                          "AWS_SECRET_ACCESS_KEY)")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    scheme = "https" if secure_text in _TRUE else "http"
    return S3Location(endpoint_url=f"{scheme}://{host}{f':{port}' if port else ''}", bucket=bucket, region=region,
                      access_key=access_key, secret_key=secret_key)


def check_key(key: str) -> str:
    """A key is `tenant/attachment-id`-like: relative, no `.`/`..`/empty part, no backslash or control character."""
    if (not key or key.startswith("/") or "\\" in key or any(ord(c) < 32 or ord(c) == 127 for c in key)
            or any(part in ("", ".", "..") for part in key.split("/"))):
        raise ValueError("a storage key may not leave the storage bucket")
    return key


class S3Storage:
    """Objects in an S3-compatible bucket (AWS S3, MinIO, the Chinese clouds' object stores), one per key.

    boto3 blocks, so each call runs in a thread; one client, made on first use (clients are thread-safe,
    their making is not). Path-style addressing (`host/bucket/key`), so endpoints without per-bucket host
    names (MinIO, an IP address) work."""

    def __init__(self, location: S3Location) -> None:
        self.location = location
        self._client: Any = None
        self._lock = threading.Lock()

    def client(self) -> Any:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    import boto3
                    from botocore.config import Config

                    config = Config(
                        signature_version="s3v4", s3={"addressing_style": "path"},
                        connect_timeout=5, read_timeout=30, retries={"mode": "standard", "max_attempts": 3},
                        # Checksums only where S3 demands them: many S3-compatible stores refuse the
                        # newer default ones.
                        request_checksum_calculation="when_required", response_checksum_validation="when_required")
                    loc = self.location
                    self._client = boto3.session.Session().client(
                        "s3", endpoint_url=loc.endpoint_url, region_name=loc.region, aws_access_key_id=loc.access_key,
                        aws_secret_access_key=loc.secret_key, config=config)
        return self._client

    async def put(self, key: str, data: bytes) -> None:
        check_key(key)
        await asyncio.to_thread(self.client().put_object, Bucket=self.location.bucket, Key=key, Body=data)

    async def get(self, key: str) -> bytes:
        """The object's bytes; a missing one raises FileNotFoundError, as a missing file does."""
        check_key(key)

        def read() -> bytes:
            from botocore.exceptions import ClientError

            try:
                answer = self.client().get_object(Bucket=self.location.bucket, Key=key)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                    raise FileNotFoundError(f"no object {key!r} in bucket {self.location.bucket}") from None
                raise
            body = answer["Body"]
            try:
                data: bytes = body.read()
            finally:
                body.close()
            return data

        return await asyncio.to_thread(read)

    async def delete(self, key: str) -> None:
        """Deleting a missing object is no error (as for a missing file)."""
        check_key(key)
        await asyncio.to_thread(self.client().delete_object, Bucket=self.location.bucket, Key=key)


def from_url(url: str, data_dir: Path) -> Storage:
    """The storage STORAGE_URL names: empty, the directory `data_dir`; `s3://…`, that bucket."""
    if not url.strip():
        return DirectoryStorage(data_dir)
    return S3Storage(parse_url(url))


def describe(url: str, data_dir: Path) -> str:
    """Where files are kept, for `careclub doctor` (no secret)."""
    return parse_url(url).describe() if url.strip() else f"directory {data_dir}"


_storage: Storage | None = None


def configure(storage: Storage) -> None:
    global _storage
    _storage = storage


def storage() -> Storage:
    if _storage is None:
        raise RuntimeError("core.storage.configure() was not called at start-up")
    return _storage
