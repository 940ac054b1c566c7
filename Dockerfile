# careclub: one image for the web app, the job worker and the one-shot migrator.
#   docker build -t careclub .
#   docker compose up -d          (see docker-compose.yml and docs/deployment.md)
#
# The app reads its templates, static files, translations and migrations from the source tree
# (settings.PROJECT_ROOT is the repository root), so the tree lives at /app and the package is
# installed in editable mode on top of it.

FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DATA_DIR=/app/.data \
    HOST=0.0.0.0 \
    PORT=8000 \
    LOG_JSON=1 \
    WEB_CONCURRENCY=4

WORKDIR /app

# Dependencies first, in their own layer: it is rebuilt only when pyproject.toml changes. A stub
# package lets pip resolve and install everything `careclub` depends on before the code arrives.
COPY pyproject.toml README.md ./
RUN mkdir -p src/careclub \
    && echo '__version__ = "0"' > src/careclub/__init__.py \
    && pip install --upgrade pip \
    && pip install -e . \
    && rm -rf src

# The code, templates, vendored assets, translations, migrations and example tenants.
COPY src ./src
COPY web ./web
COPY migrations ./migrations
COPY tenants ./tenants
COPY bench ./bench
COPY babel.cfg ./
# Re-register the real package (same editable path; no dependency is downloaded again).
RUN pip install --no-deps -e . \
    && python -c "import careclub.app, careclub.cli" \
    && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin careclub \
    && mkdir -p /app/.data && chown careclub /app/.data

USER careclub
EXPOSE 8000

# Liveness of the web app: /health checks PostgreSQL and Redis and answers 503 when either fails.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; sys.exit(0 if urllib.request.urlopen(f\"http://127.0.0.1:{os.environ.get('PORT', '8000')}/health\", timeout=4).status == 200 else 1)"]

# The web app: uvicorn with $WEB_CONCURRENCY worker processes (uvicorn reads that variable).
# The app logs every request itself as JSON, so uvicorn's access log is off. Forwarded headers
# are trusted from the address in FORWARDED_ALLOW_IPS (uvicorn's variable): set it to the load
# balancer's address, or the per-address login rate limit sees only the balancer.
CMD ["uvicorn", "--factory", "careclub.app:create_app_from_env", "--host", "0.0.0.0", "--port", "8000", \
     "--proxy-headers", "--no-access-log", "--timeout-graceful-shutdown", "20"]
