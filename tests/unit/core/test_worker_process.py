"""A worker started on its own (`careclub worker`) has what the app's jobs need: the payments gateway (a Stripe
event's handler reads the account back) and the attachments' storage. Before, only the app configured them, so
every job touching Stripe failed in a separate worker process."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from careclub.cli import configure_worker_process
from careclub.core import storage
from careclub.payments import gateway
from careclub.settings import Settings


def test_a_worker_process_configures_the_gateway_and_storage(tmp_path: Path) -> None:
    kept_gateway, kept_storage = gateway._gateway, storage._storage
    try:
        gateway._gateway, storage._storage = None, None
        settings = dataclasses.replace(Settings.from_env(), data_dir=tmp_path, storage_url="")
        configure_worker_process(settings)
        assert gateway.gateway() is not None
        assert isinstance(storage.storage(), storage.DirectoryStorage)
    finally:
        gateway._gateway, storage._storage = kept_gateway, kept_storage
