"""create_app(settings): plugins, routers, exception mapping — nothing else."""

from __future__ import annotations

from litestar import Litestar
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import State
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template import TemplateConfig

from careclub import __version__
from careclub.approvals import api as approvals_api
from careclub.approvals import views as approvals_views
from careclub.clubs import api as clubs_api
from careclub.clubs import views as clubs_views
from careclub.core import i18n
from careclub.core import redis as redis_mod
from careclub.core.db import DB
from careclub.core.health import health
from careclub.core.http import EXCEPTION_HANDLERS
from careclub.core.infra import Infra, resolve
from careclub.core.middleware import request_context
from careclub.platform import api as platform_api
from careclub.platform import views as platform_views
from careclub.platform import views_admin as platform_views_admin
from careclub.platform.permissions import UNGUARDED, check_every_route_is_guarded, guard
from careclub.settings import PROJECT_ROOT, Settings
from careclub.web import docs, templating


def create_app(settings: Settings | None = None, infra: Infra | None = None) -> Litestar:
    settings = settings or Settings.from_env()
    state = State({"settings": settings, "infra": infra})

    async def on_startup(app: Litestar) -> None:
        nonlocal infra
        if infra is None:
            infra = await resolve(settings, provision_roles=False)
            app.state.infra = infra
        DB.configure(infra.app_dsn, min_size=1, max_size=settings.db_pool_max)
        await DB.start_connection_pool()
        redis_mod.connect(infra.redis_url)
        i18n.load()

    async def on_shutdown(app: Litestar) -> None:
        await DB.close_connection_pool()
        await redis_mod.close()

    app = Litestar(
        route_handlers=[
            health,
            *platform_api.ROUTES,
            *platform_views.ROUTES,
            *platform_views_admin.ROUTES,
            *approvals_api.ROUTES,
            *approvals_views.ROUTES,
            *clubs_api.ROUTES,
            *clubs_views.ROUTES,
            create_static_files_router(path="/static", directories=[PROJECT_ROOT / "web" / "static"],
                                       opt={"public": True, "no_transaction": True}, include_in_schema=False),
        ],
        guards=[guard],
        middleware=[DefineMiddleware(request_context)],
        exception_handlers=EXCEPTION_HANDLERS,
        csrf_config=CSRFConfig(secret=settings.secret_key, cookie_name="cc_csrf", header_name="x-csrftoken",
                               cookie_secure=settings.cookie_secure, cookie_samesite="lax",
                               exclude=["/api/", "/webhooks/", "/health", "/schema", "/static"]),
        template_config=TemplateConfig(directory=PROJECT_ROOT / "web" / "templates", engine=JinjaTemplateEngine,
                                       engine_callback=templating.configure),
        openapi_config=OpenAPIConfig(title="careclub API", version=__version__, path="/schema",
                                     render_plugins=docs.render_plugins(), openapi_router=docs.openapi_router(),
                                     use_handler_docstrings=True),
        on_startup=[on_startup],
        on_shutdown=[on_shutdown],
        state=state,
        debug=False,
        logging_config=None,  # core/logging.py sets up JSON lines; Litestar must not replace the root handler
    )
    check_every_route_is_guarded(app, UNGUARDED)
    return app


def create_app_from_env() -> Litestar:
    """Factory for `uvicorn --factory careclub.app:create_app_from_env` (production workers)."""
    from careclub.core import logging as app_logging

    settings = Settings.from_env()
    app_logging.setup(settings.log_level, settings.log_json)
    return create_app(settings)
