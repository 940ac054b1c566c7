"""create_app(settings): plugins, routers, exception mapping — nothing else."""

from __future__ import annotations

from litestar import Litestar
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import State
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.routes import HTTPRoute
from litestar.static_files import create_static_files_router
from litestar.template import TemplateConfig

from careclub import __version__
from careclub.approvals import api as approvals_api
from careclub.approvals import views as approvals_views
from careclub.catalogue import api as catalogue_api
from careclub.catalogue import api_ops as catalogue_api_ops
from careclub.catalogue import views as catalogue_views
from careclub.catalogue import views_ops as catalogue_views_ops
from careclub.catalogue import views_portal as catalogue_views_portal
from careclub.clubs import api as clubs_api
from careclub.clubs import paying as clubs_paying
from careclub.clubs import views as clubs_views
from careclub.clubs import views_member_invite as clubs_views_member_invite
from careclub.core import i18n, jobqueue
from careclub.core import redis as redis_mod
from careclub.core import storage as file_storage
from careclub.core.db import DB
from careclub.core.health import health
from careclub.core.http import EXCEPTION_HANDLERS
from careclub.core.infra import Infra, resolve
from careclub.core.input_guard import input_guard
from careclub.core.middleware import request_context
from careclub.core.security_headers import security_headers
from careclub.funds import api as funds_api
from careclub.funds import api_spending as funds_api_spending
from careclub.funds import views as funds_views
from careclub.funds import views_plans as funds_views_plans
from careclub.funds import views_report as funds_views_report
from careclub.funds import views_spending as funds_views_spending
from careclub.payments import api as payments_api
from careclub.payments import gateway as payment_gateway
from careclub.payments import views as payments_views
from careclub.payments.sandbox import Sandbox
from careclub.payments.sandboxing import make_sandbox, mount_sandbox
from careclub.platform import api as platform_api
from careclub.platform import files as platform_files
from careclub.platform import views as platform_views
from careclub.platform import views_admin as platform_views_admin
from careclub.platform import views_reset as platform_views_reset
from careclub.platform.permissions import UNGUARDED, check_every_route_is_guarded, guard
from careclub.settings import PROJECT_ROOT, Settings
from careclub.settlements import api as settlements_api
from careclub.settlements import api_involvement as settlements_api_involvement
from careclub.settlements import api_reports as settlements_api_reports
from careclub.settlements import views as settlements_views
from careclub.settlements import views_involvement as settlements_views_involvement
from careclub.settlements import views_reports as settlements_views_reports
from careclub.tickets import api as tickets_api
from careclub.tickets import api_archive as tickets_api_archive
from careclub.tickets import views as tickets_views
from careclub.tickets import views_admin as tickets_views_admin
from careclub.tickets import views_archive as tickets_views_archive
from careclub.tickets import views_detail as tickets_views_detail
from careclub.tickets import views_portal as tickets_views_portal
from careclub.tickets import views_reports as tickets_views_reports
from careclub.web import docs, openapi, templating
from careclub.web.favicon import favicon


def create_app(settings: Settings | None = None, infra: Infra | None = None, sandbox: Sandbox | None = None
               ) -> Litestar:
    """`sandbox`: the Stripe sandbox to serve at /_sandbox/stripe when no Stripe key is set (`careclub serve`
    passes one that delivers its webhooks; without one, a sandbox is made whose events wait to be delivered,
    which is what the tests want)."""
    settings = settings or Settings.from_env()
    if settings.stripe_sandbox and sandbox is None:
        sandbox = make_sandbox(settings)
    state = State({"settings": settings, "infra": infra, "sandbox": sandbox})

    async def on_startup(app: Litestar) -> None:
        nonlocal infra
        if infra is None:
            infra = await resolve(settings, provision_roles=False)
            app.state.infra = infra
        DB.configure(infra.app_dsn, min_size=1, max_size=settings.db_pool_max)
        await DB.start_connection_pool()
        redis_mod.connect(infra.redis_url)
        jobqueue.configure(infra.redis_url)
        file_storage.configure(file_storage.from_url(settings.storage_url, settings.data_dir / "attachments"))
        payment_gateway.configure(settings, sandbox)
        if sandbox is not None and sandbox.webhook_url:
            sandbox.start_delivery()
        i18n.load()

    async def on_shutdown(app: Litestar) -> None:
        await DB.close_connection_pool()
        await redis_mod.close()
        await jobqueue.close()
        if sandbox is not None:
            await sandbox.stop()

    app = Litestar(
        route_handlers=[
            health,
            favicon,
            *platform_api.ROUTES,
            *platform_views.ROUTES,
            *platform_views_admin.ROUTES,
            *platform_views_reset.ROUTES,
            *platform_files.ROUTES,
            *approvals_api.ROUTES,
            *approvals_views.ROUTES,
            *clubs_api.ROUTES,
            *clubs_views.ROUTES,
            *clubs_views_member_invite.ROUTES,
            *payments_api.ROUTES,
            *payments_views.ROUTES,
            *funds_api.ROUTES,
            *funds_api_spending.ROUTES,
            *funds_views.ROUTES,
            *funds_views_plans.ROUTES,
            *funds_views_spending.ROUTES,
            *funds_views_report.ROUTES,
            *tickets_api_archive.ROUTES,
            *tickets_views_archive.ROUTES,
            *tickets_api.ROUTES,
            *catalogue_api.ROUTES,
            *catalogue_api_ops.ROUTES,
            *catalogue_views.ROUTES,
            *catalogue_views_ops.ROUTES,
            *catalogue_views_portal.ROUTES,
            *settlements_api.ROUTES,
            *settlements_api_involvement.ROUTES,
            *settlements_api_reports.ROUTES,
            *settlements_views.ROUTES,
            *settlements_views_involvement.ROUTES,
            *settlements_views_reports.ROUTES,
            *tickets_views_admin.ROUTES,
            *tickets_views_reports.ROUTES,
            *tickets_views.ROUTES,
            *tickets_views_detail.ROUTES,
            *tickets_views_portal.ROUTES,
            *clubs_paying.ROUTES,
            *([mount_sandbox(sandbox)] if sandbox is not None else []),
            create_static_files_router(path="/static", directories=[PROJECT_ROOT / "web" / "static"],
                                       opt={"public": True, "no_transaction": True}, include_in_schema=False),
        ],
        guards=[guard],
        middleware=[DefineMiddleware(security_headers), DefineMiddleware(input_guard),
                    DefineMiddleware(request_context)],
        exception_handlers=EXCEPTION_HANDLERS,
        csrf_config=CSRFConfig(secret=settings.secret_key, cookie_name="cc_csrf", header_name="x-csrftoken",
                               cookie_secure=settings.cookie_secure, cookie_samesite="lax",
                               exclude=["/api/", "/webhooks/", "/health", "/schema", "/static", "/_sandbox/"]),
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
    openapi.install(app)
    _options_answer_every_method(app)
    return app


def _options_answer_every_method(app: Litestar) -> None:
    """Litestar builds one route per handler and then merges those of a path, but the automatic OPTIONS
    handler keeps the first one in its closure, so `Allow` listed only some of the path's methods. Point
    each at the merged route."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            cells = handler.fn.__closure__ or ()
            if handler.handler_name == "options_handler" and cells and isinstance(cells[0].cell_contents, HTTPRoute):
                cells[0].cell_contents = route


def create_app_from_env() -> Litestar:
    """Factory for `uvicorn --factory careclub.app:create_app_from_env` (production workers)."""
    from careclub.core import logging as app_logging

    settings = Settings.from_env()
    app_logging.setup(settings.log_level, settings.log_json)
    return create_app(settings)
