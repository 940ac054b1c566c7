"""Typed settings read from the environment once, at start-up."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw else default


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str | None = None
    """PostgreSQL server. Either a role that may create roles (the set-up then creates and uses
    `careclub_owner` and `careclub_app`), or, with DATABASE_OWNER_URL, the app role itself.
    Unset: an embedded PostgreSQL is started under `data_dir`."""

    database_owner_url: str | None = None
    """Optional: the role that owns the schema and runs migrations (production)."""

    redis_url: str | None = None
    """Redis server (`redis://` or `unix://`). Unset: an embedded Redis under `data_dir`."""

    data_dir: Path = field(default_factory=lambda: PROJECT_ROOT / ".data")
    """Where the embedded servers and the generated development secret live."""

    secret_key: str = ""
    """Signs CSRF tokens and derives encryption keys. Unset: generated once into data_dir."""

    host: str = "127.0.0.1"
    """Interface `careclub serve` binds."""

    port: int = 8000
    """Port `careclub serve` binds (`PORT`)."""

    demo: bool = False
    """Load the demo users declared in tenant files (`make run` turns this on)."""

    cookie_secure: bool = False
    """Mark session cookies `Secure`; turn on whenever the site is served over https."""

    session_idle_minutes: int = 120
    """A web session ends after this long without a request."""

    session_absolute_hours: int = 12
    """A web session ends this long after login, however active."""

    api_token_hours: int = 12
    """Lifetime of a token issued by `POST /api/v1/auth/token`."""

    invite_hours: int = 72
    """How long a staff invitation link stays valid."""

    login_failures_per_account: int = 5
    """Failed logins allowed per account within `login_window_seconds` before 429."""

    login_failures_per_address: int = 20
    """Failed logins allowed per client address within `login_window_seconds` before 429."""

    login_window_seconds: int = 900
    """The sliding window of the login rate limits."""

    joins_per_address: int = 10
    """Public join-page submissions allowed per client address within `join_window_seconds` before 429."""

    join_window_seconds: int = 3600
    """The window of the join-page rate limit."""

    default_locale: str = "zh_CN"
    """Language of pages when neither the user, the tenant nor the browser says otherwise."""

    log_level: str = "INFO"
    """Root log level."""

    log_json: bool = True
    """Emit one JSON object per log line (turn off for human-readable development logs)."""

    db_pool_max: int = 10
    """Connections per process in the application pool."""

    stripe_secret_key: str = ""
    """The platform's Stripe secret key. Empty: the built-in Stripe sandbox (demo, tests, offline)."""

    stripe_webhook_secret: str = ""
    """Signing secret of the platform account's webhook endpoint (`whsec_…`). Sandbox: derived."""

    stripe_connect_webhook_secret: str = ""
    """Signing secret of the Connect endpoint, which carries the companies' accounts' events. Sandbox: derived."""

    stripe_api_base: str = ""
    """Where the Stripe library sends its calls. Empty: Stripe itself, or the sandbox in this process.
    `careclub serve` hands its worker the sandbox's address here."""

    stripe_account_country: str = "HK"
    """Country of the companies' Stripe accounts (Stripe opens none in mainland China; Hong Kong serves
    Chinese companies, and takes CNY, WeChat Pay and Alipay)."""

    public_url: str = ""
    """The site's address as members' browsers reach it (payment return pages). Empty: http://HOST:PORT."""

    webhook_tolerance_seconds: int = 300
    """A Stripe event signed longer ago than this is refused (400), and Stripe retries it later."""

    smtp_url: str = ""
    """SMTP server for outgoing mail; empty keeps mail in the outbox table."""

    storage_url: str = ""
    """Where attachments are kept (`STORAGE_URL`). Empty: `data_dir`/attachments, for one app host. Several
    app hosts share an S3-compatible bucket:
    `s3://ACCESS_KEY:SECRET_KEY@host[:port]/bucket?region=cn-north-1&secure=true` (`secure=false`: plain
    http, e.g. a MinIO inside the network; region defaults to us-east-1). The keys are URL-encoded (a `/` in
    the secret as `%2F`); left out, they come from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY. A malformed
    one stops start-up."""

    @property
    def stripe_sandbox(self) -> bool:
        return not self.stripe_secret_key

    @property
    def site_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"

    @classmethod
    def from_env(cls) -> Settings:
        data_dir = Path(os.environ.get("DATA_DIR") or PROJECT_ROOT / ".data").resolve()
        return cls(
            database_url=os.environ.get("DATABASE_URL") or None,
            database_owner_url=os.environ.get("DATABASE_OWNER_URL") or None,
            redis_url=os.environ.get("REDIS_URL") or None,
            data_dir=data_dir,
            secret_key=os.environ.get("SECRET_KEY") or _dev_secret(data_dir),
            host=os.environ.get("HOST", "127.0.0.1"),
            port=_env_int("PORT", 8000),
            demo=_env_bool("CARECLUB_DEMO", False),
            cookie_secure=_env_bool("COOKIE_SECURE", False),
            session_idle_minutes=_env_int("SESSION_IDLE_MINUTES", 120),
            session_absolute_hours=_env_int("SESSION_ABSOLUTE_HOURS", 12),
            api_token_hours=_env_int("API_TOKEN_HOURS", 12),
            invite_hours=_env_int("INVITE_HOURS", 72),
            login_failures_per_account=_env_int("LOGIN_FAILURES_PER_ACCOUNT", 5),
            login_failures_per_address=_env_int("LOGIN_FAILURES_PER_ADDRESS", 20),
            login_window_seconds=_env_int("LOGIN_WINDOW_SECONDS", 900),
            joins_per_address=_env_int("JOINS_PER_ADDRESS", 10),
            join_window_seconds=_env_int("JOIN_WINDOW_SECONDS", 3600),
            default_locale=os.environ.get("DEFAULT_LOCALE", "zh_CN"),
            log_level=os.environ.get("LOG_LEVEL", "INFO"),
            log_json=_env_bool("LOG_JSON", True),
            db_pool_max=_env_int("DB_POOL_MAX", 10),
            stripe_secret_key=os.environ.get("STRIPE_SECRET_KEY", ""),
            stripe_webhook_secret=os.environ.get("STRIPE_WEBHOOK_SECRET", ""),
            stripe_connect_webhook_secret=os.environ.get("STRIPE_CONNECT_WEBHOOK_SECRET", ""),
            stripe_api_base=os.environ.get("STRIPE_API_BASE", ""),
            stripe_account_country=os.environ.get("STRIPE_ACCOUNT_COUNTRY", "HK"),
            public_url=os.environ.get("PUBLIC_URL", "").rstrip("/"),
            webhook_tolerance_seconds=_env_int("WEBHOOK_TOLERANCE_SECONDS", 300),
            smtp_url=os.environ.get("SMTP_URL", ""),
            storage_url=_storage_url(),
        )


def _storage_url() -> str:
    """STORAGE_URL, refused at start-up (naming it) when it cannot be used."""
    from careclub.core.storage import StorageUrlError, parse_url

    url = os.environ.get("STORAGE_URL", "").strip()
    if url:
        try:
            parse_url(url)
        except StorageUrlError as exc:
            raise SystemExit(f"careclub: {exc}") from None
    return url


def _dev_secret(data_dir: Path) -> str:
    """A development secret that survives restarts; production sets SECRET_KEY."""
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    path.write_text(value)
    path.chmod(0o600)
    return value
