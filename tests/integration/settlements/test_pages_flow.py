"""The settlements' work done from the pages, as people do it on a phone: a budget written (every problem of the
form shown at once, more lines on demand) and sent for approval; a payment recorded against its approved line with
the receipt photo, the photo served only to those who may see the payment, and the payment confirmed or refused
from the queue; a month compiled, sent round its countersign chain and, once approved, corrected into the next
month; the lists downloaded as Excel with their filters; the management fee changed on the terms page."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Litestar
from PIL import Image

from careclub.core import clock
from careclub.settlements import rules
from tests.integration.settlements.helpers import GY, YY, approved_budget, confirm, make_world, ok, pay, walk
from tests.integration.settlements.test_pages_support import as_person, field_errors, post_form, sheet

LOCATION = re.compile(r"^/settlements/budgets/([0-9a-f-]{36})\?done=created$")


def company_today() -> date:
    """Payments are dated on or after their budget's approval (today) and never later than today."""
    return clock.now().astimezone(ZoneInfo("Asia/Shanghai")).date()


def photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 40, 40)).save(out, "PNG")
    return out.getvalue()


async def test_a_budget_shows_every_problem_at_once_then_goes_to_approval(app: Litestar, client: Any) -> None:
    w = await make_world(client)
    new = "/settlements/budgets/new"
    async with as_person(app, w, "property") as c:
        r = await c.get(new)
        assert r.status_code == 200 and 'name="amount_7"' in r.text and 'name="amount_8"' not in r.text
        assert 'inputmode="decimal" data-money' in r.text
        # every problem at once, each beside its field
        r = await post_form(c, new, new, op="save", rows="8", project="", kind="monthly", cost_type="", month="2026-13",
                            title="", description_0="", amount_0="12,34", description_1="Cleaning staff",
                            amount_1="0", quantity_2="3 人")
        assert r.status_code == 422, r.text[:500]
        errors = field_errors(r.text)
        assert set(errors) >= {"project", "cost_type", "month", "title", "description_0", "amount_0", "amount_1",
                               "description_2", "amount_2"}, errors
        assert "yuan" in errors["amount_0"] and "more than zero" in errors["amount_1"]
        assert 'value="Cleaning staff"' in r.text and 'value="3 人"' in r.text  # what was typed stays
        # more lines: the form drawn again with five more rows, nothing saved
        r = await post_form(c, new, new, op="more", rows="8", title="Kept")
        assert r.status_code == 200 and 'name="amount_12"' in r.text and 'value="Kept"' in r.text
        # a complete form
        r = await post_form(c, new, new, op="save", rows="8", project=YY, kind="monthly", cost_type="purchase",
                            month="2026-10", title="October purchases", note="two suppliers",
                            description_0="Cleaning agents", quantity_0="12 箱", amount_0="1,200.50",
                            description_3="Gloves", amount_3="99")
        assert r.status_code == 303, r.text[:800]
        match = LOCATION.match(r.headers["location"])
        assert match, r.headers["location"]
        page = f"/settlements/budgets/{match.group(1)}"
        r = await c.get(r.headers["location"])
        assert r.status_code == 200 and "¥1,299.50" in r.text and "Cleaning agents" in r.text
        assert 'data-status="draft"' in r.text and "2026年10月物业采购申请表第2项" in r.text
        # the draft changed: a line refused beside its row, then saved
        r = await post_form(c, page, page, op="save", rows="5", title="October purchases", cost_type="purchase",
                            description_0="Cleaning agents", amount_0="1,200.50", description_1="", amount_1="-3")
        assert r.status_code == 422 and set(field_errors(r.text)) >= {"description_1", "amount_1"}
        r = await post_form(c, page, page, op="save", rows="5", title="October purchases, revised",
                            cost_type="purchase", description_0="Cleaning agents", amount_0="1,000")
        assert r.status_code == 303
        r = await post_form(c, page, f"{page}/submit")
        assert r.status_code == 303 and r.headers["location"].endswith("done=submitted")
        r = await c.get(page)
        assert 'data-status="in_review"' in r.text and 'data-testid="approval-link"' in r.text
        assert "¥1,000.00" in r.text and 'data-testid="submit-budget"' not in r.text
        r = await post_form(c, page, f"{page}/withdraw")
        assert r.status_code == 303
        assert 'data-status="withdrawn"' in (await c.get(page)).text
    # another project's preparer: as if it did not exist; the developer's confirmer only reads it
    async with as_person(app, w, "property2", "zh_CN") as c:
        assert (await c.get(page)).status_code == 404
        r = await c.get(new)
        assert YY not in r.text and GY in r.text
    async with as_person(app, w, "auditor") as c:
        r = await c.get(page)
        assert r.status_code == 200 and 'data-testid="edit-budget"' not in r.text


