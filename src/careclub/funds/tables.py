"""The funds tables: care and service funds, their double-entry ledger, the balances it keeps, and
what feeds it (accrual rules and their periods, contributions).

A fund is one year of one fund line (`code` groups the years: 客户关怀基金 2026, 2027 …), so each
year has its own plan, its own spending and its own closing balance, which the year-end rollover
carries into the next year's fund with entries. Entries and postings are append-only: the app's
database role may insert and read them but not change or delete them (core/migrate.APPEND_ONLY);
a mistake is corrected by a reversing entry."""

from __future__ import annotations

from piccolo.columns import JSONB, UUID, BigInt, Boolean, Date, ForeignKey, Integer, Text, Timestamptz, Varchar

from careclub.core.db import TenantTable


class CareFund(TenantTable, tablename="care_fund"):
    """One year of a fund: company-wide (no unit) or held by a project or region."""

    code = Varchar(length=32)
    name = Varchar(length=200)
    year = Integer()
    org_unit_id = UUID(null=True, default=None)
    description = Text(default="")
    closed = Boolean(default=False)  # the year is over and rolled over; late money still rolls forward
    # Roles whose holders sign a claim's acceptance (验收) before it is reimbursed, comma-separated; empty:
    # one sign-off by finance other than the claimant.
    acceptance_roles = Varchar(length=400, default="")
    off_plan_cutoff_day = Integer(default=25)  # off-plan requests after this day go to next month's batch
    last_voucher = BigInt(default=0)  # the fund's own voucher numbers, taken under its row lock


class FundBalance(TenantTable, tablename="fund_balance"):
    """The running balance of one account of one fund, kept in the transaction of every posting and
    checked against the postings by the trial balance. Debit-positive: available, receivable,
    committed, spent and carried_forward are normally positive; the funding accounts negative."""

    fund = ForeignKey(CareFund)
    account = Varchar(length=24)
    balance = BigInt(default=0)


class FundEntry(TenantTable, tablename="fund_entry"):
    """A journal entry: postings that sum to zero, written once. `cause`/`cause_id` say what moved the
    money; `reverses` names the entry a correction undoes (at most one correction per entry)."""

    seq = BigInt(default=0)  # the voucher number in its first line's fund (see FundPosting.voucher)
    cause = Varchar(length=24)
    cause_id = UUID(null=True, default=None)
    reference = Varchar(length=120, default="")
    memo = Text(default="")
    occurred_on = Date()
    reverses = UUID(null=True, default=None)
    idempotency_key = Varchar(length=120, null=True, default=None)
    created_by = UUID(null=True, default=None)
    created_by_name = Varchar(length=200, default="")


class FundPosting(TenantTable, tablename="fund_posting"):
    """One line of an entry. `balance_after` is the account's balance once this posting was written (the
    balance row was locked then), so the ledger form's running balance is read, never summed again;
    `voucher` numbers the entry in this fund's ledger (1, 2, 3 … per fund, no gaps from other companies)."""

    entry = ForeignKey(FundEntry)
    fund = ForeignKey(CareFund)
    account = Varchar(length=24)
    amount = BigInt()
    balance_after = BigInt(default=0)
    voucher = BigInt(default=0)  # the entry's voucher number in this posting's fund: that fund's ledger order


class FundMonth(TenantTable, tablename="fund_month"):
    """Running sums of one fund's postings per month (of the entry's `occurred_on`), cause and account,
    kept by the one statement that writes postings (service/_ledger.py: an upsert adding to the row, so
    racing writers never lose each other's amounts). The overview's monthly flows, the report's money in
    and the quick agreement check read these few hundred rows instead of every posting; `first_voucher`
    and `last_voucher` bound where the month's entries of that cause sit in the fund's ledger, so a ledger
    filtered by dates or cause reads only that stretch of its index."""

    fund = ForeignKey(CareFund)
    month = Date()  # the first day of the month
    cause = Varchar(length=24)
    account = Varchar(length=24)
    amount = BigInt(default=0)
    postings = BigInt(default=0)
    first_voucher = BigInt(default=0)
    last_voucher = BigInt(default=0)


class AccrualRule(TenantTable, tablename="fund_accrual_rule"):
    """Money a source owes the fund as a rate of a base it reports: 5 basis points of each quarter's
    sales subscriptions, due by the 20th of the following quarter's first month (seed 000 §5.5)."""

    fund_code = Varchar(length=32)
    code = Varchar(length=32)
    name = Varchar(length=200)
    source = Varchar(length=200, default="")
    base_label = Varchar(length=120, default="")
    rate_bp = Integer()  # basis points of the base (1 bp = 0.01 %)
    period = Varchar(length=8, default="quarter")  # month, quarter or year
    due_day = Integer(default=20)  # of the first month after the period
    active = Boolean(default=True)


