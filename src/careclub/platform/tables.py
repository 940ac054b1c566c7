"""The platform's tables: tenants (the one global registry), org units, people, roles, tokens,
invitations and the audit trail."""

from __future__ import annotations

from piccolo.columns import (
    JSONB,
    UUID,
    Array,
    Boolean,
    ForeignKey,
    Integer,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow

from careclub.core.db import Bounded, TenantTable


class Tenant(Bounded):
    """A company that signed up. Not tenant-owned itself: its RLS lets anyone read the slug
    registry (sign-in needs it) but change only the row of the tenant in context."""

    id = UUID(primary_key=True)
    slug = Varchar(length=48, unique=True)
    name = Varchar(length=200)
    currency = Varchar(length=3, default="CNY")
    timezone = Varchar(length=64, default="Asia/Shanghai")
    locale = Varchar(length=10, default="zh_CN")
    status = Varchar(length=16, default="active")
    created_at = Timestamptz(default=TimestamptzNow())


class OrgUnit(TenantTable, tablename="org_unit"):
    """A node of the company tree (company → region/branch → project/community/department).
    `path` is the chain of ids from the root, so a subtree is a prefix match."""

    code = Varchar(length=64)
    name = Varchar(length=200)
    kind = Varchar(length=16, default="project")
    parent: ForeignKey[OrgUnit] = ForeignKey("self", null=True)
    path = Text()


class User(TenantTable, tablename="app_user"):
    """A person who signs in: staff, a member or resident, or a merchant operator."""

    email = Varchar(length=254)
    display_name = Varchar(length=120)
    password_hash = Text(null=True, default=None)
    phone = Varchar(length=32, null=True, default=None)
    kind = Varchar(length=16, default="staff")
    org_unit = ForeignKey(OrgUnit, null=True)
    locale = Varchar(length=10, null=True, default=None)
    is_active = Boolean(default=True)
    demo = Boolean(default=False)
    last_login_at = Timestamptz(null=True, default=None)


class Role(TenantTable, tablename="role"):
    """A named set of permissions; held at an org unit, it covers that unit's subtree."""

    code = Varchar(length=48)
    name = Varchar(length=120)
    description = Text(default="")
    permissions = Array(base_column=Varchar(length=64))
    builtin = Boolean(default=False)


class RoleGrant(TenantTable, tablename="role_grant"):
    user = ForeignKey(User)
    role = ForeignKey(Role)
    org_unit = ForeignKey(OrgUnit)


class ApiToken(TenantTable, tablename="api_token"):
    """A bearer token. Only its SHA-256 is stored; the tenant is part of the token text."""

    user = ForeignKey(User)
    name = Varchar(length=120, default="")
    kind = Varchar(length=16, default="login")
    token_hash = Varchar(length=64)
    expires_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)
    last_used_at = Timestamptz(null=True, default=None)


class Invite(TenantTable, tablename="invite"):
    email = Varchar(length=254)
    display_name = Varchar(length=120, default="")
    role = ForeignKey(Role)
    org_unit = ForeignKey(OrgUnit)
    token_hash = Varchar(length=64)
    invited_by = ForeignKey(User, null=True)
    expires_at = Timestamptz()
    accepted_at = Timestamptz(null=True, default=None)
    # What accepting also does, registered by a domain (service/_invite_actions.py): e.g.
    # {"action": "club_merchant_operator", "merchant": "<id>"} links the new person to that merchant.
    on_accept = JSONB(null=True, default=None)


class AuditEntry(TenantTable, tablename="audit_entry"):
    """Append-only: the app role may insert and read, never update or delete."""

    actor_id = UUID(null=True, default=None)
    actor_name = Varchar(length=160, default="")
    action = Varchar(length=64)
    entity_type = Varchar(length=64)
    entity_id = Varchar(length=64, default="")
    before = JSONB(null=True, default=None)
    after = JSONB(null=True, default=None)
    request_id = Varchar(length=64, null=True, default=None)


class Attachment(TenantTable, tablename="attachment"):
    """A file kept for a record of some domain (`owner_kind`, `owner_id`): a payment's receipt scan, a
    repair's photos. Checked by content and re-encoded when it is an image (platform/attachments.py);
    served only to those who may see the owning record."""

    owner_kind = Varchar(length=32)
    owner_id = UUID()
    filename = Varchar(length=200)
    content_type = Varchar(length=64)
    size = Integer()
    sha256 = Varchar(length=64)
    uploaded_by = UUID(null=True, default=None)


class PasswordReset(TenantTable, tablename="password_reset"):
    """A "forgot password" link: one use, short-lived. Only the SHA-256 of its secret is kept."""

    user = ForeignKey(User)
    token_hash = Varchar(length=64)
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)