async def test_a_payment_with_its_receipt_is_confirmed_from_the_queue(app: Litestar, client: Any) -> None:
    w = await make_world(client)
    day = company_today().isoformat()
    b = await approved_budget(client, w, project=YY, month=day[:7], amounts=["1000.00", "500.00"])
    line, line2 = b["lines"][0]["id"], b["lines"][1]["id"]
    new = f"/settlements/payments/new?line={line}"
    async with as_person(app, w, "property") as c:
        r = await c.get(f"/settlements/budgets/{b['id']}")
        assert f'href="/settlements/payments/new?line={line}"' in r.text
        r = await post_form(c, new, "/settlements/payments/new", line=line, amount="abc", paid_on="2026-10-5",
                            payee="")
        assert r.status_code == 422 and set(field_errors(r.text)) >= {"amount", "paid_on", "payee"}
        r = await post_form(c, new, "/settlements/payments/new", line=line, amount="1,000.01", paid_on=day,
                            payee="Supplier Ltd")
        assert r.status_code == 409 and "budget addition" in r.text  # more than the line's approved amount
        r = await post_form(c, new, "/settlements/payments/new", files={"file": ("slip.pdf", b"<script>", "x")},
                            line=line, amount="600", paid_on=day, payee="Supplier Ltd")
        # not a photo nor a PDF: refused beside the field, and nothing recorded
        assert r.status_code == 415 and "Only photos" in field_errors(r.text)["payment-file"]
        r = await post_form(c, new, "/settlements/payments/new", files={"file": ("收据.png", photo(), "image/png")},
                            line=line, amount="600", paid_on=day, payee="Supplier Ltd", note="first half")
        assert r.status_code == 303, r.text[:800]
        payment_page = r.headers["location"].split("?")[0]
        r = await c.get(payment_page)
        assert r.status_code == 200 and 'data-status="recorded"' in r.text
        assert f"{int(day[:4])}年{int(day[5:7])}月物业采购申请表第1项" in r.text
        files = re.findall(r'href="(/attachments/[0-9a-f-]{36})" data-testid="file"', r.text)
        assert len(files) == 1 and "收据.png" in r.text
        attachment = files[0]
        got = await c.get(attachment)
        assert got.status_code == 200 and got.headers["content-type"] == "image/png"
        assert 'data-testid="confirm"' not in r.text  # the property company does not confirm its own payments
        other = await post_form(c, f"/settlements/payments/new?line={line2}", "/settlements/payments/new",
                                line=line2, amount="50", paid_on=day, payee="Other Ltd")
        assert other.status_code == 303
        other_page = other.headers["location"].split("?")[0]
    async with as_person(app, w, "property2") as c:
        assert (await c.get(payment_page)).status_code == 404
        assert (await c.get(attachment)).status_code == 404
        assert (await c.get(new)).status_code == 404
        assert "Supplier Ltd" not in (await c.get("/settlements/payments")).text
    async with as_person(app, w, "cs-lead", "zh_CN") as c:
        queue = "/settlements/payments"
        r = await c.get(queue)
        assert r.status_code == 200 and r.text.count('data-testid="confirm"') == 2 and "Supplier Ltd" in r.text
        assert (await c.get(attachment)).status_code == 200
        pid = payment_page.rsplit("/", 1)[1]
        r = await post_form(c, queue, f"{payment_page}/confirm", back=queue + "?status=recorded")
        assert r.status_code == 303 and r.headers["location"].startswith("/settlements/payments?status=recorded")
        r = await c.get(r.headers["location"])
        assert pid not in r.text and "Other Ltd" in r.text  # confirmed: out of the queue
        # a refusal needs its reason, shown beside the field
        r = await post_form(c, queue, f"{other_page}/refuse", reason="")
        assert r.status_code == 422 and "reason" in field_errors(r.text)
        r = await post_form(c, queue, f"{other_page}/refuse", reason="no invoice", back=queue)
        assert r.status_code == 303
        r = await c.get(other_page)
        assert 'data-status="refused"' in r.text and "no invoice" in r.text
        r = await c.get(payment_page)
        assert 'data-status="confirmed"' in r.text
        r = await c.get("/settlements/payments?status=all")
        assert "Supplier Ltd" in r.text and "Other Ltd" in r.text
        rows = sheet(await c.get("/settlements/payments?status=confirmed&format=xlsx"))
        assert len(rows) == 2 and rows[1][3] == "Supplier Ltd" and rows[1][5] == 600
    async with as_person(app, w, "property") as c:  # the refusal's reason is there for the property company
        r = await c.get(other_page)
        assert "no invoice" in r.text


