"""Where uploaded files live: one small interface, so the domains never care which.

The data directory is the default (one app host). Several app hosts share an S3-compatible object
store instead; that implementation plugs in here behind the same three calls (`STORAGE_URL`)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Protocol


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


_storage: Storage | None = None


def configure(storage: Storage) -> None:
    global _storage
    _storage = storage


def storage() -> Storage:
    if _storage is None:
        raise RuntimeError("core.storage.configure() was not called at start-up")
    return _storage
