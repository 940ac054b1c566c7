from pathlib import Path

from piccolo.conf.apps import AppConfig

from careclub.clubs.tables import TABLES

APP_CONFIG = AppConfig(
    app_name="clubs",
    migrations_folder_path=str(Path(__file__).resolve().parents[3] / "migrations" / "clubs"),
    table_classes=list(TABLES),
    migration_dependencies=["careclub.platform.piccolo_app"],
    commands=[],
)
