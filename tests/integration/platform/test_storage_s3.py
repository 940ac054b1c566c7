"""Attachments in an S3-compatible bucket (`STORAGE_URL`): the storage itself, its URL, and the app end to end.

No internet and no Docker here: moto's S3 server runs in this process, on a loopback port, over plain http
(`secure=false`), as a MinIO inside the network would."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from PIL import Image

from careclub.core.infra import Infra
from careclub.core.storage import (
    DirectoryStorage,
    S3Location,
    S3Storage,
    StorageUrlError,
    check_key,
    from_url,
    parse_url,
)
from careclub.settings import Settings
from tests.integration.tickets.helpers import raise_ticket, tower
from tests.live import free_port

ACCESS_KEY = "AKIDCARECLUBTEST"
SECRET_KEY = "s3cr/et+with@odd:chars"  # what a real secret looks like: '/' and '+' among them
ENCODED_SECRET = "s3cr%2Fet%2Bwith%40odd%3Achars"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.stop()


def _admin(endpoint: str) -> Any:
    """A plain boto3 client, to look into the bucket behind the storage's back."""
    return boto3.session.Session().client("s3", endpoint_url=f"http://{endpoint}", region_name="us-east-1",
                                          aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY)


@pytest.fixture
def bucket(s3_endpoint: str) -> Iterator[str]:
    name = f"careclub-{uuid.uuid4().hex[:12]}"
    admin = _admin(s3_endpoint)
    admin.create_bucket(Bucket=name)
    yield name
    for obj in admin.list_objects_v2(Bucket=name).get("Contents", []):
        admin.delete_object(Bucket=name, Key=obj["Key"])
    admin.delete_bucket(Bucket=name)


@pytest.fixture
def storage_url(s3_endpoint: str, bucket: str) -> str:
    return f"s3://{ACCESS_KEY}:{ENCODED_SECRET}@{s3_endpoint}/{bucket}?region=us-east-1&secure=false"


def keys_in(endpoint: str, bucket: str) -> list[str]:
    return sorted(o["Key"] for o in _admin(endpoint).list_objects_v2(Bucket=bucket).get("Contents", []))


# --- the URL ---------------------------------------------------------------------------------------------

def test_the_url_gives_endpoint_bucket_region_and_decoded_keys() -> None:
    loc = parse_url(f"s3://{ACCESS_KEY}:{ENCODED_SECRET}@oss.example.cn:9000/attachments?region=cn-north-1&secure=true")
    assert loc == S3Location(endpoint_url="https://oss.example.cn:9000", bucket="attachments", region="cn-north-1",
                             access_key=ACCESS_KEY, secret_key=SECRET_KEY)
    assert loc.secure
    assert SECRET_KEY not in loc.describe() and ENCODED_SECRET not in loc.describe()
    assert "attachments" in loc.describe() and "https://oss.example.cn:9000" in loc.describe()


def test_secure_false_is_plain_http_and_the_defaults_are_https_and_us_east_1() -> None:
    plain = parse_url("s3://k:s@minio.internal:9000/files?secure=false")
    assert plain.endpoint_url == "http://minio.internal:9000" and not plain.secure
    default = parse_url("s3://k:s@s3.example.com/files")
    assert default.endpoint_url == "https://s3.example.com" and default.region == "us-east-1"
    assert parse_url("s3://k:s@[::1]:9000/files/?secure=0").endpoint_url == "http://[::1]:9000"


def test_keys_left_out_of_the_url_come_from_the_aws_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDFROMENV")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "env/secret+key")
    loc = parse_url("s3://minio.internal:9000/files?secure=false")
    assert (loc.access_key, loc.secret_key) == ("AKIDFROMENV", "env/secret+key")
    # keys in the URL win over the environment
    assert parse_url("s3://a:b@minio.internal/files").access_key == "a"
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(StorageUrlError, match=r"STORAGE_URL.*AWS_ACCESS_KEY_ID"):
        parse_url("s3://minio.internal:9000/files")


