"""The sandbox's pages for people: the hosted checkout page and Connect onboarding, plus the renewal
trigger for demos. They run under a strict Content-Security-Policy: no inline script or style, one
stylesheet served from here, and forms that post back to their own address."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlsplit

from careclub.payments.sandbox import _billing as billing
from careclub.payments.sandbox import _checkout as checkout
from careclub.payments.sandbox import _connect as connect
from careclub.payments.sandbox._asgi import Request, Response, Router
from careclub.payments.sandbox._common import ApiError, format_money
from careclub.payments.sandbox._store import Record, Store

_CSS = b"""\
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;background:#f3f4f6;color:#111827}
main{max-width:28rem;margin:0 auto;padding:1.25rem}
.card{background:#fff;border-radius:.75rem;padding:1.25rem;box-shadow:0 1px 3px rgba(0,0,0,.12)}
.badge{display:inline-block;font-size:.75rem;padding:.125rem .5rem;border-radius:1rem;background:#fef3c7;color:#92400e}
h1{font-size:1.25rem;margin:.75rem 0}
ul{list-style:none;margin:0 0 1rem;padding:0}
li{display:flex;justify-content:space-between;gap:1rem;padding:.5rem 0;border-bottom:1px solid #e5e7eb}
.total{display:flex;justify-content:space-between;font-weight:600;font-size:1.125rem}
.muted{color:#6b7280;font-size:.875rem;word-break:break-all}
.notice{padding:.75rem;border-radius:.5rem;background:#fee2e2;color:#991b1b}
.done{background:#dcfce7;color:#166534}
form{display:grid;gap:.75rem;margin-top:1rem}
button{font:inherit;padding:.875rem;border-radius:.5rem;border:0;background:#4f46e5;color:#fff;cursor:pointer}
button.secondary{background:#e5e7eb;color:#111827}
a{color:#4f46e5}
"""

_LABELS = {
    "en": {"title": "Sandbox checkout", "badge": "Stripe sandbox · test mode", "pay": "Pay", "decline": "Decline",
           "async_paid": "Pay later, and it succeeds", "async_failed": "Pay later, and it fails",
           "total": "Total", "account": "Account", "declined": "The payment was declined. You may try again.",
           "complete": "This checkout is complete.", "expired": "This checkout has expired.", "back": "Back",
           "every": "every", "onboard": "Connect onboarding", "finish": "Complete onboarding",
           "onboarded": "Onboarding is complete."},
    "zh": {"title": "沙盒收银台", "badge": "Stripe 沙盒 · 测试模式", "pay": "支付", "decline": "拒绝",
           "async_paid": "稍后支付（成功）", "async_failed": "稍后支付（失败）", "total": "合计",
           "account": "收款账户", "declined": "支付被拒绝，可以重试。", "complete": "此次支付已完成。",
           "expired": "此次支付已过期。", "back": "返回", "every": "每", "onboard": "Connect 入驻",
           "finish": "完成入驻", "onboarded": "入驻已完成。"},
}

_BUTTONS = {"paid": "pay", "declined": "decline", "async_paid": "async_paid", "async_failed": "async_failed"}


def register(router: Router, store: Store) -> None:
    async def stylesheet(request: Request, ids: dict[str, str]) -> Response:
        return Response(200, _CSS, "text/css; charset=utf-8", [("Cache-Control", "max-age=3600")])

    async def checkout_page(request: Request, ids: dict[str, str]) -> Response:
        record = store.find(ids["id"], "checkout.session")
        if record is None:
            return _page(404, "Not found", "<p>No such checkout session.</p>", depth=1)
        try:
            notice = None
            if request.method == "POST":
                outcome = dict(parse_qsl(request.body.decode("utf-8"))).get("outcome", "")
                try:
                    checkout.complete(store, record, outcome)
                except checkout.SessionClosed:
                    return _checkout_html(store, record, 409, None)
                except ApiError as error:
                    return _checkout_html(store, record, 400, error.message)
                session = record.object
                if session["status"] == "complete" and session["success_url"]:
                    target = session["success_url"].replace("{CHECKOUT_SESSION_ID}", session["id"])
                    return Response(303, b"", "text/plain", [("Location", target)])
                notice = "declined" if outcome == "declined" else None
            else:
                checkout.expire_if_due(store, record)
            return _checkout_html(store, record, 200, notice)
        finally:
            store.flush()

    async def onboarding_page(request: Request, ids: dict[str, str]) -> Response:
        record = store.find(ids["account"], "account")
        if record is None:
            return _page(404, "Not found", "<p>No such account.</p>", depth=2)
        return_url = dict(parse_qsl(request.query)).get("return_url", "")
        if return_url not in record.extra["return_urls"]:
            return _page(400, "Invalid link", "<p>This onboarding link is not valid: create a new account link."
                                              "</p>", depth=2)
        if request.method == "POST":
            try:
                connect.complete_onboarding(store, record)
            finally:
                store.flush()
            return Response(303, b"", "text/plain", [("Location", return_url)])
        return _onboarding_html(record, return_url)

    async def renew(request: Request, ids: dict[str, str]) -> Response:
        outcome = dict(parse_qsl(request.body.decode("utf-8"))).get("outcome", "paid")
        try:
            sub = billing.renew(store, ids["id"], outcome)
        except ApiError as error:
            return Response(error.status, json.dumps(error.body()).encode())
        finally:
            store.flush()
        return Response(200, json.dumps(sub, indent=2).encode())

    router.add("GET", "/assets/sandbox.css", stylesheet)
    router.add("GET", "/checkout/{id}", checkout_page)
    router.add("POST", "/checkout/{id}", checkout_page)
    router.add("GET", "/connect/onboard/{account}", onboarding_page)
    router.add("POST", "/connect/onboard/{account}", onboarding_page)
    router.add("POST", "/_sandbox/subscriptions/{id}/renew", renew)


def _labels(locale: str | None) -> dict[str, str]:
    return _LABELS["zh" if (locale or "").lower().startswith("zh") else "en"]


def _checkout_html(store: Store, record: Record, status: int, notice: str | None) -> Response:
    session = record.object
    words = _labels(session["locale"])
    rows = []
    for item in record.extra["line_items"]:
        recurring = item["price"]["recurring"]
        every = ""
        if recurring:
            count = recurring["interval_count"]
            every = f" / {words['every']} {count if count > 1 else ''} {recurring['interval']}".replace("  ", " ")
        rows.append(f"<li><span>{_e(item['description'])} × {item['quantity']}</span>"
                    f"<span>{_e(format_money(item['amount_total'], item['currency']))}{_e(every)}</span></li>")
    account = "platform"
    if record.account is not None:
        owner = store.find(record.account, "account")
        name = owner.object["business_profile"]["name"] or owner.object["email"] if owner else None
        account = f"{name} ({record.account})" if name else record.account
    parts = [f"<ul>{''.join(rows)}</ul>",
             f'<p class="total"><span>{words["total"]}</span>'
             f'<span>{_e(format_money(session["amount_total"], session["currency"]))}</span></p>',
             f'<p class="muted">{words["account"]}: {_e(account)}</p>']
    if notice is not None and notice in words:
        parts.append(f'<p class="notice" role="alert">{words[notice]}</p>')
    elif notice is not None:
        parts.append(f'<p class="notice" role="alert">{_e(notice)}</p>')
    if session["status"] == "open":
        buttons = []
        for outcome in checkout.outcomes(session):
            css = "" if outcome == "paid" else ' class="secondary"'
            buttons.append(f'<button name="outcome" value="{outcome}"{css}>{words[_BUTTONS[outcome]]}</button>')
        parts.append(f'<form method="post">{"".join(buttons)}</form>')
        if session["cancel_url"]:
            parts.append(f'<p><a href="{_e(session["cancel_url"])}">{words["back"]}</a></p>')
    else:
        css = "notice done" if session["status"] == "complete" else "notice"
        parts.append(f'<p class="{css}">{words[session["status"]]}</p>')
    redirects = [session["success_url"], session["cancel_url"]]
    return _page(status, words["title"], "".join(parts), depth=1, lang=session["locale"], redirects=redirects)


def _onboarding_html(record: Record, return_url: str) -> Response:
    account = record.object
    words = _labels(None)
    rows = [("id", account["id"]), ("type", account["type"]), ("country", account["country"]),
            ("email", account["email"] or "—"), ("name", account["business_profile"]["name"] or "—")]
    items = "".join(f"<li><span>{_e(key)}</span><span>{_e(str(value))}</span></li>" for key, value in rows)
    done = f'<p class="notice done">{words["onboarded"]}</p>' if account["details_submitted"] else ""
    body = f'<ul>{items}</ul>{done}<form method="post"><button>{words["finish"]}</button></form>'
    return _page(200, words["onboard"], body, depth=2, redirects=[return_url])


def _page(status: int, title: str, body: str, *, depth: int, lang: str | None = None,
          redirects: Iterable[str | None] = ()) -> Response:
    stylesheet = "../" * depth + "assets/sandbox.css"
    document = (
        f'<!doctype html><html lang="{_e((lang or "en").split("-")[0])}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{_e(title)}</title><link rel="stylesheet" href="{stylesheet}"></head>'
        f'<body><main><div class="card"><span class="badge">{_e(_labels(lang)["badge"])}</span>'
        f"<h1>{_e(title)}</h1>{body}</div></main></body></html>"
    )
    return Response(status, document.encode(), "text/html; charset=utf-8",
                    [("Content-Security-Policy", _policy(redirects)), ("X-Content-Type-Options", "nosniff"),
                     ("Referrer-Policy", "same-origin"), ("X-Frame-Options", "DENY")])


def _policy(redirects: Iterable[str | None]) -> str:
    # Browsers hold the redirect after a form post to `form-action` too, so the page's own redirect
    # targets (success and return URLs, which may be on another origin) are allowed by name.
    origins = []
    for url in redirects:
        if url and (parts := urlsplit(url)).scheme in ("http", "https") and re.fullmatch(r"[\w.\-:\[\]]+",
                                                                                        parts.netloc):
            origins.append(f"{parts.scheme}://{parts.netloc}")
    form_action = " ".join(["'self'", *dict.fromkeys(origins)])
    return (f"default-src 'none'; style-src 'self'; img-src 'self' data:; form-action {form_action}; "
            "base-uri 'none'; frame-ancestors 'none'")


def _e(value: str) -> str:
    return html.escape(value, quote=True)
