from pathlib import Path

from piccolo.conf.apps import AppConfig

from careclub.tickets.tables import TABLES

APP_CONFIG = AppConfig(
    app_name="tickets",
    migrations_folder_path=str(Path(__file__).resolve().parents[3] / "migrations" / "tickets"),
    table_classes=list(TABLES),
    migration_dependencies=["careclub.funds.piccolo_app"],
    commands=[],
)
