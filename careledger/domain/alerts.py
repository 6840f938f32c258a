"""Alert rules: plain functions over a snapshot of one package, each returning alerts.

A rule is ``rule(snapshot) -> list[Alert]``; :data:`RULES` lists them and
:func:`evaluate` runs them all, in the order of :data:`RULES` (each rule's alerts
in date order), so the same snapshot always gives the same list.

Every alert carries a ``cause``: a key, unique within one package, naming what
it is about. Persistence stores the causes it has raised and skips an alert whose
cause it has seen (:func:`new_alerts` does this for a set of known causes), so no
alert is raised twice for the same cause, however often the rules run:

=====================  =========================================  =================
code                   cause                                      raised again when
=====================  =========================================  =================
``overspend``          ``overspend:<period start>:<severity>``    it escalates
``underspend``         ``underspend:<period start>:<severity>``   it escalates
``missed_visits``      ``missed:<ISO week>`` (``2026-W19``)       another week
``late_visits``        ``late:<ISO week>``                        another week
``short_visits``       ``short:<ISO week>``                       another week
``preference_breach``  ``preference:<ISO week>``                  another week
``carer_continuity``   ``continuity:<ISO week of as_of>``         another week
``dp_surplus``         ``dp_surplus:<year-month of as_of>``       another month
``ineligible_spend``   ``ineligible:<transaction ref>``           another payment
``review_overdue``     ``review:<due date>:<severity>``           it escalates
=====================  =========================================  =================

Visits are grouped by the ISO week (Monday to Sunday) of their planned start in
local time. Thresholds are per contract (:class:`AlertThresholds`, defaults
documented there); ineligible spend follows a council's :class:`SpendPolicy`
(default categories and keywords from council direct payment policies, see
``domain.md``).
"""

from __future__ import annotations

import decimal
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP
from typing import Protocol

from .affordability import Affordability
from .delivery import Line, Reconciliation
from .localtime import to_local
from .money import ZERO, Decimal, divide, format_gbp
from .plans import DeliveryMechanism

__all__ = [
    "SEVERITIES",
    "Alert",
    "AlertThresholds",
    "DEFAULT_THRESHOLDS",
    "SpendCategory",
    "SpendPolicy",
    "DEFAULT_SPEND_POLICY",
    "TransactionLike",
    "Transaction",
    "PackageSnapshot",
    "Rule",
    "RULES",
    "evaluate",
    "new_alerts",
    "iso_week",
    "long_date",
]

SEVERITIES = ("high", "medium", "low")
_EXACT = decimal.Context(prec=200, traps=[decimal.Inexact, decimal.InvalidOperation, decimal.Overflow])
_SHOWN = decimal.Context(prec=60, rounding=ROUND_HALF_UP)  # for rounding figures in messages only
_HUNDRED = Decimal(100)


