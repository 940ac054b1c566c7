from pathlib import Path

from piccolo.conf.apps import AppConfig

from careclub.funds.tables import TABLES

APP_CONFIG = AppConfig(
    app_name="funds",
    migrations_folder_path=str(Path(__file__).resolve().parents[3] / "migrations" / "funds"),
    table_classes=list(TABLES),
    migration_dependencies=["careclub.payments.piccolo_app"],
    commands=[],
)
