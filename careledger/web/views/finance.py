"""The finance view: each budget's ledger with its running balance, balances at a date, statement checks.

* ``/councils/{code}/finance/``: every package's budget and spend (the stored package statuses,
  worst variance first, searchable), the balance assertions that disagree with a bank statement,
  and the statements imported (transaction files and OFX, as import runs).
* ``/councils/{code}/finance/people/{ref}/``: one person's ledger (``careledger.ledger``): the budget
  account or a direct payment account, entries from a date to a date with the balance after each,
  the balance at the end of any date, and every balance assertion with its difference.

Money is exact until shown: the ledger's selectors sum in sixtieths of a pound; the ``gbp`` filter
rounds once, half-up, to the penny. Council staff only (the person sees their own budget elsewhere).
"""

from __future__ import annotations

from datetime import date

from django.core.paginator import Paginator
from django.db.models import Q
from django.shortcuts import render
from django.urls import path

from careledger.domain.money import round_money
from careledger.domain.plans import DeliveryMechanism
from careledger.ingest import selectors as ingest_selectors
from careledger.ledger import selectors as ledger
from careledger.ledger.models import BalanceAssertion
from careledger.monitoring.models import PackageStatus
from careledger.records.errors import InvalidInput
from careledger.records.models import Budget
from careledger.records.scoping import Scope
from careledger.records.selectors import today_in_london

from ..csv import csv_response, wants_csv
from ..pages import STAFF, page

BUDGETS_PER_PAGE = 50
LINES_PER_PAGE = 100
SORTS = {
    "variance": ("-forecast_variance", "person__ref"),
    "underspend": ("forecast_variance", "person__ref"),
    "budget": ("-budget", "person__ref"),
    "spent": ("-spent", "person__ref"),
    "person": ("person__ref",),
}


def _date(request, name: str, label: str) -> date | None:
    text = request.GET.get(name, "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{label} must be a date like 2026-04-30, not {text[:40]!r}") from None


def _mechanism_label(value: str) -> str:
    try:
        return DeliveryMechanism(value).label
    except ValueError:
        return value


BUDGET_HEADER = ["Person", "Mechanism", "Main provider", "Budget", "Spent", "Forecast variance", "Within budget?", "As of"]
ASSERTION_HEADER = ["Person", "Account", "Date", "Statement balance", "Ledger balance", "Difference", "Source", "Checked at"]
STATEMENT_HEADER = ["Run", "Started", "Source", "Status", "Rows", "Added", "Amended", "Duplicates", "Rejected"]


@page(roles=STAFF)
def finance_home(request, scope: Scope):
    people = scope.people()
    budgets = PackageStatus.objects.filter(council=scope.council, person__in=people).select_related("person")
    search = request.GET.get("q", "").strip()
    if search:
        budgets = budgets.filter(Q(person__ref__icontains=search) | Q(provider_ref__icontains=search))
    sort = request.GET.get("sort", "variance")
    budgets = budgets.order_by(*SORTS.get(sort, SORTS["variance"]))
    disagreeing = BalanceAssertion.objects.filter(council=scope.council, person__in=people).exclude(difference=0).select_related("person")
    disagreeing = disagreeing.order_by("-day", "-id")
    statements = ingest_selectors.import_runs(scope=scope).filter(kind="transactions")
    table = request.GET.get("table", "budgets")
    if wants_csv(request):
        if table == "assertions":
            rows = ([a.person.ref, a.account, a.day, a.statement_balance, a.ledger_balance, a.difference, a.source, a.asserted_at]
                    for a in disagreeing.iterator())  # fmt: skip
            return csv_response(scope, "statement-differences", ASSERTION_HEADER, rows)
        if table == "statements":
            rows = ([r.pk, r.started_at, r.source, r.status, r.rows, r.added, r.amended, r.duplicates, r.rejected] for r in statements.iterator())
            return csv_response(scope, "statements", STATEMENT_HEADER, rows)
        rows = ([p.person.ref, p.mechanism, p.provider_ref, p.budget, p.spent, p.forecast_variance, p.affordable, p.as_of] for p in budgets.iterator())
        return csv_response(scope, "budgets", BUDGET_HEADER, rows)
    shown = Paginator(budgets, BUDGETS_PER_PAGE).get_page(request.GET.get("page"))
    shown.object_list = list(shown.object_list)
    for row in shown.object_list:
        row.mechanism_label = _mechanism_label(row.mechanism)
    return render(
        request,
        "web/finance/home.html",
        {
            "scope": scope,
            "budgets": shown,
            "search": search,
            "sort": sort if sort in SORTS else "variance",
            "disagreeing": disagreeing[:20],
            "disagreeing_count": disagreeing.count(),
            "statements": statements[:20],
        },
    )