def iso_week(day: date) -> str:
    """``date(2026, 5, 4)`` -> ``"2026-W19"`` (ISO 8601 week, Monday to Sunday)."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def long_date(day: date) -> str:
    """``date(2027, 4, 4)`` -> ``"4 April 2027"``."""
    return f"{day.day} {day:%B %Y}"


def _percent(value: Decimal) -> str:
    """A share as a whole percentage, half-up: ``Decimal("5.35")`` -> ``"5%"``."""
    return f"{value.quantize(Decimal(1), rounding=ROUND_HALF_UP, context=_SHOWN):f}%"


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


@dataclass(frozen=True)
class Alert:
    """Something a person should look at: what, how serious, why, and the facts behind it."""

    code: str
    severity: str  # "high", "medium" or "low"
    cause: str  # stable key: the same cause is never raised twice
    message: str  # plain English, one or two sentences
    evidence: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {', '.join(SEVERITIES)}, not {self.severity!r}")
        if not self.cause or not self.cause.strip():
            raise ValueError("an alert needs a cause")
        prefix = _CAUSE_PREFIX.get(self.code)
        if prefix and not self.cause.startswith(prefix):
            raise ValueError(f"the cause of a {self.code} alert must start with {prefix!r}")


_CAUSE_PREFIX = {
    "missed_visits": "missed:",
    "late_visits": "late:",
    "short_visits": "short:",
    "preference_breach": "preference:",
    "carer_continuity": "continuity:",
    "ineligible_spend": "ineligible:",
    "review_overdue": "review:",
    "overspend": "overspend:",
    "underspend": "underspend:",
    "dp_surplus": "dp_surplus:",
}


@dataclass(frozen=True)
class AlertThresholds:
    """When each rule fires; one set per contract. The defaults, and why:

    * ``overspend_percent`` = 1: a forecast overspend above 1% of the budget is
      ``medium``; above ``overspend_high_percent`` = 5% it is ``high``. (Either
      forecast counts: the scheduled one, or the one at the recent rate of spend.)
    * ``underspend_percent`` = 10: spend more than 10% below the pro-rata budget
      (care may not be being delivered) is ``medium``; more than
      ``underspend_high_percent`` = 25% below is ``high``; not judged in the first
      ``underspend_after_days`` = 28 days of a budget, while invoices catch up.
    * ``missed_per_week`` = 2: two or more missed visits in one week is ``high``
      (a single miss shows in the status; repeated ones need action).
    * ``late_per_week`` = 3: three or more late visits in a week, ``medium``.
    * ``short_per_week`` = 3: three or more short visits in a week, ``low``.
    * ``preference_breaches_per_week`` = 1: any visit by a carer of a gender the
      person did not want, ``medium`` (personal care and dignity).
    * ``review_grace_days`` = 0: a review is overdue the day after it is due,
      ``medium``; more than ``review_high_after_days`` = 28 days overdue, ``high``.
    * ``max_carers_4_weeks`` = None (off): when set, more than this many different
      carers in the last 4 weeks is a ``low`` continuity alert. There is no
      national standard; a council chooses its own.

    A direct payment surplus (above ``rules.dp_surplus_weeks`` weeks) is ``medium``
    and ineligible spend takes the severity of its :class:`SpendCategory`.
    """

    overspend_percent: Decimal = Decimal("1")
    overspend_high_percent: Decimal = Decimal("5")
    underspend_percent: Decimal = Decimal("10")
    underspend_high_percent: Decimal = Decimal("25")
    underspend_after_days: int = 28
    missed_per_week: int = 2
    late_per_week: int = 3
    short_per_week: int = 3
    preference_breaches_per_week: int = 1
    review_grace_days: int = 0
    review_high_after_days: int = 28
    max_carers_4_weeks: int | None = None

    def __post_init__(self) -> None:
        for name in ("overspend_percent", "overspend_high_percent", "underspend_percent", "underspend_high_percent"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (Decimal, int)) or not Decimal(value).is_finite():
                raise ValueError(f"{name} must be a Decimal percentage, not {value!r}")
            if value < 0:
                raise ValueError(f"{name} cannot be negative ({value})")
            object.__setattr__(self, name, Decimal(value))
        for name in ("underspend_percent", "underspend_high_percent"):
            if getattr(self, name) > 100:
                raise ValueError(f"{name} must be at most 100, not {getattr(self, name)}")
        if self.overspend_high_percent < self.overspend_percent:
            raise ValueError("overspend_high_percent cannot be below overspend_percent")
        if self.underspend_high_percent < self.underspend_percent:
            raise ValueError("underspend_high_percent cannot be below underspend_percent")
        for name, least in (
            ("underspend_after_days", 0),
            ("missed_per_week", 1),
            ("late_per_week", 1),
            ("short_per_week", 1),
            ("preference_breaches_per_week", 1),
            ("review_grace_days", 0),
            ("review_high_after_days", 0),
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise ValueError(f"{name} must be a whole number of at least {least}, not {value!r}")
        carers = self.max_carers_4_weeks
        if carers is not None and (isinstance(carers, bool) or not isinstance(carers, int) or carers < 1):
            raise ValueError(f"max_carers_4_weeks must be None or a whole number of at least 1, not {carers!r}")


DEFAULT_THRESHOLDS = AlertThresholds()


# --- Ineligible spend -----------------------------------------------------------------------------

_APOSTROPHES = re.compile(r"['\u2018\u2019`]")
_NON_WORD = re.compile(r"[^0-9a-z]+")


def _normalise(text: str) -> str:
    """Lower case, apostrophes dropped, anything else not a letter or digit a single space."""
    return " ".join(_NON_WORD.sub(" ", _APOSTROPHES.sub("", text.casefold())).split())


@dataclass(frozen=True)
class SpendCategory:
    """A kind of spend a direct payment should not be used for, and the words that suggest it.

    Keywords match whole words, ignoring case, apostrophes and punctuation:
    ``"bet"`` matches "Online bet" and "BET" but not "Betty's Tea Room" or
    "Alphabet"; ``"paddy power"`` matches "PADDY-POWER". A keyword ending in ``*``
    matches any word it begins (``"gambl*"`` matches "gambling"). When several
    match, the longest keyword is reported (``"paddy power"`` rather than ``"bet"``).
    """

    code: str
    label: str  # as in "looks like {label}"
    keywords: tuple[str, ...]
    severity: str = "medium"
    advice: str = "A direct payment should not be spent on this; please check it with the person."

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {', '.join(SEVERITIES)}, not {self.severity!r}")
        if isinstance(self.keywords, str):
            raise ValueError("keywords must be a tuple of strings, not one string")
        object.__setattr__(self, "keywords", tuple(self.keywords))
        for keyword in self.keywords:
            if not _normalise(keyword.rstrip("*")):
                raise ValueError(f"category {self.code}: keyword {keyword!r} has no letters or digits")
        # Longest first, so the evidence names the most specific keyword ("gift card" before "gift").
        ordered = sorted(self.keywords, key=lambda k: -len(_normalise(k.rstrip("*"))))
        object.__setattr__(self, "_patterns", tuple((k, _keyword_pattern(k)) for k in ordered))

    def match(self, text: str) -> str | None:
        """The longest keyword found in ``text`` (the first listed among equals), or ``None``."""
        normalised = _normalise(text)
        for keyword, pattern in self._patterns:  # type: ignore[attr-defined]
            if pattern.search(normalised):
                return keyword
        return None


def _keyword_pattern(keyword: str) -> re.Pattern[str]:
    prefix = keyword.endswith("*")
    words = _normalise(keyword.rstrip("*"))
    tail = r"[0-9a-z]*" if prefix else ""
    return re.compile(rf"(?<![0-9a-z]){re.escape(words)}{tail}(?![0-9a-z])")


@dataclass(frozen=True)
class SpendPolicy:
    """A council's list of :class:`SpendCategory`; the first category that matches wins."""

    categories: tuple[SpendCategory, ...]

    def match(self, text: str) -> tuple[SpendCategory, str] | None:
        for category in self.categories:
            keyword = category.match(text)
            if keyword is not None:
                return category, keyword
        return None


