"""`careclub bench NAME…`: run the benchmarks in `bench/` against a real server, and print ratios.

Each benchmark is a module `bench/<name>.py` (files starting with `_` are helpers, not
benchmarks) exposing `async def run(ctx: BenchContext) -> list[str]`. The runner gives it:

  * a database of its own (`careclub_bench_<random>`), created, migrated, and dropped at the end
    (`KEEP_BENCH_DB=1` keeps it; `BENCH_DATABASE=<name>` uses, migrates and keeps that one instead,
    so a large data set loaded once serves many runs);
  * the app served by uvicorn in a subprocess on a free loopback port, configured exactly like
    production (app role for requests, owner only for migrations), plus benchmark-only baselines
    that exist in this server and nowhere else: `GET /api/_bench/bare` (no database) and
    `GET /api/_bench/bare_db?tenant=ID` (the request's tenant transaction and one query), with
    `bare_tx` (no query) and `bare_db_piccolo` (the query through Piccolo) to split the cost;
  * this process's Piccolo engine and Redis client pointed at the same database, so a benchmark
    can set data up through the services inside `tenant_scope`;
  * helpers: `signup`, `load` (N keep-alive connections, a fixed number of requests, a time
    limit, loopback only), the two baselines, and line/ratio formatting.

Numbers are only compared within one run (same machine, same server, same moment): every
benchmark prints ratios against a baseline measured in that run, never absolute targets.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import importlib.util
import json
import math
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import httpx
from litestar import Litestar, MediaType, get
from litestar.params import FromQuery

from careclub.core.infra import Infra, dsn_with, resolve
from careclub.settings import PROJECT_ROOT, Settings

BENCH_DIR = PROJECT_ROOT / "bench"
BENCH_PASSWORD = "bench-password-2026-long"  # noqa: S105 - throwaway tenants in a throwaway database
LOOPBACK = "127.0.0.1"


# --- discovery and formatting (pure; unit-tested) ---------------------------------------------

def discover(directory: Path = BENCH_DIR) -> dict[str, Path]:
    """Benchmark name -> file: every `*.py` in the directory not starting with `_`."""
    if not directory.is_dir():
        return {}
    return {p.stem: p for p in sorted(directory.glob("*.py")) if not p.name.startswith("_")}


def _exec_module(key: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(key, path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"bench: cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses (and pickling) look their module up there
    spec.loader.exec_module(module)
    return module


def load_module(name: str, path: Path) -> ModuleType:
    module = _exec_module(f"careclub_bench_{name}", path)
    if not callable(getattr(module, "run", None)):
        raise SystemExit(f"bench: {path} has no `async def run(ctx) -> list[str]`")
    return module


def helper_module(name: str, directory: Path = BENCH_DIR) -> ModuleType:
    """A benchmark's helper, `bench/<name>.py` (a file starting with `_`), loaded by path once and shared by
    whoever asks (bench/ is no package)."""
    key = f"careclub_bench_{name}"
    return sys.modules[key] if key in sys.modules else _exec_module(key, directory / f"{name}.py")


def format_ratio(numerator: float, denominator: float) -> str:
    """A ratio as a plain decimal with two places ('n/a' when the baseline is zero)."""
    if denominator <= 0:
        return "n/a"
    return f"{numerator / denominator:.2f}"


def ratio_line(name: str, baseline: str, numerator: float, denominator: float) -> str:
    """`name/baseline = R`: the line every benchmark ends with."""
    return f"{name}/{baseline} = {format_ratio(numerator, denominator)}"


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending list (0 for an empty one)."""
    if not sorted_values:
        return 0.0
    rank = max(1, min(len(sorted_values), math.ceil(fraction * len(sorted_values) - 1e-9)))
    return sorted_values[rank - 1]


