from pathlib import Path

from piccolo.conf.apps import AppConfig

from careclub.catalogue.tables import TABLES

APP_CONFIG = AppConfig(
    app_name="catalogue",
    migrations_folder_path=str(Path(__file__).resolve().parents[3] / "migrations" / "catalogue"),
    table_classes=list(TABLES),
    migration_dependencies=["careclub.tickets.piccolo_app"],
    commands=[],
)