# Examples of ineligible spend from council direct payment policies (domain.md). Deliberately
# narrow words: a council adds its own local bookmakers, shops and merchant names.
DEFAULT_SPEND_POLICY = SpendPolicy(
    (
        SpendCategory(
            "gambling",
            "gambling",
            (
                "bet365", "paddy power", "paddypower", "ladbrokes", "william hill", "betfair", "betway",
                "sky bet", "skybet", "betfred", "coral racing", "national lottery",
                "bet", "bets", "betting", "bookmaker*", "bookie*", "casino*", "gambl*", "lottery", "lotto",
                "poker*", "bingo", "slot machine*",
            ),
            severity="high",
            advice="A direct payment cannot be spent on gambling.",
        ),
        SpendCategory(
            "alcohol",
            "alcohol",
            (
                "alcohol", "off licence", "off license", "wine", "wines", "beer", "beers", "brewery", "liquor",
                "spirits", "whisky", "whiskey", "vodka", "bargain booze", "booze",
            ),
            advice="A direct payment cannot be spent on alcohol.",
        ),
        SpendCategory(
            "tobacco",
            "tobacco",
            ("tobacco*", "cigarette*", "cigar", "cigars", "vape*", "vaping", "e cig*"),
            advice="A direct payment cannot be spent on tobacco.",
        ),
        SpendCategory(
            "cash_withdrawal",
            "a cash withdrawal",
            ("cash withdrawal*", "cash wdl", "atm", "cash machine", "cashpoint"),
            severity="low",
            advice="Cash withdrawals need receipts showing what the money paid for.",
        ),
        SpendCategory(
            "residential_care",
            "residential care",
            ("care home", "nursing home", "residential care"),
            advice="A direct payment cannot pay for residential care.",
        ),
        SpendCategory(
            "household_bills",
            "rent or a household bill",
            (
                "rent", "landlord", "mortgage", "council tax", "tv licence", "water rates", "gas bill",
                "electricity", "british gas", "broadband",
            ),
            advice="Rent and household bills are not paid from a direct payment.",
        ),
        SpendCategory(
            "bank_charges",
            "a bank charge",
            ("bank charge*", "overdraft fee*", "overdraft charge*", "unarranged overdraft", "returned item fee*"),
            severity="low",
            advice="General bank charges are not paid from a direct payment.",
        ),
        SpendCategory(
            "free_services",
            "a service that may be free",
            ("nhs dentist", "nhs dental", "eye test*", "optician*"),
            severity="low",
            advice="NHS dental and eye care may be free; a direct payment should not pay for them.",
        ),
        SpendCategory(
            "gifts",
            "a gift",
            ("gift", "gifts", "gift card*", "gift voucher*"),
            severity="low",
            advice="Gifts are not paid from a direct payment.",
        ),
        SpendCategory(
            "food_clothing",
            "food, clothing or shopping",
            (
                "tesco", "sainsbury", "sainsburys", "asda", "morrisons", "aldi", "lidl", "iceland",
                "primark", "takeaway", "deliveroo", "just eat", "uber eats", "clothing",
            ),
            severity="low",
            advice="Food, clothing and everyday shopping are not usually paid from a direct payment.",
        ),
    )
)


