"""Invitations that do more when accepted (`invite.on_accept`): a merchant operator invited from the
merchant's page is linked to that merchant as his account is made (clubs, issue #11)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import JSONB
from piccolo.columns.indexes import IndexMethod

ID = "2026-11-30T12:09:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "invite: on_accept"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="platform", description=DESCRIPTION)

    manager.add_column(
        table_class_name="Invite",
        tablename="invite",
        column_name="on_accept",
        db_column_name="on_accept",
        column_class_name="JSONB",
        column_class=JSONB,
        params={
            "default": None,
            "null": True,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    return manager
