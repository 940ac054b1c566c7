"""Keyset pages of cards and check-ins: the staff lists (`/club/cards`, `/club/checkins`) and their
Excel downloads read newest first by (created_at, id), from an index in exactly that order. On the
partitioned check-ins the index is made on every month's partition, so a page of a date range reads
the index of the months in it only."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from careclub.core.db import run_script

ID = "2026-11-30T12:50:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "clubs: keyset indexes of cards and check-ins"

SQL = """
CREATE INDEX IF NOT EXISTS club_card_tenant_created ON club_card (tenant_id, created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS club_checkin_tenant_created ON club_checkin (tenant_id, created_at DESC, id DESC);
"""


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="clubs", description=DESCRIPTION)

    async def run():
        await run_script(SQL)

    manager.add_raw(run)
    return manager
