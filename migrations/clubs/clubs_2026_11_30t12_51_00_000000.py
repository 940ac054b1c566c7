"""A club's own growth projection (issue #11 item 11): new members a month, empty for none. It used to
be 300 for every club (seed 002 part 5 is one club's business plan, not every club's)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Integer
from piccolo.columns.indexes import IndexMethod

ID = "2026-11-30T12:51:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "club.projected_monthly_joins"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="clubs", description=DESCRIPTION)

    manager.add_column(
        table_class_name="Club",
        tablename="club",
        column_name="projected_monthly_joins",
        db_column_name="projected_monthly_joins",
        column_class_name="Integer",
        column_class=Integer,
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
