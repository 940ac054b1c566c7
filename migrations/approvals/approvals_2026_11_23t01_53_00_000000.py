"""Row-level security and tenant-first indexes for the approval tables (raw SQL: Piccolo has no
policies, no composite unique constraints)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from careclub.core.db import rls_sql, run_script

ID = "2026-11-23T01:53:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "approvals row-level security"

TENANT_TABLES = ["approval_policy", "approval_body", "approval_meeting", "approval_request", "approval_step",
                 "approval_decision", "approval_event", "approval_delegation", "notification", "outbox_email"]

SQL = """
CREATE UNIQUE INDEX approval_policy_tenant_subject_version ON approval_policy (tenant_id, subject_type, version);
-- At most one current version per subject type.
CREATE UNIQUE INDEX approval_policy_tenant_subject_current ON approval_policy (tenant_id, subject_type)
    WHERE is_current;
CREATE UNIQUE INDEX approval_body_tenant_code ON approval_body (tenant_id, code);
CREATE UNIQUE INDEX approval_meeting_tenant_body_date ON approval_meeting (tenant_id, body, scheduled_on);
CREATE INDEX approval_request_tenant_subject ON approval_request (tenant_id, subject_type, subject_id);
CREATE INDEX approval_request_tenant_requester ON approval_request (tenant_id, requester_id, status);
CREATE UNIQUE INDEX approval_step_tenant_request_round_pos ON approval_step (tenant_id, request, round, position);
CREATE INDEX approval_step_tenant_status_due ON approval_step (tenant_id, status, due_at);
CREATE INDEX approval_step_tenant_open_ids ON approval_step USING gin (open_ids) WHERE status = 'active';
CREATE INDEX approval_step_tenant_meeting ON approval_step (tenant_id, meeting);
-- One decision per signer slot of a step: the database's last word on racing approvers.
CREATE UNIQUE INDEX approval_decision_tenant_step_slot ON approval_decision (tenant_id, step, slot);
CREATE INDEX approval_decision_tenant_request ON approval_decision (tenant_id, request);
CREATE INDEX approval_event_tenant_request ON approval_event (tenant_id, request, created_at);
CREATE INDEX approval_delegation_tenant_delegate ON approval_delegation (tenant_id, delegate, starts_on, ends_on);
CREATE INDEX notification_tenant_user ON notification (tenant_id, user_id, read_at, created_at DESC);
CREATE INDEX outbox_email_tenant_time ON outbox_email (tenant_id, created_at DESC);
"""


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="approvals", description=DESCRIPTION)

    async def run():
        await run_script(SQL + "".join(rls_sql(t) for t in TENANT_TABLES))

    manager.add_raw(run)
    return manager
