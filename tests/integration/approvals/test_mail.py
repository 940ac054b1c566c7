"""Mail goes out through SMTP when a server is configured; otherwise it stays in the outbox."""

from __future__ import annotations

import asyncio
from email import message_from_string
from email import policy as email_policy

from careclub.approvals import service
from careclub.approvals.tables import OutboxEmail
from careclub.core.db import tenant_scope
from tests.integration.approvals.conftest import World


class FakeSmtp:
    """Just enough of an SMTP server to receive messages (the real one is not installed here)."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self.server: asyncio.AbstractServer | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 fake ESMTP\r\n")
        while line := await reader.readline():
            verb = line.decode().strip().split(" ")[0].upper()
            if verb in ("EHLO", "HELO"):
                writer.write(b"250 fake\r\n")
            elif verb == "DATA":
                writer.write(b"354 go on\r\n")
                await writer.drain()
                body = []
                while (data := await reader.readline()) not in (b".\r\n", b""):
                    body.append(data.decode())
                self.messages.append("".join(body))
                writer.write(b"250 queued\r\n")
            elif verb == "QUIT":
                writer.write(b"221 bye\r\n")
                await writer.drain()
                break
            else:
                writer.write(b"250 ok\r\n")
            await writer.drain()
        writer.close()

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


async def test_outbox_is_sent_through_smtp_once(world: World) -> None:
    await world.open(50000, title="Projector")
    smtp = FakeSmtp()
    port = await smtp.start()
    try:
        async with tenant_scope(world.tenant_id):
            assert await service.send_outbox(f"smtp://127.0.0.1:{port}") == 2
            assert await service.send_outbox(f"smtp://127.0.0.1:{port}") == 0
            rows = await OutboxEmail.select(OutboxEmail.sent_at, OutboxEmail.to_email)
    finally:
        await smtp.stop()
    assert all(r["sent_at"] is not None for r in rows)
    assert len(smtp.messages) == 2
    # The subject is in the approvers' language (the company's), encoded for the wire (RFC 2047).
    subjects = [message_from_string(m, policy=email_policy.default)["subject"] for m in smtp.messages]
    assert subjects == ["待您审批：Projector"] * 2


async def test_unreachable_smtp_keeps_the_mail_with_the_error(world: World) -> None:
    await world.open(50000, title="Speakers")
    async with tenant_scope(world.tenant_id):
        assert await service.send_outbox("smtp://127.0.0.1:1") == 0
        rows = await OutboxEmail.select(OutboxEmail.sent_at, OutboxEmail.error)
    assert rows and all(r["sent_at"] is None and r["error"] for r in rows)