@dataclass
class LoadResult:
    label: str
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float] = field(repr=False, default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    timed_out: bool = False
    cpu_seconds: dict[str, float] = field(default_factory=dict)  # process group -> CPU spent during the load

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    @property
    def p50(self) -> float:
        return percentile(sorted(self.latencies_ms), 0.50)

    @property
    def p95(self) -> float:
        return percentile(sorted(self.latencies_ms), 0.95)

    @property
    def p99(self) -> float:
        return percentile(sorted(self.latencies_ms), 0.99)

    @classmethod
    def merge(cls, parts: Sequence[LoadResult]) -> LoadResult:
        """Several runs of one endpoint as one result (rps = all requests / all time spent)."""
        statuses: Counter[int] = Counter()
        cpu: Counter[str] = Counter()
        for part in parts:
            statuses.update(part.statuses)
            cpu.update(part.cpu_seconds)
        return cls(parts[0].label, sum(p.requests for p in parts), sum(p.errors for p in parts),
                   sum(p.seconds for p in parts), [ms for p in parts for ms in p.latencies_ms], dict(statuses),
                   any(p.timed_out for p in parts), dict(cpu))

    def cpu_per_request_ms(self) -> dict[str, float]:
        return {g: s * 1000 / self.requests for g, s in self.cpu_seconds.items()} if self.requests else {}

    def line(self) -> str:
        extra = f"  errors={self.errors} {dict(sorted(self.statuses.items()))}" if self.errors else ""
        cut = "  (time limit reached)" if self.timed_out else ""
        cpu = "  cpu ms/req: " + " ".join(f"{g}={ms:.3f}" for g, ms in self.cpu_per_request_ms().items()) \
            if self.cpu_seconds else ""
        return (f"{self.label:16s} rps={self.rps:9.1f}  p50={self.p50:7.2f} ms  p99={self.p99:7.2f} ms"
                f"  n={self.requests}{extra}{cut}{cpu}")


# --- the load generator ------------------------------------------------------------------------

@dataclass
class _Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class _Connection:
    """One keep-alive HTTP/1.1 connection. A hand-rolled client, because the load generator shares
    two cores with the server: httpx costs several times more CPU per request than this, which
    would flatten every ratio towards 1."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, req: _Request) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        head = [f"{req.method} {req.path} HTTP/1.1", f"host: {self.host}:{self.port}",
                f"content-length: {len(req.body)}"]
        head += [f"{k}: {v}" for k, v in req.headers.items()]
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + req.body)
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("server closed the connection")
        status = int(status_line.split(b" ", 2)[1])
        length, chunked, close = 0, False, False
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            key, _, value = line.decode("latin-1").partition(":")
            key, value = key.strip().lower(), value.strip()
            if key == "content-length":
                length = int(value)
            elif key == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
            elif key == "connection" and value.lower() == "close":
                close = True
        if chunked:
            body = b""
            while True:
                size = int((await self.reader.readline()).strip() or b"0", 16)
                if size == 0:
                    await self.reader.readline()
                    break
                body += await self.reader.readexactly(size + 2)
        else:
            body = await self.reader.readexactly(length) if length else b""
        if close:
            await self.close()
        return status, body

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except (ConnectionError, OSError):
                pass
        self.reader = self.writer = None


async def run_load(host: str, port: int, label: str, make_request: Callable[[int], _Request], *, requests: int,
                   concurrency: int, time_limit: float, expect: Sequence[int] = (200,)) -> LoadResult:
    """`requests` requests over `concurrency` connections; stops early at `time_limit` seconds."""
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise ValueError("the load generator only targets loopback addresses")
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors = 0
    next_index = 0
    deadline = time.perf_counter() + time_limit
    timed_out = False

    async def worker() -> None:
        nonlocal next_index, errors, timed_out
        conn = _Connection(host, port)
        try:
            while next_index < requests:
                if time.perf_counter() > deadline:
                    timed_out = True
                    return
                i = next_index
                next_index += 1
                req = make_request(i)
                started = time.perf_counter()
                try:
                    status, _ = await conn.request(req)
                except (ConnectionError, OSError, asyncio.IncompleteReadError, ValueError):
                    status = 0
                    await conn.close()
                latencies.append((time.perf_counter() - started) * 1000)
                statuses[status] = statuses.get(status, 0) + 1
                if status not in expect:
                    errors += 1
        finally:
            await conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(max(1, min(concurrency, requests)))))
    elapsed = time.perf_counter() - started
    return LoadResult(label, len(latencies), errors, elapsed, latencies, statuses, timed_out)


class CpuMeter:
    """CPU time (user + system) spent by the processes a request goes through, read from /proc:
    the bench server (with its workers), PostgreSQL, Redis and this load generator. Divided by the
    requests of a load it says where the two shared cores went, which the throughput alone hides.
    Where /proc is not readable it measures nothing and the lines simply omit it."""

    def __init__(self, server_pid: int | None) -> None:
        self.server_pid = server_pid
        self.tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    def snapshot(self) -> dict[str, float]:
        proc = Path("/proc")
        if self.server_pid is None or not proc.is_dir():
            return {}
        stats: dict[int, tuple[str, int, float]] = {}
        for entry in proc.iterdir():
            if not entry.name.isdigit():
                continue
            try:
                raw = (entry / "stat").read_text()
            except OSError:
                continue
            comm = raw[raw.index("(") + 1:raw.rindex(")")]
            fields = raw[raw.rindex(")") + 2:].split()
            # after the name: state ppid … utime (11) stime (12), counted from state as 0
            stats[int(entry.name)] = (comm, int(fields[1]), (int(fields[11]) + int(fields[12])) / self.tick)
        totals = {"server": 0.0, "pg": 0.0, "redis": 0.0, "load": 0.0}
        for pid, (comm, ppid, seconds) in stats.items():
            if pid == self.server_pid or ppid == self.server_pid:
                totals["server"] += seconds
            elif comm == "postgres":
                totals["pg"] += seconds
            elif comm.startswith("redis-server"):
                totals["redis"] += seconds
            elif pid == os.getpid():
                totals["load"] += seconds
        return totals

    @staticmethod
    def spent(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
        # PostgreSQL backends come and go; a group never "spends" negative time.
        return {g: max(0.0, after.get(g, 0.0) - before.get(g, 0.0)) for g in after}


# --- benchmark-only baselines (registered only on the bench server) ---------------------------

# Under /api/ like the endpoints they are compared with: same middleware path, no CSRF cookie.
BENCH_PREFIX = "/api/_bench"


@get(f"{BENCH_PREFIX}/bare", opt={"public": True, "no_transaction": True}, include_in_schema=False,
     media_type=MediaType.JSON, sync_to_thread=False)
def bench_bare() -> dict[str, bool]:
    """The framework alone: routing, middleware, serialisation; no database."""
    return {"ok": True}


@get(f"{BENCH_PREFIX}/bare_tx", opt={"public": True}, include_in_schema=False, media_type=MediaType.JSON)
async def bench_bare_tx(tenant: FromQuery[uuid.UUID]) -> dict[str, Any]:
    """The request transaction and binding the tenant; no query of its own."""
    from careclub.core.db import bind_tenant

    await bind_tenant(tenant)
    return {"ok": True}


@get(f"{BENCH_PREFIX}/bare_db", opt={"public": True}, include_in_schema=False, media_type=MediaType.JSON)
async def bench_bare_db(tenant: FromQuery[uuid.UUID]) -> dict[str, Any]:
    """What every tenant request pays: the request transaction, binding the tenant, one indexed
    query (plain asyncpg: the floor; `bare_db_piccolo` shows what Piccolo's query building adds)."""
    from careclub.core.db import bind_tenant, fetch

    await bind_tenant(tenant)
    rows = await fetch("SELECT id FROM org_unit WHERE tenant_id = $1 LIMIT 1", tenant)
    return {"ok": True, "found": bool(rows)}


@get(f"{BENCH_PREFIX}/bare_db_piccolo", opt={"public": True}, include_in_schema=False, media_type=MediaType.JSON)
async def bench_bare_db_piccolo(tenant: FromQuery[uuid.UUID]) -> dict[str, Any]:
    """`bare_db` with the query written through Piccolo, as services write it."""
    from careclub.core.db import bind_tenant
    from careclub.platform.tables import OrgUnit

    await bind_tenant(tenant)
    row = await OrgUnit.select(OrgUnit.id).where(OrgUnit.tenant_id == tenant).limit(1).first()
    return {"ok": True, "found": row is not None}


BENCH_HANDLERS = [bench_bare, bench_bare_tx, bench_bare_db, bench_bare_db_piccolo]


def create_bench_app() -> Litestar:
    """Factory of the bench server: the production app plus the two baselines."""
    from careclub.app import create_app_from_env

    app = create_app_from_env()
    for handler in BENCH_HANDLERS:
        app.register(handler)
    return app


# --- the context a benchmark receives ----------------------------------------------------------

@dataclass
class Endpoint:
    """One endpoint to load. The body of request i is `json_body`, or `json_bodies[i]` (e.g. one fresh
    QR token per request: give at least requests + warm-up bodies; warm-up takes the indexes after
    the measured ones), or `make_request(i) -> (path, headers, body bytes)` decides everything.
    Answers outside `expect` count as errors."""

    label: str
    path: str
    method: str = "GET"
    headers: dict[str, str] | None = None
    json_body: Any = None
    json_bodies: Sequence[Any] | None = None
    make_request: Callable[[int], tuple[str, dict[str, str], bytes]] | None = None
    expect: Sequence[int] = (200,)

    def build(self, i: int) -> _Request:
        base = {"accept": "application/json", **(self.headers or {})}
        if self.make_request is not None:
            path, extra, body = self.make_request(i)
            return _Request(self.method, path, {**base, **extra}, body)
        payload = self.json_bodies[i % len(self.json_bodies)] if self.json_bodies else self.json_body
        if payload is None:
            return _Request(self.method, self.path, base, b"")
        return _Request(self.method, self.path, {**base, "content-type": "application/json"},
                        json.dumps(payload).encode())


def _shifted(endpoint: Endpoint, offset: int) -> Callable[[int], _Request]:
    return lambda i: endpoint.build(offset + i)


@dataclass
class BenchTenant:
    slug: str
    tenant_id: uuid.UUID
    token: str
    email: str
    password: str

    @property
    def headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"}


@dataclass
class BenchContext:
    settings: Settings
    infra: Infra
    base_url: str
    args: list[str]
    requests: int = 2000
    concurrency: int = 16
    time_limit: float = 60.0
    warmup: int = 200
    workers: int = 1
    server_pid: int | None = None
    client: httpx.AsyncClient = field(init=False)
    tenants: list[BenchTenant] = field(default_factory=list)
    sessions: list[str] = field(default_factory=list)  # page sessions it signed in (ended at the end)

    def __post_init__(self) -> None:
        self.client = httpx.AsyncClient(base_url=self.base_url, timeout=30)

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).hostname or LOOPBACK

    @property
    def port(self) -> int:
        return urlsplit(self.base_url).port or 80

    def describe(self) -> str:
        return (f"server: uvicorn, {self.workers} worker(s), {self.base_url}; load: {self.requests} requests "
                f"per endpoint over {self.concurrency} keep-alive connections (after {self.warmup} warm-up), "
                f"at most {self.time_limit:.0f} s each")

    async def signup(self, slug: str | None = None, *, company: str | None = None) -> BenchTenant:
        """A fresh tenant through `POST /api/v1/signup`; its admin's token comes with it."""
        slug = slug or f"bench-{uuid.uuid4().hex[:10]}"
        email = f"admin@{slug}.bench"
        r = await self.client.post("/api/v1/signup", json={"company": company or f"Bench {slug}", "slug": slug,
                                                           "email": email, "password": BENCH_PASSWORD})
        if r.status_code != 201:
            raise RuntimeError(f"bench sign-up failed: {r.status_code} {r.text}")
        data = r.json()
        tenant = BenchTenant(slug, uuid.UUID(data["tenant"]["id"]), data["token"], email, BENCH_PASSWORD)
        self.tenants.append(tenant)
        return tenant

    async def login(self, slug: str, email: str | None = None, password: str = BENCH_PASSWORD) -> BenchTenant:
        """A fresh bearer token for a tenant signed up earlier (a reused `BENCH_DATABASE`), through
        `POST /api/v1/auth/token` as its admin (or `email`)."""
        email = email or f"admin@{slug}.bench"
        r = await self.client.post("/api/v1/auth/token", json={"tenant": slug, "email": email, "password": password})
        if r.status_code != 200:
            raise RuntimeError(f"bench login to {slug} as {email} failed: {r.status_code} {r.text}")
        r_me = await self.client.get("/api/v1/me", headers={"authorization": f"Bearer {r.json()['token']}"})
        if r_me.status_code != 200:
            raise RuntimeError(f"bench login to {slug}: /api/v1/me answered {r_me.status_code} {r_me.text}")
        tenant = BenchTenant(slug, uuid.UUID(r_me.json()["tenant"]["id"]), r.json()["token"], email, password)
        self.tenants.append(tenant)
        return tenant

    async def signup_or_login(self, slug: str, *, company: str | None = None) -> tuple[BenchTenant, bool]:
        """The tenant `slug`: signed up now (True), or, when the slug is taken already (a reused
        database), its admin logged in again (False)."""
        r = await self.client.post("/api/v1/signup", json={"company": company or f"Bench {slug}", "slug": slug,
                                                           "email": f"admin@{slug}.bench", "password": BENCH_PASSWORD})
        if r.status_code == 409:
            return await self.login(slug), False
        if r.status_code != 201:
            raise RuntimeError(f"bench sign-up failed: {r.status_code} {r.text}")
        data = r.json()
        tenant = BenchTenant(slug, uuid.UUID(data["tenant"]["id"]), data["token"], f"admin@{slug}.bench",
                             BENCH_PASSWORD)
        self.tenants.append(tenant)
        return tenant, True

    async def page_session(self, slug: str, email: str, password: str = BENCH_PASSWORD) -> dict[str, str]:
        """Headers of a signed-in browser for the HTML pages (they take the session cookie, not bearer
        tokens): the login form is opened and posted with its CSRF token, as a person would."""
        async with httpx.AsyncClient(base_url=self.base_url, timeout=30) as browser:
            form = await browser.get("/login", headers={"accept": "text/html"})
            match = re.search(r'name="_csrf_token" value="([^"]+)"', form.text)
            csrf = form.cookies.get("cc_csrf")
            if form.status_code != 200 or match is None or csrf is None:
                raise RuntimeError(f"bench: the login form answered {form.status_code} without a CSRF token")
            browser.cookies.clear()  # sent by hand below: a Secure cookie would not be sent back over http
            r = await browser.post("/login", headers={"cookie": f"cc_csrf={csrf}", "accept": "text/html"},
                                   data={"_csrf_token": html.unescape(match.group(1)), "tenant": slug, "email": email,
                                         "password": password})
            session = r.cookies.get("cc_session")
            if r.status_code != 303 or not session:
                raise RuntimeError(f"bench: signing in to the pages as {email} answered {r.status_code}")
        self.sessions.append(session)
        return {"cookie": f"cc_session={session}", "accept": "text/html"}

    async def load(self, label: str, path: str, *, method: str = "GET", headers: dict[str, str] | None = None,
                   json_body: Any = None, json_bodies: Sequence[Any] | None = None,
                   make_request: Callable[[int], tuple[str, dict[str, str], bytes]] | None = None,
                   requests: int | None = None, concurrency: int | None = None, warmup: int | None = None,
                   expect: Sequence[int] = (200,)) -> LoadResult:
        """Load-test one endpoint on its own (see `Endpoint` for the arguments). Prefer `compare`
        for numbers that will be divided by each other."""
        endpoint = Endpoint(label, path, method=method, headers=headers, json_body=json_body,
                            json_bodies=json_bodies, make_request=make_request, expect=expect)
        return (await self.compare([endpoint], rounds=1, requests=requests, concurrency=concurrency,
                                   warmup=warmup))[label]

    async def compare(self, endpoints: Sequence[Endpoint], *, rounds: int = 4, requests: int | None = None,
                      concurrency: int | None = None, warmup: int | None = None) -> dict[str, LoadResult]:
        """Load-test several endpoints *interleaved*: `rounds` rounds, each running every endpoint
        for requests/rounds requests (in a rotated order), so a neighbour's burst of CPU on a shared
        machine slows all of them alike instead of one. Answers label -> the merged result."""
        requests = requests or self.requests
        warmup = self.warmup if warmup is None else warmup
        per_round = max(1, requests // rounds)
        for ep in endpoints:
            if warmup:
                await run_load(self.host, self.port, f"{ep.label} warm-up",
                               _shifted(ep, per_round * rounds), requests=warmup,
                               concurrency=min(self.concurrency, warmup), time_limit=self.time_limit,
                               expect=ep.expect)
        parts: dict[str, list[LoadResult]] = {ep.label: [] for ep in endpoints}
        meter = CpuMeter(self.server_pid)
        for r in range(rounds):
            order = list(endpoints[r % len(endpoints):]) + list(endpoints[:r % len(endpoints)])
            for ep in order:
                offset = r * per_round
                before = meter.snapshot()
                part = await run_load(
                    self.host, self.port, ep.label, _shifted(ep, offset),
                    requests=per_round, concurrency=concurrency or self.concurrency, time_limit=self.time_limit,
                    expect=ep.expect)
                part.cpu_seconds = meter.spent(before, meter.snapshot())
                parts[ep.label].append(part)
        return {label: LoadResult.merge(results) for label, results in parts.items()}

    def bare_endpoint(self) -> Endpoint:
        """Baseline: the framework alone (no database)."""
        return Endpoint("bare", f"{BENCH_PREFIX}/bare")

    def bare_db_endpoint(self, tenant: BenchTenant, variant: str = "bare_db") -> Endpoint:
        """Baseline: the request's tenant transaction and one indexed query. `variant` may also be
        "bare_tx" (no query) or "bare_db_piccolo" (the query through Piccolo)."""
        return Endpoint(variant, f"{BENCH_PREFIX}/{variant}?tenant={tenant.tenant_id}")

    async def bare(self) -> LoadResult:
        return await self.load("bare", f"{BENCH_PREFIX}/bare")

    async def bare_db(self, tenant: BenchTenant) -> LoadResult:
        return await self.load("bare_db", f"{BENCH_PREFIX}/bare_db?tenant={tenant.tenant_id}")

    @staticmethod
    def ratio(name: str, baseline: str, result: LoadResult, base: LoadResult) -> str:
        """`name/baseline = R` with R the throughput ratio (requests per second)."""
        return ratio_line(name, baseline, result.rps, base.rps)


# --- the runner --------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


def _parse_extra(extra: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="careclub bench … --extra", add_help=False)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds per measured endpoint")
    parser.add_argument("--profile", metavar="FILE", help="run the server (1 worker) under cProfile, write FILE, "
                        "and print the 30 most expensive functions by own and by cumulative time")
    args, _ = parser.parse_known_args(extra)
    return args


def _server_env(settings: Settings, infra: Infra) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"DATABASE_URL": infra.app_dsn, "DATABASE_OWNER_URL": infra.owner_dsn, "REDIS_URL": infra.redis_url,
                "DATA_DIR": str(settings.data_dir), "SECRET_KEY": settings.secret_key,
                "CARECLUB_DEMO": "0", "LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "WARNING")})
    return env


def _start_server(settings: Settings, infra: Infra, port: int, workers: int,
                  profile: str | None = None) -> subprocess.Popen[bytes]:
    prefix = ["-m", "cProfile", "-o", profile] if profile else []
    return subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, *prefix, "-m", "uvicorn", "--factory", "careclub.core.bench:create_bench_app",
         "--host", LOOPBACK, "--port", str(port), "--workers", str(workers),
         "--no-access-log", "--log-level", "warning"],
        env=_server_env(settings, infra), cwd=PROJECT_ROOT)


