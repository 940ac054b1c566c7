"""Row-level security, tenant-first indexes and the ticket core's own guarantees (raw SQL: Piccolo has no
policies, partial indexes or CHECK constraints).

The indexes are those the queues, the SLA job and the archive read by: a department's open tickets by due
time, the tickets about to breach, a unit's history, a person's units. The timeline is append-only for the
app role (core/migrate.APPEND_ONLY)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from careclub.core.db import rls_sql, run_script

ID = "2026-11-30T19:02:28:000000"
VERSION = "1.38.0"
DESCRIPTION = "tickets row-level security, indexes and constraints"

TENANT_TABLES = ["property_building", "property_unit", "customer", "unit_occupancy", "unit_record", "ticket_type",
                 "ticket_counter", "ticket", "ticket_leg", "ticket_event", "service_calendar",
                 "service_calendar_day", "ticket_sla_notice"]

SQL = """
CREATE UNIQUE INDEX property_building_tenant_code ON property_building (tenant_id, project_id, code);
CREATE UNIQUE INDEX property_unit_tenant_code ON property_unit (tenant_id, building, code);
CREATE INDEX property_unit_tenant_project ON property_unit (tenant_id, project_id, code);
ALTER TABLE property_unit ADD CONSTRAINT property_unit_area CHECK (area_cm2 IS NULL OR area_cm2 > 0);

CREATE INDEX customer_tenant_phone ON customer (tenant_id, phone) WHERE phone <> '';
CREATE INDEX customer_tenant_name ON customer (tenant_id, name);
CREATE INDEX customer_tenant_user ON customer (tenant_id, user_id) WHERE user_id IS NOT NULL;
CREATE INDEX unit_occupancy_tenant_unit ON unit_occupancy (tenant_id, unit);
CREATE INDEX unit_occupancy_tenant_person ON unit_occupancy (tenant_id, person);
ALTER TABLE unit_occupancy ADD CONSTRAINT unit_occupancy_dates CHECK (ends_on IS NULL OR starts_on IS NULL
    OR ends_on >= starts_on);
CREATE INDEX unit_record_tenant_unit ON unit_record (tenant_id, unit, occurred_on DESC);

CREATE UNIQUE INDEX ticket_type_tenant_code ON ticket_type (tenant_id, code);
CREATE UNIQUE INDEX ticket_counter_tenant_type_year ON ticket_counter (tenant_id, type, year);

CREATE UNIQUE INDEX ticket_tenant_number ON ticket (tenant_id, number);
-- the queues: a department's (or a person's) open tickets, most urgent first, a keyset page at a time
CREATE INDEX ticket_tenant_department_open ON ticket (tenant_id, department, due_at, id) WHERE closed_at IS NULL;
CREATE INDEX ticket_tenant_assignee_open ON ticket (tenant_id, assignee, due_at, id)
    WHERE closed_at IS NULL AND assignee IS NOT NULL;
CREATE INDEX ticket_tenant_created ON ticket (tenant_id, created_at DESC, id DESC);
CREATE INDEX ticket_tenant_project_created ON ticket (tenant_id, project_id, created_at DESC, id DESC);
-- counts over open tickets (the queue tabs, "needs attention") answered from the index alone, and a type
-- filter over all tickets (bench scale at 1,000,000 tickets: 100 ms -> 8 ms, 1 s -> 2 ms)
CREATE INDEX ticket_tenant_open_queue ON ticket (tenant_id, created_at DESC, id DESC)
    INCLUDE (type, type_code, status, priority, project_id, department, assignee, raised_by, unit,
             breached, clock_since, due_at, responded_at, respond_by)
    WHERE closed_at IS NULL;
CREATE INDEX ticket_tenant_type_created ON ticket (tenant_id, type_code, created_at DESC, id DESC);
-- the SLA job: running clocks that are due soon, and responses not yet given
CREATE INDEX ticket_tenant_due_running ON ticket (tenant_id, due_at)
    WHERE clock_since IS NOT NULL AND NOT breached;
CREATE INDEX ticket_tenant_respond_by ON ticket (tenant_id, respond_by)
    WHERE responded_at IS NULL AND closed_at IS NULL;
-- the month's reports: tickets resolved, and closed, in a period
CREATE INDEX ticket_tenant_resolved ON ticket (tenant_id, resolved_at) WHERE resolved_at IS NOT NULL;
CREATE INDEX ticket_tenant_closed ON ticket (tenant_id, closed_at) WHERE closed_at IS NOT NULL;
CREATE INDEX ticket_tenant_unit ON ticket (tenant_id, unit, created_at DESC) WHERE unit IS NOT NULL;
CREATE INDEX ticket_tenant_person ON ticket (tenant_id, person, created_at DESC) WHERE person IS NOT NULL;
CREATE INDEX ticket_tenant_raised_by ON ticket (tenant_id, raised_by, created_at DESC) WHERE raised_by IS NOT NULL;
ALTER TABLE ticket ADD CONSTRAINT ticket_priority CHECK (priority IN ('low', 'normal', 'high', 'urgent'));
ALTER TABLE ticket ADD CONSTRAINT ticket_satisfaction CHECK (satisfaction IS NULL OR satisfaction BETWEEN 1 AND 5);
ALTER TABLE ticket ADD CONSTRAINT ticket_sla CHECK (sla_used >= 0 AND sla_minutes >= 0 AND version > 0);

CREATE INDEX ticket_leg_tenant_ticket ON ticket_leg (tenant_id, ticket, started_at);
CREATE INDEX ticket_leg_tenant_department ON ticket_leg (tenant_id, department, started_at);
-- one open leg per ticket
CREATE UNIQUE INDEX ticket_leg_tenant_open ON ticket_leg (tenant_id, ticket) WHERE ended_at IS NULL;
CREATE INDEX ticket_event_tenant_ticket ON ticket_event (tenant_id, ticket, created_at, id);

CREATE UNIQUE INDEX service_calendar_tenant ON service_calendar (tenant_id);
CREATE UNIQUE INDEX service_calendar_day_tenant_day ON service_calendar_day (tenant_id, day);
CREATE UNIQUE INDEX ticket_sla_notice_tenant_once ON ticket_sla_notice (tenant_id, ticket, kind, user_id);
CREATE INDEX ticket_sla_notice_tenant_waiting ON ticket_sla_notice (tenant_id, user_id) WHERE sent_at IS NULL;
"""


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="tickets", description=DESCRIPTION)

    async def run():
        await run_script(SQL + "".join(rls_sql(t) for t in TENANT_TABLES))

    manager.add_raw(run)
    return manager
