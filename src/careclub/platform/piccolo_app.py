from pathlib import Path

from piccolo.conf.apps import AppConfig

from careclub.platform.tables import (
    ApiToken,
    Attachment,
    AuditEntry,
    Invite,
    OrgUnit,
    PasswordReset,
    Role,
    RoleGrant,
    Tenant,
    User,
)

APP_CONFIG = AppConfig(
    app_name="platform",
    migrations_folder_path=str(Path(__file__).resolve().parents[3] / "migrations" / "platform"),
    table_classes=[Tenant, OrgUnit, User, Role, RoleGrant, ApiToken, Invite, AuditEntry, Attachment,
                   PasswordReset],
    migration_dependencies=[],
    commands=[],
)