@pytest.mark.parametrize("url", [
    "http://k:SeCrEt@host/bucket",              # not s3://
    "minio:9000/bucket",                        # no scheme
    "s3://k:SeCrEt@/bucket",                    # no host
    "s3://k:SeCrEt@host",                       # no bucket
    "s3://k:SeCrEt@host/",                      # no bucket
    "s3://k:SeCrEt@host/bucket/more",           # a path, or a secret with an unencoded '/'
    "s3://k:SeCrEt@host/Bad_Bucket",            # not a bucket name
    "s3://k:SeCrEt@host:port/bucket",           # not a port
    "s3://k:SeCrEt@host:99999/bucket",          # not a port
    "s3://k:SeCrEt@host/bucket?secure=maybe",
    "s3://k:SeCrEt@host/bucket?regoin=cn-north-1",
    "s3://k:SeCrEt@host/bucket?region=",
    "s3://k:SeCrEt@host/bucket?region=a&region=b",
    "s3://k:SeCrEt@host/bucket#x",
    "s3://k@host/bucket",                       # an access key without its secret
    "s3://:SeCrEt@host/bucket",                 # a secret without its access key
])
def test_a_malformed_url_is_refused_naming_storage_url_and_never_the_secret(url: str) -> None:
    with pytest.raises(StorageUrlError, match="STORAGE_URL") as refused:
        parse_url(url)
    assert "SeCrEt" not in str(refused.value)


def test_settings_refuse_a_malformed_storage_url_at_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STORAGE_URL", "s3://k:SeCrEt@host/bucket?secure=perhaps")
    with pytest.raises(SystemExit) as stopped:
        Settings.from_env()
    assert "STORAGE_URL" in str(stopped.value.code) and "SeCrEt" not in str(stopped.value.code)
    monkeypatch.setenv("STORAGE_URL", "s3://k:s@minio:9000/files?secure=false")
    assert Settings.from_env().storage_url == "s3://k:s@minio:9000/files?secure=false"
    monkeypatch.delenv("STORAGE_URL")
    assert Settings.from_env().storage_url == ""


def test_from_url_picks_the_directory_when_empty_and_the_bucket_for_s3(tmp_path: Path) -> None:
    directory = from_url("", tmp_path)
    assert isinstance(directory, DirectoryStorage) and directory.root == tmp_path
    bucket = from_url("s3://k:s@minio:9000/files?secure=false", tmp_path)
    assert isinstance(bucket, S3Storage) and bucket.location.bucket == "files"
    assert bucket._client is None  # made on first use, not at start-up
    with pytest.raises(StorageUrlError):
        from_url("ftp://files", tmp_path)


# --- the storage -----------------------------------------------------------------------------------------

async def test_put_get_overwrite_delete(storage_url: str, s3_endpoint: str, bucket: str) -> None:
    storage = from_url(storage_url, Path("/nonexistent"))
    tenant, attachment = uuid.uuid4(), uuid.uuid4()
    key = f"{tenant}/{attachment}"
    await storage.put(key, b"%PDF-1.4 first")
    assert await storage.get(key) == b"%PDF-1.4 first"
    await storage.put(key, b"%PDF-1.4 second")
    assert await storage.get(key) == b"%PDF-1.4 second"
    assert keys_in(s3_endpoint, bucket) == [key]
    await storage.delete(key)
    assert keys_in(s3_endpoint, bucket) == []
    await storage.delete(key)  # already gone: no error, as for a missing file


async def test_a_missing_key_raises_what_a_missing_file_raises(storage_url: str, tmp_path: Path) -> None:
    key = f"{uuid.uuid4()}/{uuid.uuid4()}"
    with pytest.raises(FileNotFoundError):
        await DirectoryStorage(tmp_path).get(key)
    with pytest.raises(FileNotFoundError):
        await from_url(storage_url, tmp_path).get(key)


async def test_a_missing_bucket_is_not_a_missing_file(s3_endpoint: str) -> None:
    from botocore.exceptions import ClientError

    storage = from_url(f"s3://{ACCESS_KEY}:{ENCODED_SECRET}@{s3_endpoint}/no-such-bucket-here?secure=false", Path())
    with pytest.raises(ClientError, match="NoSuchBucket"):
        await storage.get("a/b")


@pytest.mark.parametrize("key", ["../escape", "a/../../escape", "/etc/passwd", "a//b", "./a", "a/.", "", "a\\..\\b",
                                 "a/b\x00", "a/\nb"])
async def test_keys_that_could_leave_the_tenant_prefix_are_refused(storage_url: str, key: str) -> None:
    storage = from_url(storage_url, Path())
    for call in (storage.put(key, b"x"), storage.get(key), storage.delete(key)):
        with pytest.raises(ValueError, match="storage key"):
            await call
    assert isinstance(storage, S3Storage) and storage._client is None  # refused before anything was sent