async def test_a_month_is_compiled_sent_and_corrected_from_the_pages(app: Litestar, client: Any) -> None:
    w = await make_world(client)
    # last month (a month is submitted once it is over), its payments made on its last day
    this = company_today().replace(day=1)
    day = (this - timedelta(days=1)).isoformat()
    month = day[:7]
    following = rules.month_text(rules.next_month(this))  # not begun yet
    b = await approved_budget(client, w, project=YY, month=month, amounts=["1000.00", "333.33"])
    p1 = await pay(client, w, b["lines"][0]["id"], "999.99", day)
    await pay(client, w, b["lines"][1]["id"], "333.33", day)
    await confirm(client, w, p1["id"])
    months = "/settlements/months"
    async with as_person(app, w, "property-finance") as c:
        r = await post_form(c, months, months, project="", month="2026-1")
        assert r.status_code == 422 and set(field_errors(r.text)) == {"project", "month"}
        r = await post_form(c, months, months, project=YY, month=following)
        assert r.status_code == 422 and "month" in field_errors(r.text)  # not begun yet
        r = await post_form(c, months, months, project=YY, month=month)
        assert r.status_code == 303, r.text[:800]
        page = r.headers["location"].split("?")[0]
        r = await c.get(page)
        assert r.status_code == 200 and 'data-status="draft"' in r.text
        assert "¥999.99" in r.text and "¥100.00" in r.text and "¥1,099.99" in r.text  # the fee rounds half up
        assert 'data-testid="waiting-warning"' in r.text and "¥333.33" in r.text
        assert f"{rules.month_text(this)}-22" in r.text
        r = await post_form(c, page, f"{page}/submit")
        assert r.status_code == 303
        r = await c.get(page)
        assert 'data-status="in_review"' in r.text and 'data-testid="approval-link"' in r.text
        request_id = re.search(r'href="/approvals/requests/([0-9a-f-]{36})"', r.text)
        assert request_id
        rows = sheet(await c.get(f"{months}?project={YY}&format=xlsx"))
        assert len(rows) == 2 and rows[1][2] == month and rows[1][11] == 1099.99
        assert len(sheet(await c.get(f"{months}?project={YY}&status=approved&format=xlsx"))) == 1
        # a month with nothing confirmed: said so on the page
        r = await post_form(c, months, months, project=GY, month=month)
        empty = r.headers["location"].split("?")[0]
        r = await post_form(c, empty, f"{empty}/submit")
        assert r.status_code == 409 and "nothing to settle" in r.text
    async with as_person(app, w, "property2") as c:
        assert (await c.get(page)).status_code == 404
    await walk(client, w, request_id.group(1))
    async with as_person(app, w, "property-finance", "zh_CN") as c:
        r = await c.get(page)
        assert 'data-status="approved"' in r.text and 'data-testid="adjust-open"' in r.text
        r = await post_form(c, page, f"{page}/adjustments", cost_type="", direction="take", amount="x", reason="")
        assert r.status_code == 422 and set(field_errors(r.text)) == {"adjust-cost_type", "adjust-amount",
                                                                     "adjust-reason"}
        r = await post_form(c, page, f"{page}/adjustments", cost_type="purchase", direction="take", amount="100",
                            reason="a refund from the supplier")
        assert r.status_code == 303
        r = await c.get(page)
        assert "-¥100.00" in r.text and rules.month_text(this) in r.text  # into the month after
    data = await ok(await client.get("/api/v1/settlements", headers=w.h("auditor"), params={"project": YY}))
    assert [(s["month"], s["status"]) for s in data] == [(month, "approved")]


