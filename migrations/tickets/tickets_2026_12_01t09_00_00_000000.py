"""An SLA notice remembers the deadline it is about (issue #13): a ticket warned, paused and resumed has a new
deadline and is warned again, while a job run twice over the same deadline still sends once. The column is
null on the notices made before it; the next migration keys the notices by it."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Timestamptz
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-01T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "ticket_sla_notice.deadline"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="tickets", description=DESCRIPTION)

    manager.add_column(
        table_class_name="SlaNotice",
        tablename="ticket_sla_notice",
        column_name="deadline",
        db_column_name="deadline",
        column_class_name="Timestamptz",
        column_class=Timestamptz,
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