def test_ordinary_keys_pass() -> None:
    for key in (f"{uuid.uuid4()}/{uuid.uuid4()}", "careclub-doctor-probe-0a1b", "tenant/sub/file.pdf"):
        assert check_key(key) == key


async def test_concurrent_calls_share_one_client(storage_url: str, s3_endpoint: str, bucket: str) -> None:
    storage = from_url(storage_url, Path())
    assert isinstance(storage, S3Storage)
    keys = [f"t/{i}" for i in range(8)]
    await asyncio.gather(*(storage.put(k, k.encode()) for k in keys))
    client = storage._client
    assert client is not None
    assert await asyncio.gather(*(storage.get(k) for k in keys)) == [k.encode() for k in keys]
    assert storage._client is client
    assert keys_in(s3_endpoint, bucket) == sorted(keys)


# --- the app, end to end ---------------------------------------------------------------------------------

@pytest.fixture
async def s3_app(settings: Settings, infra: Infra, storage_url: str, tmp_path: Path
                 ) -> AsyncIterator[tuple[httpx.AsyncClient, Path]]:
    """The app built from settings whose STORAGE_URL names the bucket (and whose data directory is empty),
    started in this event loop; the session's pool, Redis client and storage are set aside meanwhile."""
    from careclub.app import create_app
    from tests.live import app_state_set_aside

    data_dir = tmp_path / "data"
    data_dir.mkdir()
    app = create_app(dataclasses.replace(settings, storage_url=storage_url, data_dir=data_dir), infra)
    with app_state_set_aside():
        for hook in app.on_startup:
            await hook(app)
        try:
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=("127.0.0.1", 50002))
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as client:
                yield client, data_dir
        finally:
            for hook in app.on_shutdown:
                await hook(app)


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (30, 120, 200)).save(out, "JPEG")
    return out.getvalue()


async def test_a_ticket_photo_is_kept_in_the_bucket_and_served_from_it(
        s3_app: tuple[httpx.AsyncClient, Path], s3_endpoint: str, bucket: str) -> None:
    client, data_dir = s3_app
    w = await tower(client)
    tid = (await raise_ticket(client, w["resident"], unit=w["unit"]))["id"]
    r = await client.post(f"/api/v1/tickets/{tid}/attachments", headers=w["resident"]["headers"],
                          files={"file": ("tap.jpg", jpeg(), "image/jpeg")})
    assert r.status_code == 201, r.text
    attachment = r.json()
    key = f"{w['t']['tenant_id']}/{attachment['id']}"
    assert keys_in(s3_endpoint, bucket) == [key]
    stored = _admin(s3_endpoint).get_object(Bucket=bucket, Key=key)["Body"].read()
    assert len(stored) == attachment["size"]

    served = await client.get(f"/api/v1/attachments/{attachment['id']}", headers=w["resident"]["headers"])
    assert served.status_code == 200, served.text
    assert served.content == stored and served.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(served.content)).size == (40, 30)
    assert (await client.get(f"/api/v1/attachments/{attachment['id']}",
                             headers=w["neighbour"]["headers"])).status_code == 404
    assert not (data_dir / "attachments").exists()  # nothing was written to the data directory


# --- careclub doctor -------------------------------------------------------------------------------------

async def test_doctor_checks_the_bucket_with_a_probe_it_deletes(settings: Settings, infra: Infra, storage_url: str,
                                                                s3_endpoint: str, bucket: str, capsys: Any) -> None:
    from careclub.core.doctor import run_doctor

    code = await run_doctor(dataclasses.replace(settings, storage_url=storage_url), database=infra.database_name)
    out = capsys.readouterr().out
    assert code == 0, out
    assert f"S3 bucket {bucket} at http://{s3_endpoint}" in out
    assert "ok    file storage:" in out
    assert SECRET_KEY not in out and ENCODED_SECRET not in out
    assert keys_in(s3_endpoint, bucket) == []


async def test_doctor_fails_on_a_missing_bucket_without_printing_the_secret(
        settings: Settings, infra: Infra, s3_endpoint: str, capsys: Any) -> None:
    from careclub.core.doctor import run_doctor

    url = f"s3://{ACCESS_KEY}:{ENCODED_SECRET}@{s3_endpoint}/no-such-bucket-here?secure=false"
    code = await run_doctor(dataclasses.replace(settings, storage_url=url), database=infra.database_name)
    out = capsys.readouterr().out
    assert code != 0
    assert "FAIL  file storage:" in out and "NoSuchBucket" in out
    assert SECRET_KEY not in out and ENCODED_SECRET not in out