class AccrualPeriod(TenantTable, tablename="fund_accrual_period"):
    """One period of a rule: the base reported, the amount accrued (half-up to the fen, per period), when
    it is due, and what has been paid. Entering a corrected base reverses the earlier accrual."""

    rule = ForeignKey(AccrualRule)
    fund = ForeignKey(CareFund)
    label = Varchar(length=16)  # 2026Q1, 2026-03, 2026
    starts_on = Date()
    ends_on = Date()
    base = BigInt(default=0)
    amount = BigInt(default=0)
    due_on = Date()
    paid = BigInt(default=0)
    paid_on = Date(null=True, default=None)
    accrual_entry = UUID(null=True, default=None)
    overdue_flagged = Boolean(default=False)
    entered_by = UUID(null=True, default=None)


class Contribution(TenantTable, tablename="fund_contribution"):
    """Money put into a fund by a source other than an accrual (seed 001): a reserve set aside at a
    project's set-up, the building maintenance fund (with the owners' committee decision), a
    contractor's withheld warranty deposit."""

    fund = ForeignKey(CareFund)
    kind = Varchar(length=24)
    source = Varchar(length=200)
    amount = BigInt()
    received_on = Date()
    reference = Varchar(length=120, default="")  # the owners' committee decision, the contract clause …
    note = Text(default="")
    entry = UUID(null=True, default=None)
    recorded_by = UUID(null=True, default=None)


class FundPlan(TenantTable, tablename="fund_plan"):
    """One version of a fund's annual usage plan: the January plan is version 1, the June revision
    version 2 (`previous` names the version it revises). Approved through the approval core; the newest
    approved version is the one spending is checked against."""

    fund = ForeignKey(CareFund)
    version = Integer(default=1)
    previous = UUID(null=True, default=None)
    title = Varchar(length=200)
    note = Text(default="")
    status = Varchar(length=16, default="draft")  # draft, in_review, approved, rejected, superseded
    approval_request = UUID(null=True, default=None)
    submitted_at = Timestamptz(null=True, default=None)
    decided_at = Timestamptz(null=True, default=None)
    created_by = UUID(null=True, default=None)


class FundPlanLine(TenantTable, tablename="fund_plan_line"):
    """A line of a plan version. `code` keeps a line's identity across versions, so a revision shows what
    changed and spending already done against the line stays counted."""

    plan = ForeignKey(FundPlan)
    code = Varchar(length=16)
    org_unit_id = UUID(null=True, default=None)
    category = Varchar(length=48)
    item = Varchar(length=200)
    month = Integer()
    amount = BigInt()


class FundRequest(TenantTable, tablename="fund_request"):
    """A request to spend: in-plan (against a plan line, at most what is left on it) or off-plan (in the
    month's batch). Its approval commits the money; its claim, once accepted, reimburses it."""

    fund = ForeignKey(CareFund)
    number = Varchar(length=24)
    title = Varchar(length=200)
    description = Text(default="")
    category = Varchar(length=48, default="")
    org_unit_id = UUID(null=True, default=None)
    in_plan = Boolean(default=False)
    plan_line_code = Varchar(length=16, null=True, default=None)
    batch_month = Varchar(length=7)  # YYYY-MM: off-plan requests are decided in their month's batch
    amount = BigInt()
    committed = BigInt(default=0)
    spent = BigInt(default=0)
    status = Varchar(length=16, default="in_review")
    # in_review, approved (money committed), claimed, reimbursed, rejected, withdrawn, closed
    approval_request = UUID(null=True, default=None)
    requester_id = UUID()
    requester_name = Varchar(length=200, default="")
    decided_at = Timestamptz(null=True, default=None)


class FundClaim(TenantTable, tablename="fund_claim"):
    """The expense claim after the work: itemised costs with specs and quantities, its evidence
    (attachments of kind fund_claim), the acceptance sign-offs, and the outcome."""

    request = ForeignKey(FundRequest)
    items = JSONB(default=[])
    total = BigInt()
    note = Text(default="")
    status = Varchar(length=16, default="submitted")  # submitted, accepted, refused, reimbursed
    refusal = Text(default="")
    signoffs = JSONB(default=[])  # [{"role", "user_id", "name", "at"}]
    submitted_by = UUID()
    entry = UUID(null=True, default=None)


TABLES = [CareFund, FundBalance, FundEntry, FundPosting, FundMonth, AccrualRule, AccrualPeriod, Contribution,
          FundPlan, FundPlanLine, FundRequest, FundClaim]
