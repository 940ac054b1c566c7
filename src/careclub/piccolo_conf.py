"""Piccolo's configuration: one engine (configured at start-up) and every domain app."""

from piccolo.conf.apps import AppRegistry

from careclub.core.db import DB

APP_REGISTRY = AppRegistry(
    apps=[
        "careclub.platform.piccolo_app",
        "careclub.approvals.piccolo_app",
        "careclub.clubs.piccolo_app",
        "careclub.payments.piccolo_app",
        "careclub.funds.piccolo_app",
        "careclub.tickets.piccolo_app",
        "careclub.catalogue.piccolo_app",
        "careclub.settlements.piccolo_app",
    ]
)

__all__ = ["APP_REGISTRY", "DB"]
