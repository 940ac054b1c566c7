"""The database engine, transactions and the tenant context.

Tenancy is enforced by PostgreSQL itself: every tenant table has a row-level security policy on
`tenant_id = app_current_tenant()`, and that function raises when `app.tenant_id` is not set in
the current transaction. Code here only has to set it; forgetting to fails closed.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar, Token
from typing import Any

import asyncpg
from piccolo.columns import UUID, Column, Integer, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.engine.postgres import PostgresEngine, PostgresTransaction
from piccolo.query import Insert, Update
from piccolo.table import Table

from careclub.core.errors import NoTenantContext, ValidationFailed
from careclub.core.schemas import int_range


class _Connection(asyncpg.Connection):
    """A pooled connection released without asyncpg's reset query (advisory unlock, CLOSE ALL,
    UNLISTEN, RESET ALL): a round trip on every request. Nothing here outlives a transaction:
    the tenant is bound with set_config(..., true), locks are pg_advisory_xact_lock, and no code
    LISTENs, opens cursors outside a transaction or SETs a session variable."""

    def get_reset_query(self) -> str:
        return ""


class CareclubEngine(PostgresEngine):
    """A Postgres engine that connects only when asked: its DSN is chosen at start-up."""

    async def check_version(self) -> None:
        return None

    async def prep_database(self) -> None:
        return None

    def configure(self, dsn: str, **pool: Any) -> None:
        # asyncpg keeps prepared statements per connection; RLS policies are re-planned per
        # tenant value anyway, so the default statement cache stays on.
        self.config = {"dsn": dsn, "server_settings": {"jit": "off"}, "connection_class": _Connection, **pool}


DB = CareclubEngine(config={})
log = logging.getLogger("careclub.db")

_tenant: ContextVar[uuid.UUID | None] = ContextVar("careclub_tenant", default=None)


def current_tenant_id() -> uuid.UUID:
    """The tenant of the running request or job; raises rather than guess."""
    tenant_id = _tenant.get()
    if tenant_id is None:
        raise NoTenantContext("tenant data touched outside a tenant context")
    return tenant_id


def clear_tenant() -> Token[uuid.UUID | None]:
    """Start a unit of work with no tenant; pass the result to `restore_tenant` when it ends."""
    return _tenant.set(None)


def restore_tenant(token: Token[uuid.UUID | None]) -> None:
    _tenant.reset(token)


def current_transaction() -> PostgresTransaction:
    tx = DB.current_transaction.get()
    if tx is None:
        raise NoTenantContext("no database transaction is open")
    return tx


async def bind_tenant(tenant_id: uuid.UUID) -> None:
    """Scope the open transaction to one tenant (transaction-local, so pooled connections
    never carry it into the next request)."""
    tx = current_transaction()
    await tx.connection.execute("SELECT set_config('app.tenant_id', $1, true)", str(tenant_id))
    _tenant.set(tenant_id)


def mark_bound(tenant_id: uuid.UUID) -> None:
    """Record that SQL already bound the open transaction to this tenant (a function that
    calls set_config itself, saving the round trip of `bind_tenant`)."""
    current_transaction()
    _tenant.set(tenant_id)


@asynccontextmanager
async def transaction() -> AsyncIterator[PostgresTransaction]:
    """A transaction (or the one already open: Piccolo nests by joining)."""
    async with DB.transaction() as tx:
        yield tx


# Work that must wait until the data it speaks of is committed (queueing a job, sending mail): run
# only after a successful commit, and dropped with a rollback, so no job ever acts on data that is
# not there and no mail announces what did not happen.
_after_commit: ContextVar[list[Callable[[], Awaitable[Any]]] | None] = ContextVar("careclub_after_commit",
                                                                                   default=None)


def after_commit(callback: Callable[[], Awaitable[Any]]) -> None:
    pending = _after_commit.get()
    if pending is None:
        raise NoTenantContext("after_commit() outside a request or tenant_scope")
    pending.append(callback)


def begin_unit() -> Token[list[Callable[[], Awaitable[Any]]] | None]:
    return _after_commit.set([])


async def end_unit(token: Token[list[Callable[[], Awaitable[Any]]] | None], *, committed: bool) -> None:
    pending = _after_commit.get() or []
    try:
        _after_commit.reset(token)
    except ValueError:  # ended from a copied context (a response sent from another task)
        _after_commit.set(None)
    if not committed:
        return
    for callback in pending:
        try:
            await callback()
        except Exception:  # the data is committed; a sweep job picks up what a failed callback missed
            log.exception("after-commit callback %r failed", callback)


@asynccontextmanager
async def tenant_scope(tenant_id: uuid.UUID) -> AsyncIterator[PostgresTransaction]:
    """Run a block as one tenant, in its own transaction: what jobs and the CLI use."""
    token = _tenant.set(None)
    unit = begin_unit()
    committed = False
    try:
        async with DB.transaction() as tx:
            await bind_tenant(tenant_id)
            yield tx
        committed = True
    finally:
        _tenant.reset(token)
        await end_unit(unit, committed=committed)


def like_escape(text: str) -> str:
    """`text` taken literally inside a LIKE pattern (backslash is LIKE's default escape)."""
    return text.replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_")


async def plan_each_call() -> None:
    """The statements after this, to the end of the transaction, are planned for their values each time. asyncpg
    caches a statement, and after five calls PostgreSQL may keep a generic plan that guesses an average value: for
    a figure over a period or a fund a person chooses (a year of a million orders, a fund of two million postings)
    that plan stays serial, 1.5–2× slower. Only where measured to matter: planning costs each call."""
    await fetch("SET LOCAL plan_cache_mode = force_custom_plan")


async def fetch(sql: str, *args: Any) -> list[dict[str, Any]]:
    """Raw SQL on the current transaction (or the pool); only where Piccolo cannot express it."""
    tx = DB.current_transaction.get()
    if tx is not None:
        rows = await tx.connection.fetch(sql, *args)
    else:
        assert DB.pool is not None, "database pool not started"
        async with DB.pool.acquire() as conn:
            rows = await conn.fetch(sql, *args)
    return [dict(r) for r in rows]


def _fit(column: Column, value: Any) -> None:
    """Refuse a value its column cannot hold, naming the column, before PostgreSQL refuses it as a 500."""
    name = column._meta.name
    if isinstance(value, str):
        if "\x00" in value:
            raise ValidationFailed("%(name)s contains the NUL character, which text may not hold", field=name,
                                   code="nul_character", params={"name": name})
        if isinstance(column, Varchar) and column.length is not None and len(value) > column.length:
            raise ValidationFailed("%(name)s must be at most %(length)s characters", field=name, code="too_long",
                                   params={"name": name, "length": column.length})
    elif isinstance(value, int) and not isinstance(value, bool) and isinstance(column, Integer):
        lo, hi = int_range(column)
        if not lo <= value <= hi:
            raise ValidationFailed("%(name)s must be between %(lo)s and %(hi)s", field=name, code="out_of_range",
                                   params={"name": name, "lo": lo, "hi": hi})


class Bounded(Table):
    """Every value written through Piccolo is checked against its column first: a page's form, a
    tenant file and the API all reach the same services, and whichever of them missed a bound, the
    person gets a 422 naming the field (and a form is drawn again with it) instead of a 500. The API
    refuses the same values earlier, when it decodes the body (core/schemas.py)."""

    def __init__(self, _data: dict[Any, Any] | None = None, _ignore_missing: bool = False,
                 _exists_in_db: bool = False, **kwargs: Any) -> None:
        if not _exists_in_db:  # rows read back from the database fit by definition
            by_name = self._meta.columns
            for column in by_name:
                key = column._meta.name
                if key in kwargs:
                    _fit(column, kwargs[key])
            for key, value in (_data or {}).items():
                if isinstance(key, Column):
                    _fit(key, value)
        super().__init__(_data=_data, _ignore_missing=_ignore_missing, _exists_in_db=_exists_in_db, **kwargs)

    @classmethod
    def update(cls, values: dict[Column | str, Any] | None = None, force: bool = False,
               use_auto_update: bool = True, **kwargs: Any) -> Update:
        given: dict[Column | str, Any] = dict(values or {})
        given.update(kwargs)
        for key, value in given.items():
            column = key if isinstance(key, Column) else cls._meta.get_column_by_name(key)
            _fit(column, value)
        return super().update(values, force=force, use_auto_update=use_auto_update, **kwargs)

    def save(self, columns: Sequence[Column | str] | None = None) -> Insert | Update:
        for column in self._meta.columns:
            _fit(column, getattr(self, column._meta.name, None))
        return super().save(columns)


class TenantTable(Bounded):
    """Base of every tenant-owned table. Migrations give each such table a forced RLS policy;
    `tests/integration/test_tenancy.py` finds them all through this class."""

    id = UUID(primary_key=True)
    tenant_id = UUID(null=False, default=None)
    created_at = Timestamptz(default=TimestamptzNow())

    def __init__(self, _data: dict[Any, Any] | None = None, _ignore_missing: bool = False,
                 _exists_in_db: bool = False, **kwargs: Any) -> None:
        if not _exists_in_db and kwargs.get("tenant_id") is None and not (_data and TenantTable.tenant_id in _data):
            kwargs["tenant_id"] = current_tenant_id()
        super().__init__(_data=_data, _ignore_missing=_ignore_missing, _exists_in_db=_exists_in_db, **kwargs)


def tenant_tables() -> list[type[TenantTable]]:
    from piccolo.apps.migrations.commands.base import BaseMigrationManager

    tables: list[type[TenantTable]] = []
    for app in BaseMigrationManager().get_app_registry().app_configs.values():
        tables.extend(t for t in app.table_classes if issubclass(t, TenantTable))
    return tables


def rls_sql(table: str) -> str:
    """The row-level security every tenant table gets; used by the migrations (raw SQL because
    Piccolo has no notion of policies)."""
    return f"""
        ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;
        ALTER TABLE {table} FORCE ROW LEVEL SECURITY;
        DROP POLICY IF EXISTS tenant_isolation ON {table};
        CREATE POLICY tenant_isolation ON {table}
            USING (tenant_id = app_current_tenant())
            WITH CHECK (tenant_id = app_current_tenant());
        CREATE UNIQUE INDEX IF NOT EXISTS {table}_tenant_id_id ON {table} (tenant_id, id);
    """


def per_tenant_sql(table: str, *calls: str) -> str:
    """SQL that runs `calls` (functions reading the company from `app_current_tenant()`, e.g. a rebuild of derived
    rows) once for every company holding rows in `table`, each with that company in context: a migration's
    backfill. The companies are read once past the table's policy, which the migration role (the owner) lifts for
    that one statement of its transaction."""
    body = "".join(f"\n        PERFORM {call};" for call in calls)
    return f"""
        ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY;
        CREATE TEMP TABLE {table}_tenants_unforced ON COMMIT DROP AS SELECT DISTINCT tenant_id FROM {table};
        ALTER TABLE {table} FORCE ROW LEVEL SECURITY;
        DO $$
        DECLARE t uuid;
        BEGIN
            FOR t IN SELECT tenant_id FROM {table}_tenants_unforced LOOP
                PERFORM set_config('app.tenant_id', t::text, true);{body}
            END LOOP;
            PERFORM set_config('app.tenant_id', '', true);
        END
        $$;
    """


async def run_script(sql: str) -> None:
    """Execute a multi-statement SQL script in the open transaction (migrations' raw steps)."""
    tx = DB.current_transaction.get()
    if tx is not None:
        await tx.connection.execute(sql)
        return
    conn = await DB.get_new_connection()
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


# The function every policy calls. It raises, rather than match nothing, when no tenant is set,
# so a forgotten context is a loud error instead of a silently empty page. It is plain SQL so that
# the planner inlines it into each policy: a scan then reads the setting per row in a fraction of a
# microsecond, where a PL/pgSQL call cost ~1.5 µs a row (a forced policy made a count of ten million
# check-ins 18 s instead of 2). Only when the setting is missing does `coalesce` reach
# `app_no_tenant()`, which raises (STABLE, not IMMUTABLE: the planner must not call it while folding
# constants).
CURRENT_TENANT_FUNCTION = """
CREATE OR REPLACE FUNCTION app_no_tenant() RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
BEGIN
    RAISE EXCEPTION 'careclub: no tenant in context (app.tenant_id is not set)'
        USING ERRCODE = '42501';
END
$$;
CREATE OR REPLACE FUNCTION app_current_tenant() RETURNS uuid
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(nullif(current_setting('app.tenant_id', true), ''), app_no_tenant())::uuid
$$;
"""
