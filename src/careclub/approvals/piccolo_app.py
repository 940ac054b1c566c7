from pathlib import Path

from piccolo.conf.apps import AppConfig

from careclub.approvals.tables import (
    ApprovalBody,
    ApprovalDecision,
    ApprovalEvent,
    ApprovalPolicy,
    ApprovalRequest,
    ApprovalStep,
    Delegation,
    Meeting,
    Notification,
    OutboxEmail,
)

APP_CONFIG = AppConfig(
    app_name="approvals",
    migrations_folder_path=str(Path(__file__).resolve().parents[3] / "migrations" / "approvals"),
    table_classes=[ApprovalPolicy, ApprovalBody, Meeting, ApprovalRequest, ApprovalStep, ApprovalDecision,
                   ApprovalEvent, Delegation, Notification, OutboxEmail],
    migration_dependencies=["careclub.platform.piccolo_app"],
    commands=[],
)
