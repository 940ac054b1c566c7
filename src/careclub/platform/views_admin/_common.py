"""What the management pages share: form helpers, labels shown translated, error wording."""

from __future__ import annotations

import uuid
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Request
from litestar.params import QueryParameter, URLEncodedBody
from litestar.response import Template

from careclub.core.error_messages import error_text as error_text  # re-exported for the views
from careclub.core.error_messages import form_errors as _form_errors
from careclub.core.errors import AppError
from careclub.core.i18n import N_
from careclub.core.i18n import gettext as _
from careclub.core.principal import Principal
from careclub.platform import rules
from careclub.platform.permissions import BUILTIN_ROLES
from careclub.platform.views import page as base_page
from careclub.platform.views import principal_of

Form = URLEncodedBody[dict[str, str]]
PageNo = Annotated[int, QueryParameter(name="page", ge=1, le=100_000)]
PER_PAGE = 25


# Messages the services raise word for word; listed so that extraction keeps their translations.
SERVICE_MESSAGES = [
    N_("name is required"), N_("display_name is required"), N_("email is not a valid email address"),
    N_("code must be 1–64 letters, digits, '_', '.' or '-'"),
    N_("kind must be one of company, region, branch, project, department"),
    N_("only the root unit is a company"), N_("the root unit is always the company"),
    N_("the company root cannot be deleted"), N_("you cannot deactivate yourself"),
    N_("you cannot remove your own admin role"), N_("no such parent unit"), N_("the two passwords differ"),
    N_("kind must be api or scanner"), N_("hours must be between 1 and 8784"),
    N_("only staff managers may create tokens for someone else"),
    # raised by sign-up, sign-in and the error pages (core/http.py), shown through _()
    N_("the company, email or password is not right"), N_("company is required"),
    N_("password must be at least 10 characters long"),
    N_("this password is one of the most common ones and easy to guess; choose another"),
    N_("slug must be 3–48 lowercase letters, digits or hyphens, starting with a letter"),
    N_("nothing here: no such page or record"), N_("sign in first"), N_("this method is not allowed here"),
    N_("the form expired or did not come from this site; reload the page and try again"),
    N_("something went wrong on our side; it has been logged"), N_("something went wrong on our side"),
    N_("this invitation link is not valid"), N_("this invitation has been used already"),
    N_("this invitation has expired; ask for a new one"), N_("no such org unit"), N_("no such person"),
    N_("the unit still has child units"), N_("people or roles are still attached to the unit"),
    N_("people still hold this role"), N_("built-in roles cannot be deleted"),
    N_("built-in roles keep their permissions; create a role of your own instead"),
    N_("no such role"), N_("no such role grant"), N_("no such token"),
    # the built-in roles (permissions.BUILTIN_ROLES), stored in English and shown translated
    N_("Tenant admin"), N_("Everything in the tenant."), N_("Finance"),
    N_("Funds, ledgers, settlements and the audit log."), N_("Approver"),
    N_("Decides approval steps addressed to the role."), N_("Customer-service clerk"),
    N_("Takes complaints, repairs and contact slips."), N_("Dispatcher"),
    N_("Dispatches tickets to departments and subcontractors."), N_("Branch operator"),
    N_("Serves the members of his own branch only."), N_("Merchant operator"),
    N_("Scans member cards at one merchant."), N_("Member"),
    N_("A club member or resident: own cards, bookings and requests."),
]

KIND_LABELS = {"company": N_("Company"), "region": N_("Region"), "branch": N_("Branch"),
               "project": N_("Project"), "department": N_("Department"),
               "staff": N_("Staff"), "member": N_("Member"), "merchant": N_("Merchant")}


