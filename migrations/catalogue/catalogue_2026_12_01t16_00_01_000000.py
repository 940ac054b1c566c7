"""The quality figures read each order's facts off the order itself (issue #10; raw SQL: Piccolo has no triggers).

The figures (`/catalogue/quality`, `GET /api/v1/catalogue/quality`) grouped a period's orders after looking up,
for each one, its ticket (department, assignee, rating, reopened, breached) and the complaints raised about it:
two index look-ups an order, ~500 ms for 30 days at a million orders and ~6 s for a year. Now the order carries
those facts (the previous migration's columns) and a period is one scan of an index in creation order that
holds them (`service_order_tenant_quality`): 26 ms for 30 days, 152 for a year (docs/scale.md).

Kept by triggers, so every writer does (the service, the SLA job breaching a thousand tickets, a hand-run UPDATE):
- an order inserted takes its ticket's facts, its item version's subcontractor and the complaints already about
  it (`service_order_quality_init`, BEFORE INSERT; again on a change of its ticket or item version);
- a ticket updated in a column the figures read hands the new values to its order (one UPDATE a statement);
- a complaint ticket (`type_code` 'complaint' with an `order` field) inserted, deleted or changed adds or takes
  away one on its order: `complaints = complaints + n`, so racing complaints each count, and a complaint and a
  reassignment of the same order take turns on the order's row instead of losing each other's change.
A ticket is always locked before its order (a ticket transition locks the ticket, then the order in the
catalogue's guard; the order's own writes do not touch the ticket), so the trigger adds no deadlock.

`service_order_quality_check()` answers the orders whose facts differ from their ticket and complaints (none:
the tests run every kind of write and check), `service_order_quality_rebuild()` makes them again for the company
in context (the backfill below, a load made without the triggers). Both run as the caller under row-level
security, reading the company from `app_current_tenant()`.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from careclub.core.db import per_tenant_sql, run_script

ID = "2026-12-01T16:00:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "catalogue: the quality facts kept on each order, and the index the figures read"

# an order id as `uuid::text` writes it: anything else in a ticket's `order` field names no order
_UUID_TEXT = "'^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'"

SQL = r"""
CREATE OR REPLACE FUNCTION service_order_quality_init() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT t.department, t.assignee, t.satisfaction, t.reopen_count > 0, t.breached
      INTO NEW.ticket_department, NEW.ticket_assignee, NEW.ticket_satisfaction, NEW.ticket_reworked,
           NEW.ticket_breached
      FROM ticket t WHERE t.tenant_id = NEW.tenant_id AND t.id = NEW.ticket;
    IF NOT FOUND THEN
        NEW.ticket_reworked := false;
        NEW.ticket_breached := false;
    END IF;
    NEW.item_subcontractor := (SELECT v.subcontractor FROM service_item_version v
                               WHERE v.tenant_id = NEW.tenant_id AND v.id = NEW.item_version);
    IF TG_OP = 'INSERT' THEN
        NEW.complaints := (SELECT count(*) FROM ticket k
                           WHERE k.tenant_id = NEW.tenant_id AND k.fields ? 'order'
                             AND k.fields->>'order' = NEW.id::text AND k.type_code = 'complaint');
    END IF;
    RETURN NEW;
END
$$;

DROP TRIGGER IF EXISTS service_order_quality_init ON service_order;
CREATE TRIGGER service_order_quality_init BEFORE INSERT OR UPDATE OF ticket, item_version ON service_order
    FOR EACH ROW EXECUTE FUNCTION service_order_quality_init();

-- Adds to each order the complaints that came about it and takes away those that went.
CREATE OR REPLACE FUNCTION service_order_complaints_apply(gone ticket[], came ticket[]) RETURNS void
LANGUAGE sql AS $$
    UPDATE service_order s SET complaints = s.complaints + d.n
    FROM (SELECT x.tenant_id, x.o::uuid AS id, sum(x.sign)::int AS n
          FROM (SELECT g.tenant_id, g.fields->>'order' AS o, -1 AS sign FROM unnest(gone) AS g
                WHERE g.type_code = 'complaint'
                UNION ALL
                SELECT c.tenant_id, c.fields->>'order', 1 FROM unnest(came) AS c
                WHERE c.type_code = 'complaint') AS x
          WHERE x.o ~ UUID_TEXT
          GROUP BY x.tenant_id, x.o HAVING sum(x.sign) <> 0) AS d
    WHERE s.tenant_id = d.tenant_id AND s.id = d.id
$$;