class TransactionLike(Protocol):
    """What the ineligible-spend rule reads from a transaction (``formats.TransactionRow`` fits)."""

    @property
    def txn_ref(self) -> str: ...
    @property
    def date(self) -> date: ...
    @property
    def amount(self) -> Decimal: ...
    @property
    def counterparty(self) -> str | None: ...
    @property
    def description(self) -> str | None: ...


@dataclass(frozen=True)
class Transaction:
    """One line of a direct payment account (``formats.md`` section 4; money out is negative)."""

    txn_ref: str
    date: date
    amount: Decimal
    counterparty: str | None = None
    description: str | None = None


# --- The snapshot ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PackageSnapshot:
    """Everything the rules read about one package as at the end of ``as_of``.

    * ``reconciliation``: ``delivery.classify`` of the budget period up to ``as_of``;
    * ``affordability``: :func:`affordability.affordability` as at ``as_of``;
    * ``transactions``: the direct payment account's lines (empty otherwise);
    * ``next_review_due``: when the next review is due (``status.next_review_due``);
    * ``preferred_gender``: the person's stated carer gender, for the messages;
    * ``recent_carers``: the carers of the last 4 weeks (``status.carers_seen``);
    * ``mechanism``: how the budget is deployed, for callers and messages; the
      direct payment rules read ``affordability.dp_balance`` and ``transactions``.

    Anything left ``None`` (or empty) turns its rules off.
    """

    person_ref: str
    as_of: date
    mechanism: DeliveryMechanism
    reconciliation: Reconciliation | None = None
    affordability: Affordability | None = None
    transactions: tuple[TransactionLike, ...] = ()
    last_review: date | None = None
    next_review_due: date | None = None
    preferred_gender: str | None = None
    recent_carers: tuple[str, ...] = ()
    thresholds: AlertThresholds = DEFAULT_THRESHOLDS
    spend_policy: SpendPolicy = field(default=DEFAULT_SPEND_POLICY)
    raised: frozenset[str] = frozenset()  # causes raised before: the weekly visit rules leave them out (a recompute stores only new ones)


Rule = Callable[[PackageSnapshot], list[Alert]]


# --- Money rules ----------------------------------------------------------------------------------


def _share_of(part: Decimal, whole: Decimal) -> Decimal:
    """``part`` as a percentage of ``whole`` (0 of nothing is 0; anything of nothing is 100%)."""
    if whole == 0:
        return ZERO if part == 0 else _HUNDRED
    return divide(_EXACT.multiply(part, _HUNDRED), whole)


