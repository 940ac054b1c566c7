"""The platform's management pages: org units, people, grants, invitations, roles, the audit log
and API tokens. Every read goes through the service with the principal, so each page shows only
the org units the reader's roles cover; an id outside them answers 404 like a missing one."""

from __future__ import annotations

from typing import Any

from careclub.platform.views_admin._audit_tokens import audit_list, token_create, token_revoke, tokens_list
from careclub.platform.views_admin._company import company_save, company_settings
from careclub.platform.views_admin._org import org_create, org_delete, org_detail, org_list, org_update
from careclub.platform.views_admin._people import (
    invite_accept,
    invite_accept_form,
    invite_create,
    invite_form,
    person_detail,
    person_grant,
    person_revoke,
    person_update,
    staff_create,
    staff_list,
    staff_new,
)
from careclub.platform.views_admin._roles import role_create, role_delete, role_detail, role_update, roles_list

ROUTES: list[Any] = [
    org_list, org_create, org_detail, org_update, org_delete,
    staff_list, staff_new, staff_create, person_detail, person_update, person_grant, person_revoke,
    invite_form, invite_create, invite_accept_form, invite_accept,
    roles_list, role_create, role_detail, role_update, role_delete,
    audit_list, tokens_list, token_create, token_revoke,
    company_settings, company_save,
]
