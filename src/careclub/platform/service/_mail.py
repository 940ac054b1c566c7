"""Mail to people who may have no account yet (member invitations, password-reset links): kept in
the tenant's outbox like every other mail, and sent at once by a queued job when SMTP is set (the
five-minute sweep would otherwise send it; a reset link lives only an hour)."""

from __future__ import annotations

import logging
import uuid

from careclub.core import jobqueue
from careclub.core.db import after_commit, current_tenant_id
from careclub.settings import Settings

log = logging.getLogger("careclub.mail")


async def send_mail(settings: Settings, to_email: str, subject: str, body: str) -> None:
    """`subject` and `body` are written already, in the reader's language."""
    # Imported here: the approval core (which owns the outbox) builds on the platform, not the reverse.
    from careclub.approvals.service import queue_email

    await queue_email(to_email, subject, body)
    if not settings.smtp_url:
        return  # the outbox keeps it (the demo, the tests): admins read it there
    tenant_id = current_tenant_id()

    async def send_now() -> None:
        # The approvals sweep sends the tenant's unsent mail (and is idempotent for the rest of its work).
        await jobqueue.enqueue("approvals_sweep", key=f"approvals_sweep:{tenant_id}:mail:{uuid.uuid4().hex}",
                               tenant_id=str(tenant_id))

    after_commit(send_now)
