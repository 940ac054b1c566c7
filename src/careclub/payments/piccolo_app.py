from pathlib import Path

from piccolo.conf.apps import AppConfig

from careclub.payments.tables import TABLES

APP_CONFIG = AppConfig(
    app_name="payments",
    migrations_folder_path=str(Path(__file__).resolve().parents[3] / "migrations" / "payments"),
    table_classes=list(TABLES),
    migration_dependencies=["careclub.clubs.piccolo_app"],
    commands=[],
)