def _budget_in_force(person, day: date) -> Budget | None:
    """As ``ledger.selectors`` chooses the budget account's budget: in force on ``day``, else the latest started by then."""
    started = Budget.objects.filter(person=person, start_date__lte=day).order_by("-start_date")
    return started.filter(end_date__gte=day).first() or started.first()


def _balance_at(statement: ledger.Statement, person, account: str, at: date):
    """The balance at the end of ``at``: read off the statement's running balance when it covers that day
    (the same exact sums, without reading the entries twice), else from the ledger."""
    lines = statement.lines
    covered = lines and (statement.start is None or at >= statement.start) and (statement.end is None or at <= statement.end)
    if covered and account == "budget":
        budget = _budget_in_force(person, at)
        covered = budget is not None and all(line.entry.budget_id == budget.pk for line in (lines[0], lines[-1]))
    if not covered:
        return ledger.balance(person, account, at)
    found = statement.opening
    for line in lines:
        if line.entry.day > at:
            break
        found = line.balance
    return found


LINE_HEADER = ["Date", "Account", "Kind", "Source", "Memo", "Amount", "Balance", "Reverses entry", "Entry", "Posted at", "Posted by"]


@page(roles=STAFF)
def ledger_page(request, scope: Scope, person_ref: str):
    person = scope.person(person_ref)
    accounts = ledger.accounts_of(person)
    account = request.GET.get("account") or accounts[0]
    if account not in accounts:
        raise InvalidInput(f"{account[:64]!r} is not this person's budget nor one of their direct payment accounts")
    start = _date(request, "from", "From")
    end = _date(request, "to", "To")
    at = _date(request, "at", "The date of the balance") or min(end or today_in_london(), today_in_london())
    statement = ledger.ledger_lines(scope=scope, person_ref=person.ref, account=account, start=start, end=end)
    assertions = ledger.assertions(scope=scope, person_ref=person.ref)
    table = request.GET.get("table", "entries")
    if wants_csv(request):
        if table == "assertions":
            rows = ([person.ref, a.account, a.day, a.statement_balance, a.ledger_balance, a.difference, a.source, a.asserted_at] for a in assertions)
            return csv_response(scope, f"ledger-{person.ref}-assertions", ASSERTION_HEADER, rows)
        rows = ([ln.entry.day, ln.entry.account, ln.entry.kind, ln.entry.source_ref, ln.entry.memo, round_money(ln.value), round_money(ln.balance),
                 ln.entry.reverses_id or "", ln.entry.pk, ln.entry.posted_at, ln.entry.actor] for ln in statement.lines)  # fmt: skip
        return csv_response(scope, f"ledger-{person.ref}-{account}", LINE_HEADER, rows)
    lines = Paginator(statement.lines, LINES_PER_PAGE).get_page(request.GET.get("page"))
    package = PackageStatus.objects.filter(person=person).first()
    return render(
        request,
        "web/finance/ledger.html",
        {
            "scope": scope,
            "person": person,
            "package": package,
            "accounts": accounts,
            "account": account,
            "start": start,
            "end": end,
            "at": at,
            "balance_at": _balance_at(statement, person, account, at),
            "statement": statement,
            "lines": lines,
            "assertions": assertions,
            "budgets": person.budgets.order_by("-start_date"),
        },
    )


urlpatterns = [
    path("councils/<str:code>/finance/", finance_home, name="finance"),
    path("councils/<str:code>/finance/people/<str:person_ref>/", ledger_page, name="finance-ledger"),
]