def overspend(snapshot: PackageSnapshot) -> list[Alert]:
    """The budget is forecast to be overspent by its end, on the schedule or at the recent rate."""
    aff = snapshot.affordability
    if aff is None:
        return []
    t = snapshot.thresholds
    forecasts = [(aff.forecast_variance, "if the rest of the plan is delivered as scheduled")]
    recent = aff.forecast_variance_from_recent_rate
    if recent is not None:
        forecasts.append((recent, "at the current rate of care"))
    variance, basis = max(forecasts, key=lambda pair: pair[0])  # the scheduled one on a tie
    if variance <= 0:
        return []
    share = _share_of(variance, aff.budget)
    if share <= t.overspend_percent:
        return []
    severity = "high" if share > t.overspend_high_percent else "medium"
    evidence = [
        f"Budget {format_gbp(aff.budget)} for {long_date(aff.period_start)} to {long_date(aff.period_end)}",
        f"Spent to {long_date(aff.as_of)}: {format_gbp(aff.spent)} (pro-rata budget {format_gbp(aff.pro_rata_budget)})",
        f"Forecast if care continues as scheduled: {format_gbp(aff.forecast_year_end)}"
        f" ({_over_under(aff.forecast_variance)})",
    ]
    if aff.forecast_from_recent_rate is not None and recent is not None:
        evidence.append(
            f"Forecast at the rate of the last {aff.recent_days} days: {format_gbp(aff.forecast_from_recent_rate)}"
            f" ({_over_under(recent)})"
        )
    return [
        Alert(
            "overspend",
            severity,
            f"overspend:{aff.period_start.isoformat()}:{severity}",
            f"Forecast to overspend by {format_gbp(variance)} by {long_date(aff.period_end)} {basis}"
            f" ({_percent(share)} of the budget).",
            tuple(evidence),
        )
    ]


def _over_under(variance: Decimal) -> str:
    if variance > 0:
        return f"{format_gbp(variance)} over budget"
    if variance < 0:
        return f"{format_gbp(-variance)} under budget"
    return "exactly on budget"


def underspend(snapshot: PackageSnapshot) -> list[Alert]:
    """Spend is well below the pro-rata budget: care may not be being delivered."""
    aff = snapshot.affordability
    t = snapshot.thresholds
    if aff is None or aff.days_elapsed < max(t.underspend_after_days, 1) or aff.pro_rata_budget <= 0:
        return []
    shortfall = _EXACT.subtract(aff.pro_rata_budget, aff.spent)
    if shortfall <= 0:
        return []
    share = _share_of(shortfall, aff.pro_rata_budget)
    if share <= t.underspend_percent:
        return []
    severity = "high" if share > t.underspend_high_percent else "medium"
    return [
        Alert(
            "underspend",
            severity,
            f"underspend:{aff.period_start.isoformat()}:{severity}",
            f"{format_gbp(aff.spent)} has been spent against {format_gbp(aff.pro_rata_budget)} expected by "
            f"{long_date(aff.as_of)} ({_percent(share)} less): care may not be being delivered as planned.",
            (
                f"Budget {format_gbp(aff.budget)}; {aff.days_elapsed} of "
                f"{aff.days_elapsed + aff.days_remaining} days gone",
                f"Spent {format_gbp(aff.spent)}; pro-rata budget {format_gbp(aff.pro_rata_budget)}; "
                f"shortfall {format_gbp(shortfall)}",
            ),
        )
    ]


def dp_surplus(snapshot: PackageSnapshot) -> list[Alert]:
    """A direct payment account holds more than ``dp_surplus_weeks`` weeks of payments."""
    aff = snapshot.affordability
    if aff is None or aff.dp_surplus is None or aff.dp_balance is None or aff.dp_surplus <= 0:
        return []
    weeks = aff.dp_surplus_weeks
    return [
        Alert(
            "dp_surplus",
            "medium",
            f"dp_surplus:{aff.as_of:%Y-%m}",
            f"The direct payment account holds {format_gbp(aff.dp_balance)}, {format_gbp(aff.dp_surplus)} more than "
            f"{_plural(weeks, 'week', 'weeks')} of payments ({format_gbp(aff.dp_surplus_threshold)}); "
            "the council may reclaim the surplus.",
            (
                f"Balance at the end of {long_date(aff.as_of)}: {format_gbp(aff.dp_balance)}",
                f"Weekly amount {format_gbp(aff.weekly_amount)} x {weeks} = {format_gbp(aff.dp_surplus_threshold)}",
            ),
        )
    ]


