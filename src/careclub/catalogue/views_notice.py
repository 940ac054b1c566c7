"""The printable notice of a project's paid services (`/catalogue/notice?project=CODE`): an A4 sheet for the
notice board listing what residents can book, the fee of each, what is paid before the work, and a QR code
that opens the booking page (`/my/services?project=CODE`) on a resident's phone.

The QR code is drawn by core/qr.py (the product's one way) and passes the allowlist check of web/svg.py before
it becomes markup; the link it encodes is data inside the drawing, never markup."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from litestar import Request, get
from litestar.response import Template

from careclub.catalogue import service
from careclub.catalogue.views_common import Filter, catalogue_page, fee_text, prepay_text
from careclub.catalogue.views_items import reading_projects
from careclub.core.errors import NotFound
from careclub.core.qr import qr_svg
from careclub.platform.permissions import Perm
from careclub.platform.service import unit_by_code
from careclub.platform.views_admin._common import me
from careclub.settings import Settings
from careclub.web.svg import trusted_svg


def site_url(request: Request[Any, Any, Any]) -> str:
    """The site as residents' phones see it: `PUBLIC_URL`, else the address this request came to."""
    settings: Settings = request.app.state.settings
    return settings.public_url or str(request.base_url).rstrip("/")


@get("/catalogue/notice", opt={"permission": Perm.CATALOGUE_READ}, include_in_schema=False)
async def notice(request: Request[Any, Any, Any], project: Filter = None) -> Template:
    """A project's notice (A4, for printing); without `project`, the projects to choose from."""
    principal = me(request)
    projects = await reading_projects(principal)
    if not project:
        return catalogue_page(request, "catalogue/notice.html", unit=None, projects=projects, rows=[], qr=None)
    unit = await unit_by_code(project)
    if unit is None or unit["id"] not in {p["id"] for p in projects}:
        raise NotFound("no org unit with this code", code="org_unit_not_found")
    currency = principal.tenant.currency
    rows = [{**r, "fee_text": fee_text(r, currency), "prepay_text": prepay_text(r, currency)}
            for r in await service.published([unit["id"]])]
    link = f"{site_url(request)}/my/services?project={quote(unit['code'], safe='')}"
    return catalogue_page(request, "catalogue/notice.html", unit=unit, projects=projects, rows=rows,
                          qr=trusted_svg(qr_svg(link)), link=link)


ROUTES: list[Any] = [notice]