PERM_LABELS = {
    "dashboard.view": N_("See the dashboard"), "org.read": N_("See org units"), "org.manage": N_("Manage org units"),
    "staff.read": N_("See people"), "staff.manage": N_("Manage people and invitations"),
    "roles.manage": N_("Manage roles"), "audit.read": N_("Read the audit log"),
    "tenant.manage": N_("Manage company settings"), "members.read": N_("See members"),
    "members.manage": N_("Manage members"), "clubs.manage": N_("Manage clubs"),
    "approvals.decide": N_("Decide approvals"), "approvals.manage": N_("Manage approval policies"),
    "finance.read": N_("See finance"), "finance.manage": N_("Manage finance"),
    "tickets.handle": N_("Handle tickets"), "tickets.dispatch": N_("Dispatch tickets"),
    "archive.read": N_("See the customer archive"), "archive.manage": N_("Manage the customer archive"),
    "catalogue.read": N_("See paid services and their orders"),
    "catalogue.manage": N_("Design paid services and their fee standards"),
    "checkins.scan": N_("Scan member cards"), "self.service": N_("Self-service (members)"),
    "settlements.read": N_("See the property company's accounts"),
    "settlements.prepare": N_("Write budgets, record payments, compile settlements"),
    "settlements.confirm": N_("Confirm payments, start budget additions"),
    "settlements.manage": N_("Set projects' stages and the settlement terms"),
}


def form_errors(exc: AppError, fields: tuple[str, ...]) -> dict[str, str]:
    """Each error under the field it names when that field is on the form, else above the form."""
    return _form_errors(exc, fields)


def me(request: Request[Any, Any, Any]) -> Principal:
    principal = principal_of(request)
    assert principal is not None, "the guard lets no anonymous request reach here"
    return principal


def as_uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


def clean(data: dict[str, str], *names: str) -> dict[str, str]:
    return {n: (data.get(n) or "").strip() for n in names}


def pager(total: int, page_no: int, base: dict[str, Any]) -> dict[str, Any]:
    last = max(1, (total + PER_PAGE - 1) // PER_PAGE)
    query = {k: v for k, v in base.items() if v}

    def link(n: int) -> str:
        return "?" + urlencode({**query, "page": n})

    return {"page": page_no, "last": last, "total": total,
            "prev": link(page_no - 1) if page_no > 1 else None,
            "next": link(page_no + 1) if page_no < last else None}


def keyset_pages(base: dict[str, Any], after: str | None, cursor: str | None, total: int,
                 more: bool) -> dict[str, Any]:
    """What a keyset list page shows around its rows (the `keyset_pager` macro and the count line):
    the capped total as text ("10,000+"), a link back to the newest rows when this page is not the
    first, one on to older rows when there are more, and the download of the same filtered list."""
    query = {k: v for k, v in base.items() if v}
    return {"total": total, "total_text": f"{total:,}" + ("+" if more else ""),
            "newest": "?" + urlencode(query) if after else None,
            "older": "?" + urlencode({**query, "after": cursor}) if cursor else None,
            "export": "?" + urlencode({**query, "format": "xlsx"})}


def unit_rows(units: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Units in tree order with their depth below the shallowest visible one (for indenting)."""
    if not units:
        return []
    top = min(u["path"].count("/") for u in units)
    return [{**u, "depth": u["path"].count("/") - top} for u in units]


def unit_choices(units: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(str(u["id"]), "\u00a0\u00a0" * u["depth"] + u["name"]) for u in unit_rows(units)]


def unit_kinds() -> list[tuple[str, str]]:
    return [(k, kind_label(k)) for k in rules.UNIT_KINDS[1:]]


def role_label(code: str, name: str) -> str:
    """Built-in roles are stored with English names and shown in the reader's language."""
    builtin = BUILTIN_ROLES.get(code)
    return _(name) if builtin and builtin[0] == name else name


def role_description(code: str, description: str) -> str:
    """A built-in role's description is shown translated while it is the one it came with; once
    someone rewrote it, it is their text and shown as written (never looked up in the catalog)."""
    builtin = BUILTIN_ROLES.get(code)
    return _(description) if builtin and builtin[1] == description else description


def kind_label(kind: str) -> str:
    return _(KIND_LABELS[kind]) if kind in KIND_LABELS else kind


def perm_label(perm: str) -> str:
    return _(PERM_LABELS[perm]) if perm in PERM_LABELS else perm


def role_choices(roles: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(r["code"], role_label(r["code"], r["name"])) for r in roles]


def page(request: Request[Any, Any, Any], template: str, status_code: int = 200, **ctx: Any) -> Template:
    return base_page(request, template, status_code=status_code, role_label=role_label, perm_label=perm_label,
                     kind_label=kind_label, role_description=role_description, **ctx)