def _stop_server(server: subprocess.Popen[bytes], *, profiled: bool = False) -> None:
    # uvicorn re-raises the signal it stopped on; SIGTERM would then kill the process before
    # cProfile writes its file, while SIGINT becomes a KeyboardInterrupt that cProfile survives.
    server.send_signal(signal.SIGINT if profiled else signal.SIGTERM)
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=5)


async def _wait_healthy(base_url: str, server: subprocess.Popen[bytes], limit: float = 60) -> None:
    deadline = time.monotonic() + limit
    async with httpx.AsyncClient(base_url=base_url, timeout=2) as client:
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise RuntimeError(f"bench server exited with {server.returncode}")
            try:
                if (await client.get("/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError("bench server did not become healthy in time")


async def _drop_database(infra: Infra) -> None:
    import asyncpg

    conn = await asyncpg.connect(dsn_with(infra.owner_dsn, database="postgres"))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{infra.database_name}" WITH (FORCE)')
    finally:
        await conn.close()


async def _run(modules: list[tuple[str, ModuleType]], settings: Settings, extra: list[str],
               emit: Callable[[str], None]) -> int:
    from careclub.core import redis as redis_mod
    from careclub.core.db import DB
    from careclub.core.migrate import migrate

    opts = _parse_extra(extra)
    database, reused = bench_database()
    keep = reused or bool(os.environ.get("KEEP_BENCH_DB"))
    infra = await resolve(settings, database=database)
    server: subprocess.Popen[bytes] | None = None
    ctx: BenchContext | None = None
    failures = 0
    try:
        await migrate(infra.owner_dsn, infra.app_dsn)
        port = _free_port()
        if opts.profile:
            opts.workers = 1  # cProfile sees only its own process
        server = _start_server(settings, infra, port, opts.workers, opts.profile)
        base_url = f"http://{LOOPBACK}:{port}"
        await _wait_healthy(base_url, server)
        DB.configure(infra.app_dsn, min_size=1, max_size=4)
        await DB.start_connection_pool()
        redis_mod.connect(infra.redis_url)
        ctx = BenchContext(settings, infra, base_url, extra, requests=opts.requests, concurrency=opts.concurrency,
                           time_limit=opts.time_limit, warmup=opts.warmup, workers=opts.workers,
                           server_pid=server.pid)
        emit(f"bench database {database}{' (BENCH_DATABASE: reused, kept)' if reused else ''}; {ctx.describe()}")
        for name, module in modules:
            emit(f"\n== {name} ==")
            try:
                lines = await module.run(ctx)
            except Exception as exc:  # report and go on to the next benchmark
                failures += 1
                emit(f"{name}: FAILED: {type(exc).__name__}: {exc}")
                if os.environ.get("BENCH_TRACEBACK"):
                    emit("".join(traceback.format_exception(exc)))
                continue
            for line in lines:
                emit(line)
    finally:
        if ctx is not None:
            await ctx.client.aclose()
            await _forget_tenants(ctx)
        if DB.pool is not None:
            await DB.close_connection_pool()
        await redis_mod.close()
        if server is not None:
            _stop_server(server, profiled=bool(opts.profile))
            if opts.profile:
                emit(_profile_summary(opts.profile))
        if keep:
            emit(f"bench database {database} kept: reuse it with BENCH_DATABASE={database}")
        else:
            await _drop_database(infra)
    return 1 if failures else 0


def bench_database() -> tuple[str, bool]:
    """The database of this run and whether it is one to reuse: `BENCH_DATABASE=<name>` names an
    existing one (migrated again, which is idempotent, and never dropped), else a fresh random name."""
    named = os.environ.get("BENCH_DATABASE", "").strip()
    if named:
        if not all(ch.isalnum() or ch == "_" for ch in named):
            raise SystemExit(f"bench: BENCH_DATABASE={named!r} is not a plain database name (letters, digits, _)")
        return named, True
    return f"careclub_bench_{secrets.token_hex(4)}", False


def _profile_summary(path: str, top: int = 30) -> str:
    import io
    import pstats

    if not Path(path).exists():
        return f"(no profile written to {path}: did the server stop cleanly?)"
    out = io.StringIO()
    stats = pstats.Stats(path, stream=out).strip_dirs()
    # Own time finds the hot spots; cumulative time shows which layer they sit under.
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return f"\n== server profile ({path}; open with `python -m pstats {path}`) ==\n{out.getvalue()}"


async def _forget_tenants(ctx: BenchContext) -> None:
    """The bench's Redis keys (rate limits, replay sets…) live under its tenants' namespaces; its page
    sessions under their own."""
    from careclub.core import sessions
    from careclub.core.redis import redis

    try:
        client = redis()
    except RuntimeError:
        return
    for session in ctx.sessions:
        await sessions.destroy(session)
    for tenant in ctx.tenants:
        keys = [k async for k in client.scan_iter(match=f"t:{tenant.tenant_id}:*")]
        if keys:
            await client.delete(*keys)


def run_bench(names: list[str], settings: Settings, extra: list[str],
              emit: Callable[[str], None] | None = None) -> int:
    """Run the named benchmarks (all of them when none is named); non-zero if any failed."""
    emit = emit or (lambda line: print(line, flush=True))
    available = discover()
    unknown = [n for n in names if n not in available]
    if unknown:
        print(f"bench: unknown benchmark(s) {', '.join(unknown)}; available: {', '.join(available) or 'none'}",
              file=sys.stderr)
        return 2
    chosen = names or list(available)
    if not chosen:
        print(f"bench: no benchmarks in {BENCH_DIR}", file=sys.stderr)
        return 2
    modules = [(n, load_module(n, available[n])) for n in chosen]
    return asyncio.run(_run(modules, settings, extra, emit))


Runner = Callable[[BenchContext], Awaitable[list[str]]]