def ineligible_spend(snapshot: PackageSnapshot) -> list[Alert]:
    """Money out whose counterparty or description suggests spend a direct payment cannot pay for."""
    alerts = []
    for txn in sorted(snapshot.transactions, key=lambda t: (t.date, t.txn_ref)):
        if txn.amount >= 0:
            continue
        found = snapshot.spend_policy.match(f"{txn.counterparty or ''} {txn.description or ''}")
        if found is None:
            continue
        category, keyword = found
        paid = format_gbp(-txn.amount)
        to = f" to {txn.counterparty}" if txn.counterparty else ""
        detail = "; ".join(part for part in (txn.counterparty, txn.description) if part)
        alerts.append(
            Alert(
                "ineligible_spend",
                category.severity,
                f"ineligible:{txn.txn_ref}",
                f"{paid} paid{to} on {long_date(txn.date)} looks like {category.label}. {category.advice}",
                (
                    f"Transaction {txn.txn_ref} on {txn.date.isoformat()}: {format_gbp(txn.amount)} ({detail})",
                    f"Matched {keyword!r} ({category.code})",
                ),
            )
        )
    return alerts


# --- Visit rules ----------------------------------------------------------------------------------


def _local(moment: datetime) -> datetime:
    return to_local(moment)


_WEEKS: dict[datetime, str] = {}  # planned start -> its London ISO week (slots' starts repeat across packages)


def _week_of(moment: datetime) -> str:
    found = _WEEKS.get(moment)
    if found is None:
        if len(_WEEKS) > 100_000:
            _WEEKS.clear()
        found = _WEEKS[moment] = iso_week(_local(moment).date())
    return found


def _by_week(lines: Iterable[Line]) -> dict[str, list[Line]]:
    weeks: dict[str, list[Line]] = {}
    for line in lines:
        weeks.setdefault(_week_of(line.planned_start), []).append(line)
    return dict(sorted(weeks.items()))


def _monday(week: str) -> date:
    year, number = week.split("-W")
    return date.fromisocalendar(int(year), int(number), 1)


def _planned(line: Line) -> str:
    return f"{line.ref}: planned {_local(line.planned_start):%a %d %b %Y %H:%M}, {line.planned_minutes} minutes"


def _missed_evidence(line: Line) -> str:
    if line.visit is None:
        return f"{_planned(line)}, no visit recorded"
    return f"{_planned(line)}, reported {line.visit.status.replace('_', ' ')}"


def _late_evidence(line: Line) -> str:
    assert line.visit is not None and line.visit.actual_start is not None
    return f"{_planned(line)}, started {_local(line.visit.actual_start):%H:%M}"


def _short_evidence(line: Line) -> str:
    assert line.visit is not None
    actual = line.visit.actual_minutes
    if actual is None:
        return f"{_planned(line)}, duration not recorded"
    lasted = actual.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP, context=_SHOWN).normalize()
    return f"{_planned(line)}, lasted {lasted:f} minutes"


def _preference_evidence(line: Line) -> str:
    assert line.visit is not None
    return f"{_planned(line)}, carer {line.visit.carer_ref}"


def _weekly(
    snapshot: PackageSnapshot,
    *,
    code: str,
    prefix: str,
    bucket: str,
    threshold: int,
    severity: str,
    what: Callable[[int], str],
    evidence: Callable[[Line], str],
) -> list[Alert]:
    rec = snapshot.reconciliation
    if rec is None:
        return []
    alerts = []
    for week, lines in _by_week(getattr(rec, bucket)).items():
        if len(lines) < threshold or f"{prefix}:{week}" in snapshot.raised:
            continue
        alerts.append(
            Alert(
                code,
                severity,
                f"{prefix}:{week}",
                f"{what(len(lines))} in the week beginning {long_date(_monday(week))}.",
                tuple(evidence(line) for line in lines),
            )
        )
    return alerts


