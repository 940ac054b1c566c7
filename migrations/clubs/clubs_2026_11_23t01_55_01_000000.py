"""Row-level security and tenant-first indexes for the clubs tables (raw SQL: Piccolo has no
policies, partial or composite unique constraints)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from careclub.core.db import rls_sql, run_script

ID = "2026-11-23T01:55:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "clubs row-level security"

TENANT_TABLES = ["club", "club_plan", "club_member", "club_vehicle", "club_card", "club_card_event", "club_period",
                 "club_signing_key", "club_merchant", "club_merchant_operator", "club_benefit",
                 "club_benefit_merchant", "club_benefit_usage", "club_checkin", "club_token_nonce"]

SQL = """
CREATE UNIQUE INDEX club_tenant_code ON club (tenant_id, code);
CREATE UNIQUE INDEX club_plan_tenant_club_code ON club_plan (tenant_id, club, code);
CREATE INDEX club_member_tenant_club_unit ON club_member (tenant_id, club, org_unit);
CREATE INDEX club_member_tenant_user ON club_member (tenant_id, "user");
CREATE INDEX club_member_tenant_phone ON club_member (tenant_id, phone);
CREATE UNIQUE INDEX club_vehicle_tenant_plate ON club_vehicle (tenant_id, plate);
CREATE INDEX club_vehicle_tenant_member ON club_vehicle (tenant_id, member);
CREATE UNIQUE INDEX club_card_tenant_no ON club_card (tenant_id, card_no);
CREATE INDEX club_card_tenant_member ON club_card (tenant_id, member);
-- one car, one live card per club
CREATE UNIQUE INDEX club_card_tenant_club_vehicle_live ON club_card (tenant_id, club, vehicle)
    WHERE vehicle IS NOT NULL AND state IN ('pending', 'active', 'suspended');
CREATE INDEX club_card_event_tenant_card ON club_card_event (tenant_id, card, created_at);
CREATE INDEX club_period_tenant_card ON club_period (tenant_id, card);
CREATE UNIQUE INDEX club_signing_key_tenant_kid ON club_signing_key (tenant_id, kid);
CREATE UNIQUE INDEX club_signing_key_tenant_active ON club_signing_key (tenant_id) WHERE status = 'active';
CREATE UNIQUE INDEX club_merchant_tenant_club_code ON club_merchant (tenant_id, club, code);
CREATE UNIQUE INDEX club_merchant_operator_tenant_user ON club_merchant_operator (tenant_id, "user");
CREATE UNIQUE INDEX club_benefit_tenant_club_code ON club_benefit (tenant_id, club, code);
CREATE UNIQUE INDEX club_benefit_merchant_tenant_pair ON club_benefit_merchant (tenant_id, benefit, merchant);
CREATE UNIQUE INDEX club_benefit_usage_tenant_key ON club_benefit_usage (tenant_id, member, counter, period);
CREATE INDEX club_checkin_tenant_merchant_time ON club_checkin (tenant_id, merchant, created_at DESC);
CREATE INDEX club_checkin_tenant_card_time ON club_checkin (tenant_id, card, created_at DESC);
CREATE UNIQUE INDEX club_checkin_tenant_merchant_idem ON club_checkin (tenant_id, merchant, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE UNIQUE INDEX club_token_nonce_tenant_nonce ON club_token_nonce (tenant_id, nonce);
"""


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="clubs", description=DESCRIPTION)

    async def run():
        await run_script(SQL + "".join(rls_sql(t) for t in TENANT_TABLES))

    manager.add_raw(run)
    return manager