CREATE OR REPLACE FUNCTION service_order_ticket_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM service_order_complaints_apply('{}', ARRAY(
            SELECT n::ticket FROM new_rows n WHERE n.type_code = 'complaint' AND n.fields ? 'order'));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM service_order_complaints_apply(ARRAY(
            SELECT o::ticket FROM old_rows o WHERE o.type_code = 'complaint' AND o.fields ? 'order'), '{}');
    ELSE
        -- only the tickets changed in a column the figures read (most updates change none)
        UPDATE service_order s
           SET ticket_department = n.department, ticket_assignee = n.assignee, ticket_satisfaction = n.satisfaction,
               ticket_reworked = n.reopen_count > 0, ticket_breached = n.breached
          FROM old_rows o JOIN new_rows n ON n.id = o.id
         WHERE (o.department, o.assignee, o.satisfaction, o.reopen_count > 0, o.breached)
               IS DISTINCT FROM (n.department, n.assignee, n.satisfaction, n.reopen_count > 0, n.breached)
           AND s.tenant_id = n.tenant_id AND s.ticket = n.id;
        PERFORM service_order_complaints_apply(x.o, x.n) FROM (
            SELECT array_agg(o::ticket) AS o, array_agg(n::ticket) AS n
            FROM old_rows o JOIN new_rows n ON n.id = o.id
            WHERE (o.type_code = 'complaint' OR n.type_code = 'complaint')
              AND (o.type_code, o.fields->>'order') IS DISTINCT FROM (n.type_code, n.fields->>'order')) AS x
        WHERE x.o IS NOT NULL;
    END IF;
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS service_order_ticket_insert ON ticket;
DROP TRIGGER IF EXISTS service_order_ticket_update ON ticket;
DROP TRIGGER IF EXISTS service_order_ticket_delete ON ticket;
CREATE TRIGGER service_order_ticket_insert AFTER INSERT ON ticket
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION service_order_ticket_sync();
CREATE TRIGGER service_order_ticket_update AFTER UPDATE ON ticket
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION service_order_ticket_sync();
CREATE TRIGGER service_order_ticket_delete AFTER DELETE ON ticket
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION service_order_ticket_sync();

-- What the company in context's orders should carry, from their tickets, versions and complaints.
CREATE OR REPLACE FUNCTION service_order_quality_compute() RETURNS TABLE (
    id uuid, item_subcontractor uuid, ticket_department uuid, ticket_assignee uuid, ticket_satisfaction smallint,
    ticket_reworked boolean, ticket_breached boolean, complaints integer)
LANGUAGE sql STABLE AS $$
    SELECT s.id, v.subcontractor, t.department, t.assignee, t.satisfaction, coalesce(t.reopen_count > 0, false),
           coalesce(t.breached, false), coalesce(c.n, 0)::int
    FROM service_order s
    LEFT JOIN ticket t ON t.tenant_id = s.tenant_id AND t.id = s.ticket
    LEFT JOIN service_item_version v ON v.tenant_id = s.tenant_id AND v.id = s.item_version
    LEFT JOIN (SELECT k.fields->>'order' AS o, count(*) AS n FROM ticket k
               WHERE k.tenant_id = app_current_tenant() AND k.fields ? 'order' AND k.type_code = 'complaint'
               GROUP BY 1) AS c ON c.o = s.id::text
    WHERE s.tenant_id = app_current_tenant()
$$;

CREATE OR REPLACE FUNCTION service_order_quality_check() RETURNS TABLE (id uuid, number text) LANGUAGE sql STABLE AS $$
    SELECT s.id, s.number::text FROM service_order s JOIN service_order_quality_compute() f ON f.id = s.id
    WHERE s.tenant_id = app_current_tenant()
      AND (s.item_subcontractor, s.ticket_department, s.ticket_assignee, s.ticket_satisfaction, s.ticket_reworked,
           s.ticket_breached, s.complaints)
          IS DISTINCT FROM
          (f.item_subcontractor, f.ticket_department, f.ticket_assignee, f.ticket_satisfaction, f.ticket_reworked,
           f.ticket_breached, f.complaints)
$$;

CREATE OR REPLACE FUNCTION service_order_quality_rebuild() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE made bigint;
BEGIN
    UPDATE service_order s
       SET item_subcontractor = f.item_subcontractor, ticket_department = f.ticket_department,
           ticket_assignee = f.ticket_assignee, ticket_satisfaction = f.ticket_satisfaction,
           ticket_reworked = f.ticket_reworked, ticket_breached = f.ticket_breached, complaints = f.complaints
      FROM service_order_quality_compute() f
     WHERE s.tenant_id = app_current_tenant() AND s.id = f.id
       AND (s.item_subcontractor, s.ticket_department, s.ticket_assignee, s.ticket_satisfaction, s.ticket_reworked,
            s.ticket_breached, s.complaints)
           IS DISTINCT FROM
           (f.item_subcontractor, f.ticket_department, f.ticket_assignee, f.ticket_satisfaction, f.ticket_reworked,
            f.ticket_breached, f.complaints);
    GET DIAGNOSTICS made = ROW_COUNT;
    RETURN made;
END
$$;

-- A period's orders in creation order, carrying every fact the figures group and count: an index-only scan.
CREATE INDEX IF NOT EXISTS service_order_tenant_quality ON service_order (tenant_id, created_at)
    INCLUDE (project_id, item, item_subcontractor, ticket_department, ticket_assignee, ticket_satisfaction,
             ticket_reworked, ticket_breached, complaints);
""".replace("UUID_TEXT", _UUID_TEXT)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="catalogue", description=DESCRIPTION)

    async def run():
        await run_script(SQL)
        await run_script(per_tenant_sql("service_order", "service_order_quality_rebuild()"))

    manager.add_raw(run)
    return manager