def missed_visits(snapshot: PackageSnapshot) -> list[Alert]:
    """``missed_per_week`` or more visits missed in one week."""
    return _weekly(
        snapshot,
        code="missed_visits",
        prefix="missed",
        bucket="missed",
        threshold=snapshot.thresholds.missed_per_week,
        severity="high",
        what=lambda n: f"{_plural(n, 'visit was', 'visits were')} missed",
        evidence=_missed_evidence,
    )


def late_visits(snapshot: PackageSnapshot) -> list[Alert]:
    """``late_per_week`` or more visits started late in one week."""
    return _weekly(
        snapshot,
        code="late_visits",
        prefix="late",
        bucket="late",
        threshold=snapshot.thresholds.late_per_week,
        severity="medium",
        what=lambda n: f"{_plural(n, 'visit', 'visits')} started late",
        evidence=_late_evidence,
    )


def short_visits(snapshot: PackageSnapshot) -> list[Alert]:
    """``short_per_week`` or more visits cut short in one week."""
    return _weekly(
        snapshot,
        code="short_visits",
        prefix="short",
        bucket="short",
        threshold=snapshot.thresholds.short_per_week,
        severity="low",
        what=lambda n: f"{_plural(n, 'visit was', 'visits were')} cut short",
        evidence=_short_evidence,
    )


def preference_breaches(snapshot: PackageSnapshot) -> list[Alert]:
    """Visits by a carer of a gender the person did not choose."""
    wanted = f" ({snapshot.preferred_gender.strip().lower()})" if snapshot.preferred_gender else ""
    return _weekly(
        snapshot,
        code="preference_breach",
        prefix="preference",
        bucket="preference_breaches",
        threshold=snapshot.thresholds.preference_breaches_per_week,
        severity="medium",
        what=lambda n: (
            f"{_plural(n, 'visit was', 'visits were')} made by a carer whose gender is not "
            f"the one the person asked for{wanted}"
        ),
        evidence=_preference_evidence,
    )


def carer_continuity(snapshot: PackageSnapshot) -> list[Alert]:
    """More than ``max_carers_4_weeks`` different carers in the last 4 weeks (off by default)."""
    limit = snapshot.thresholds.max_carers_4_weeks
    carers = sorted(set(snapshot.recent_carers))
    if limit is None or len(carers) <= limit:
        return []
    return [
        Alert(
            "carer_continuity",
            "low",
            f"continuity:{iso_week(snapshot.as_of)}",
            f"{len(carers)} different carers visited in the 4 weeks to {long_date(snapshot.as_of)}, "
            f"more than the {limit} agreed: the person may not know who is coming.",
            tuple(f"Carer {ref}" for ref in carers),
        )
    ]


def review_overdue(snapshot: PackageSnapshot) -> list[Alert]:
    """The next review's date has passed (after ``review_grace_days``)."""
    due = snapshot.next_review_due
    t = snapshot.thresholds
    if due is None:
        return []
    late_by = (snapshot.as_of - due).days
    if late_by <= t.review_grace_days:
        return []
    severity = "high" if late_by > t.review_high_after_days else "medium"
    last = f"last review {long_date(snapshot.last_review)}" if snapshot.last_review else "no review recorded yet"
    return [
        Alert(
            "review_overdue",
            severity,
            f"review:{due.isoformat()}:{severity}",
            f"The review due on {long_date(due)} is {_plural(late_by, 'day', 'days')} overdue.",
            (f"Review due {due.isoformat()}; {last}",),
        )
    ]


RULES: tuple[Rule, ...] = (
    overspend,
    underspend,
    missed_visits,
    late_visits,
    short_visits,
    preference_breaches,
    carer_continuity,
    dp_surplus,
    ineligible_spend,
    review_overdue,
)


def evaluate(snapshot: PackageSnapshot, rules: Iterable[Rule] = RULES) -> list[Alert]:
    """Run every rule over the snapshot: alerts in rule order, then each rule's own (date) order."""
    alerts: list[Alert] = []
    for rule in rules:
        alerts.extend(rule(snapshot))
    return alerts


def new_alerts(alerts: Iterable[Alert], raised_causes: Iterable[str]) -> list[Alert]:
    """The alerts whose cause has not been raised before (nor earlier in ``alerts``)."""
    seen = set(raised_causes)
    fresh = []
    for alert in alerts:
        if alert.cause not in seen:
            seen.add(alert.cause)
            fresh.append(alert)
    return fresh
