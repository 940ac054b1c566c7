from pathlib import Path

from piccolo.conf.apps import AppConfig

from careclub.settlements.tables import TABLES

APP_CONFIG = AppConfig(
    app_name="settlements",
    migrations_folder_path=str(Path(__file__).resolve().parents[3] / "migrations" / "settlements"),
    table_classes=list(TABLES),
    migration_dependencies=["careclub.approvals.piccolo_app"],
    commands=[],
)
