"""The quality figures' facts on each service order (issue #10): its item version's subcontractor, what its ticket
says (department, assignee, rating, reworked, breached) and the complaints raised about it. Constant defaults, so
no table rewrite; the next migration adds the triggers that keep them and fills them for the orders already there."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import UUID, Boolean, Integer, SmallInt
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-01T16:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "service_order quality facts columns"

COLUMNS = [("item_subcontractor", UUID, None, True), ("ticket_department", UUID, None, True),
           ("ticket_assignee", UUID, None, True), ("ticket_satisfaction", SmallInt, None, True),
           ("ticket_reworked", Boolean, False, False), ("ticket_breached", Boolean, False, False),
           ("complaints", Integer, 0, False)]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="catalogue", description=DESCRIPTION)
    for name, column_class, default, null in COLUMNS:
        manager.add_column(
            table_class_name="ServiceOrder",
            tablename="service_order",
            column_name=name,
            db_column_name=name,
            column_class_name=column_class.__name__,
            column_class=column_class,
            params={
                "default": default,
                "null": null,
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
