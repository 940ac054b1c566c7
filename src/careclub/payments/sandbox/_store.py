"""The sandbox's state: every object (scoped to the platform or to one connected account), every event,
the idempotency cache; kept in memory and written to a JSON file after each change when one is given.

All changes happen in plain (non-async) functions, so on one event loop a request's changes can never
interleave with another's."""

from __future__ import annotations

import copy
import json
import logging
import os
import pathlib
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from careclub.payments.sandbox._common import SANDBOX_API_VERSION, ApiError, missing, new_id, now

log = logging.getLogger("careclub.payments.sandbox")

_STATE_VERSION = 1
_EVENT_DAYS = 30  # how long Stripe keeps events retrievable
_IDEMPOTENCY_SECONDS = 24 * 3600  # how long Stripe keeps idempotent results


@dataclass
class SandboxEvent:
    id: str
    type: str
    account: str | None
    payload: bytes
    created: int


@dataclass
class Record:
    """One stored object. `extra` holds what the sandbox needs but Stripe does not show (a session's
    line items before payment, the return URLs an account's onboarding may go back to)."""

    account: str | None
    object: dict[str, Any]
    extra: dict[str, Any]


def snapshot(value: Any) -> Any:
    return copy.deepcopy(value)


class Store:
    def __init__(self, state_file: pathlib.Path | None) -> None:
        self.state_file = state_file
        self.records: dict[str, Record] = {}
        self.events: dict[str, dict[str, Any]] = {}
        self.idempotency: dict[str, dict[str, Any]] = {}
        self.on_event: list[Callable[[], None]] = []
        self._dirty = False
        if state_file is not None and state_file.exists():
            self._load(state_file)

    # objects

    def add(self, obj: dict[str, Any], account: str | None, extra: dict[str, Any] | None = None) -> Record:
        record = Record(account=account, object=obj, extra=extra or {})
        self.records[obj["id"]] = record
        self._dirty = True
        return record

    def touch(self) -> None:
        self._dirty = True

    def get(self, object_id: str, account: str | None, kind: str, *, param: str = "id") -> Record:
        """The object as the caller may see it: another account's object is as missing as a wrong id."""
        record = self.records.get(object_id)
        if record is None or record.account != account or record.object.get("object") != kind:
            raise missing(object_id, param)
        return record

    def find(self, object_id: str, kind: str) -> Record | None:
        """Unscoped, for the sandbox's own pages and triggers, which act for whoever owns the object."""
        record = self.records.get(object_id)
        if record is None or record.object.get("object") != kind:
            return None
        return record

    def scan(self, kind: str, account: str | None) -> Iterator[Record]:
        """Newest first, like Stripe's lists."""
        for record in reversed(list(self.records.values())):
            if record.account == account and record.object.get("object") == kind:
                yield record

    # events

    def emit(self, event_type: str, obj: dict[str, Any], account: str | None,
             previous: dict[str, Any] | None = None) -> SandboxEvent:
        created = now()
        event: dict[str, Any] = {"id": new_id("evt"), "object": "event"}
        if account is not None:
            event["account"] = account
        data: dict[str, Any] = {"object": snapshot(obj)}
        if previous:
            data["previous_attributes"] = snapshot(previous)
        event.update({
            "api_version": SANDBOX_API_VERSION,
            "created": created,
            "data": data,
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": event_type,
        })
        self.events[event["id"]] = {
            "event": event, "account": account, "object_id": obj.get("id"), "delivered": False, "failed": False,
        }
        self._dirty = True
        for wake in self.on_event:
            wake()
        return self._as_sandbox_event(self.events[event["id"]])

    def outbox(self) -> list[SandboxEvent]:
        return [self._as_sandbox_event(entry) for entry in self.events.values()
                if not entry["delivered"] and not entry["failed"]]

    def event_object_id(self, event_id: str) -> str | None:
        entry = self.events.get(event_id)
        return entry["object_id"] if entry else None

    def mark_delivered(self, event_id: str) -> None:
        entry = self.events.get(event_id)
        if entry is not None and not entry["delivered"]:
            entry["delivered"] = True
            entry["event"]["pending_webhooks"] = 0
            self._dirty = True

    def mark_failed(self, event_id: str) -> None:
        entry = self.events.get(event_id)
        if entry is not None:
            entry["failed"] = True
            self._dirty = True

    def event(self, event_id: str, account: str | None) -> dict[str, Any]:
        entry = self.events.get(event_id)
        if entry is None or entry["account"] != account:
            raise missing(event_id)
        return snapshot(entry["event"])

    def scan_events(self, account: str | None) -> Iterator[dict[str, Any]]:
        for entry in reversed(list(self.events.values())):
            if entry["account"] == account:
                yield entry["event"]

    @staticmethod
    def _as_sandbox_event(entry: dict[str, Any]) -> SandboxEvent:
        event = dict(entry["event"])
        event["pending_webhooks"] = 1  # the payload is what was sent, whatever happened since
        return SandboxEvent(id=event["id"], type=event["type"], account=entry["account"],
                            payload=json.dumps(event, indent=2).encode(), created=event["created"])

    # idempotency

    def replay(self, key: str, fingerprint: str) -> dict[str, Any] | None:
        entry = self.idempotency.get(key)
        if entry is None:
            return None
        if entry["fingerprint"] != fingerprint:
            raise ApiError(
                400, "Keys for idempotent requests can only be used with the same parameters they were first "
                f"used with. Try using a key other than '{key.split('|', 1)[1]}' if you meant to execute a "
                "different request.", kind="idempotency_error")
        return entry

    def remember(self, key: str, fingerprint: str, status: int, body: str) -> None:
        self.idempotency[key] = {"fingerprint": fingerprint, "status": status, "body": body, "created": now()}
        self._dirty = True

    # persistence

    def flush(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        if self.state_file is None:
            return
        self._prune()
        state = {
            "version": _STATE_VERSION,
            "records": [{"account": r.account, "object": r.object, "extra": r.extra} for r in self.records.values()],
            "events": list(self.events.values()),
            "idempotency": self.idempotency,
        }
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename, so a crash mid-write never leaves half a file to load next time.
        fd, tmp = tempfile.mkstemp(dir=self.state_file.parent, prefix=".sandbox-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(state, handle)
            os.replace(tmp, self.state_file)
        except BaseException:
            pathlib.Path(tmp).unlink(missing_ok=True)
            raise

    def _prune(self) -> None:
        oldest_event = now() - _EVENT_DAYS * 86400
        self.events = {key: entry for key, entry in self.events.items()
                       if entry["event"]["created"] >= oldest_event or not (entry["delivered"] or entry["failed"])}
        oldest_key = now() - _IDEMPOTENCY_SECONDS
        self.idempotency = {key: entry for key, entry in self.idempotency.items() if entry["created"] >= oldest_key}

    def _load(self, path: pathlib.Path) -> None:
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise ValueError(f"the Stripe sandbox state file {path} is not valid JSON: {exc}") from exc
        if state.get("version") != _STATE_VERSION:
            raise ValueError(f"the Stripe sandbox state file {path} has version {state.get('version')!r}, "
                             f"this sandbox reads version {_STATE_VERSION}")
        for item in state["records"]:
            self.records[item["object"]["id"]] = Record(item["account"], item["object"], item["extra"])
        self.events = {entry["event"]["id"]: entry for entry in state["events"]}
        self.idempotency = state["idempotency"]
        log.info("stripe sandbox: loaded %d objects and %d events from %s", len(self.records), len(self.events), path)
