"""The `careclub` command: serve, worker, migrate, tenant apply, doctor, bench."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from careclub.core import logging as app_logging
from careclub.core.infra import Infra, resolve
from careclub.settings import PROJECT_ROOT, Settings

log = logging.getLogger("careclub.cli")

DEMO_PASSWORD = "careclub-demo-2026"  # noqa: S105 - the documented demo password, loaded only in demo mode


async def prepare(settings: Settings, *, migrate_db: bool = True) -> Infra:
    """Start (if embedded) and provision the servers, then migrate."""
    from careclub.core.migrate import migrate

    infra = await resolve(settings)
    if migrate_db and not infra.owner_dsn:
        # DATABASE_URL alone, naming the app role (a production app or worker): migrating is the
        # migrator's job, which has DATABASE_OWNER_URL.
        log.warning("not migrating: DATABASE_URL is the app role and DATABASE_OWNER_URL is not set")
    elif migrate_db:
        await migrate(infra.owner_dsn, infra.app_dsn)
    return infra


def stripe_sandbox(settings: Settings, *, deliver: bool) -> Any:
    """The Stripe sandbox of a process without a Stripe key, keeping its objects under DATA_DIR."""
    from careclub.payments.sandboxing import make_sandbox

    if not settings.stripe_sandbox:
        return None
    return make_sandbox(settings, deliver=deliver, state_file=settings.data_dir / "stripe-sandbox.json")


async def apply_tenant_files(infra: Infra, files: list[Path], *, demo: bool, settings: Settings | None = None,
                             sandbox: Any = None) -> list[str]:
    from careclub.core import redis as redis_mod
    from careclub.core.db import DB
    from careclub.payments import gateway
    from careclub.platform.tenant_file import apply_file

    settings = settings or Settings.from_env()
    gateway.configure(settings, sandbox if sandbox is not None else stripe_sandbox(settings, deliver=False))
    DB.configure(infra.app_dsn, min_size=1, max_size=2)
    await DB.start_connection_pool()
    redis_mod.connect(infra.redis_url)
    lines = []
    try:
        for path in files:
            report = await apply_file(path, demo=demo)
            lines.append(report.summary())
    finally:
        await DB.close_connection_pool()
        await redis_mod.close()
    return lines


def print_demo_logins(files: list[Path]) -> None:
    """What a newcomer types on the sign-in page: the company short name, an email, the password."""
    import tomllib

    rows = []
    for path in files:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        slug = data.get("tenant", {}).get("slug", path.stem)
        demo = data.get("demo", {})
        for user in demo.get("users", []):
            rows.append((slug, user.get("email", ""), user.get("name", "")))
    if not rows:
        return
    print(f"\ndemo logins, all with password {DEMO_PASSWORD} (sign in at /login):", flush=True)
    print(f"  {'company short name':26s} {'email':44s} who", flush=True)
    for slug, email, name in rows:
        print(f"  {slug:26s} {email:44s} {name}", flush=True)


def _worker_env(infra: Infra, settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"DATABASE_URL": infra.app_dsn, "DATABASE_OWNER_URL": infra.owner_dsn, "REDIS_URL": infra.redis_url})
    if settings.stripe_sandbox and not settings.stripe_api_base:
        env["STRIPE_API_BASE"] = f"{settings.site_url}/_sandbox/stripe"
    return env


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from careclub.app import create_app

    infra = asyncio.run(prepare(settings))
    # Without a Stripe key members pay through the sandbox served here, which delivers its signed events
    # to this server's /webhooks/stripe; the worker reaches it over HTTP.
    sandbox = stripe_sandbox(settings, deliver=True)
    if args.apply_tenants:
        files = sorted((PROJECT_ROOT / "tenants").glob("*.toml"))
        # One line per tenant here; `careclub tenant apply` lists every change.
        for summary in asyncio.run(apply_tenant_files(infra, files, demo=settings.demo, settings=settings,
                                                      sandbox=sandbox)):
            print(summary.splitlines()[0], flush=True)
    worker = None
    if args.with_worker:
        worker = subprocess.Popen([sys.executable, "-m", "careclub.cli", "worker"], env=_worker_env(infra, settings))
    if settings.demo:
        print_demo_logins(sorted((PROJECT_ROOT / "tenants").glob("*.toml")))
    url = f"http://{settings.host}:{settings.port}"
    print(f"\ncareclub is serving on {url}  (API docs: {url}/schema/swagger)\n", flush=True)
    # uvicorn re-raises a SIGTERM once it has shut down gracefully; with Python's default handler
    # that would end the process on the spot, skipping the `finally` below and the atexit hooks
    # that stop the embedded PostgreSQL and Redis. Raising SystemExit lets both run.
    signal.signal(signal.SIGTERM, _exit_quietly)
    try:
        uvicorn.run(create_app(settings, infra, sandbox), host=settings.host, port=settings.port, log_config=None,
                    access_log=False, proxy_headers=True)
    finally:
        if worker is not None:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(timeout=10)
            except subprocess.TimeoutExpired:
                worker.kill()
    return 0


def _exit_quietly(signum: int, frame: object) -> None:
    raise SystemExit(0)


def configure_worker_process(settings: Settings) -> None:
    """What the app configures at start-up, a worker of its own needs too: Stripe (a webhook's account.updated
    reads the account back; refunds) — without a key, the sandbox the app serves, over HTTP (STRIPE_API_BASE) —
    and the attachments' storage."""
    from careclub.core import storage as file_storage
    from careclub.payments import gateway

    gateway.configure(settings)
    file_storage.configure(file_storage.from_url(settings.storage_url, settings.data_dir / "attachments"))


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    from careclub.jobs.queue import make_worker

    async def run() -> None:
        infra = await resolve(settings, provision_roles=False)
        configure_worker_process(settings)
        worker = make_worker(infra, concurrency=args.concurrency)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, lambda: asyncio.ensure_future(worker.stop()))
        print("careclub worker started", flush=True)
        await worker.start()

    asyncio.run(run())
    return 0


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    out: list[str] = []

    async def run() -> None:
        from careclub.core.migrate import migrate

        infra = await resolve(settings)
        out.append(await migrate(infra.owner_dsn, infra.app_dsn))

    asyncio.run(run())
    print(out[0].strip() or "migrations: nothing to do")
    return 0