async def test_lists_download_with_their_filters(app: Litestar, client: Any) -> None:
    w = await make_world(client)
    await approved_budget(client, w, project=YY, month="2026-10", amounts=["100.00"])
    await approved_budget(client, w, project=GY, month="2026-11", amounts=["200.00", "300.00"],
                          who="property2", cost_type="staff")
    async with as_person(app, w, "auditor") as c:
        rows = sheet(await c.get("/settlements/budgets?format=xlsx"))
        assert len(rows) == 3 and rows[0][0] == "Number"
        rows = sheet(await c.get(f"/settlements/budgets?project={GY}&format=xlsx"))
        assert len(rows) == 2 and rows[1][8] == 500 and rows[1][4] == "2026-11"
        r = await c.get(f"/settlements/budgets?project={GY}")
        assert 'data-testid="export"' in r.text and f"project={GY}&amp;format=xlsx" in r.text
        assert len(sheet(await c.get("/settlements/payments?status=all&format=xlsx"))) == 1
        assert len(sheet(await c.get("/settlements/months?format=xlsx"))) == 1
    async with as_person(app, w, "property2", "zh_CN") as c:
        rows = sheet(await c.get("/settlements/budgets?format=xlsx"))
        assert len(rows) == 2 and rows[0][0] == "编号"


async def test_the_terms_page_changes_the_fee_with_the_apis_checks(app: Litestar, client: Any) -> None:
    w = await make_world(client)
    terms = "/settlements/terms"
    async with as_person(app, w, "admin") as c:
        r = await c.get(terms)
        assert r.status_code == 200 and 'data-testid="fee-rate">10%' in r.text and 'name="fee_rate"' in r.text
        r = await post_form(c, terms, terms, fee_rate="10.005", due_day="30")
        assert r.status_code == 422 and set(field_errors(r.text)) == {"terms-fee_rate", "terms-due_day"}
        r = await post_form(c, terms, terms, fee_rate="101", due_day="20")
        assert r.status_code == 422 and set(field_errors(r.text)) == {"terms-fee_rate"}
        r = await post_form(c, terms, terms, fee_rate="8.5", due_day="20")
        assert r.status_code == 303
        r = await c.get(r.headers["location"])
        assert 'data-testid="fee-rate">8.5%' in r.text and "day 20 of the next month" in r.text
    got = await ok(await client.get("/api/v1/settlement-terms", headers=w.h("auditor")))
    assert got["fee_rate"] == "8.50" and got["due_day"] == 20
    async with as_person(app, w, "property") as c:
        r = await c.get(terms)
        assert r.status_code == 200 and 'name="fee_rate"' not in r.text
        r = await post_form(c, terms, terms, fee_rate="1", due_day="1")
        assert r.status_code == 403
    async with as_person(app, w, "admin", "zh_CN") as c:
        r = await post_form(c, f"/settlements/projects/{YY}", f"/settlements/projects/{YY}/stage",
                            stage="post_move_in", moved_in_on="", note="")
        assert r.status_code == 422 and "stage-moved_in_on" in field_errors(r.text)
        r = await post_form(c, f"/settlements/projects/{YY}", f"/settlements/projects/{YY}/stage",
                            stage="post_move_in", moved_in_on="2026-06-30", note="moved in")
        assert r.status_code == 303
        r = await post_form(c, f"/settlements/projects/{YY}", f"/settlements/projects/{YY}/phases",
                            code="P2", name="二期", stage="pre_move_in", moved_in_on="")
        assert r.status_code == 303
        r = await c.get(f"/settlements/projects/{YY}")
        assert 'data-stage="post_move_in"' in r.text and 'data-phase="P2"' in r.text and "二期" in r.text