def cmd_tenant_apply(args: argparse.Namespace, settings: Settings) -> int:
    from careclub.core.errors import AppError

    demo = settings.demo or args.demo
    try:
        infra = asyncio.run(prepare(settings))
        lines = asyncio.run(apply_tenant_files(infra, [Path(f) for f in args.files], demo=demo))
    except AppError as exc:
        print(f"refused: {exc.message}", file=sys.stderr)
        return 2
    for line in lines:
        print(line)
    return 0


def cmd_doctor(args: argparse.Namespace, settings: Settings) -> int:
    from careclub.core.doctor import run_doctor

    return asyncio.run(run_doctor(settings))


def cmd_bench(args: argparse.Namespace, settings: Settings) -> int:
    from careclub.core.bench import run_bench

    return run_bench(args.names, settings, extra=args.extra)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="careclub", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="migrate and serve the web app")
    serve.add_argument("--apply-tenants", action="store_true", help="apply every tenants/*.toml first")
    serve.add_argument("--with-worker", action="store_true", help="also run the job worker")
    serve.set_defaults(func=cmd_serve)
    worker = sub.add_parser("worker", help="run the job worker")
    worker.add_argument("--concurrency", type=int, default=4)
    worker.set_defaults(func=cmd_worker)
    sub.add_parser("migrate", help="create roles if allowed, run migrations, grant the app role").set_defaults(
        func=cmd_migrate)
    tenant = sub.add_parser("tenant", help="tenants as code")
    tenant_sub = tenant.add_subparsers(dest="tenant_command", required=True)
    apply = tenant_sub.add_parser("apply", help="create or update the tenants the TOML files describe")
    apply.add_argument("files", nargs="+")
    apply.add_argument("--demo", action="store_true", help="also load the demo users")
    apply.set_defaults(func=cmd_tenant_apply)
    sub.add_parser("doctor", help="print the configuration in use and check it").set_defaults(func=cmd_doctor)
    bench = sub.add_parser("bench", help="run benchmarks from bench/ and print their ratios")
    bench.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    bench.add_argument("--extra", nargs=argparse.REMAINDER, default=[], help="arguments passed to the benchmark")
    bench.set_defaults(func=cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = Settings.from_env()
    app_logging.setup(settings.log_level, settings.log_json)
    result: Any = args.func(args, settings)
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
