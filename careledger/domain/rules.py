"""Monitoring rules: how delivered visits are judged and paid (``formats.md`` section 5).

:class:`MonitoringRules` mirrors the monitoring fields of ``records.models.Contract``
by name and default, so a contract's settings can be passed as
``MonitoringRules(**{name: getattr(contract, name) for name in RULE_FIELDS})``
without this pure module knowing about the database.

Minutes are :class:`~decimal.Decimal` (clocked durations carry seconds); amounts are
exact and left unrounded, to be rounded once with :func:`money.round_money`.
"""

from __future__ import annotations

import decimal
from dataclasses import dataclass, fields
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP

from .money import Decimal, rate_minutes_to_money

__all__ = [
    "PAYMENT_BASES",
    "ROUNDINGS",
    "ROUNDING_STEPS",
    "STATUSES",
    "RULE_FIELDS",
    "DEFAULT_RULES",
    "MonitoringRules",
    "round_minutes",
    "payable_minutes",
    "payable_amount",
]

PAYMENT_BASES = ("planned_within_tolerance", "planned", "actual")
ROUNDINGS = ("nearest", "up", "down", "none")
ROUNDING_STEPS = (1, 5, 10, 15, 30, 60)
# Visit statuses of an electronic call monitoring export (formats.md section 3).
STATUSES = ("completed", "missed", "cancelled_by_person", "cancelled_by_provider", "in_progress")

_WIDE = decimal.Context(prec=60, rounding=ROUND_HALF_UP)
_MODES = {"nearest": ROUND_HALF_UP, "up": ROUND_CEILING, "down": ROUND_FLOOR}
_ZERO = Decimal(0)


@dataclass(frozen=True)
class MonitoringRules:
    """One contract's monitoring rules; the defaults are ``formats.md`` section 5.

    * ``match_window_minutes``: a visit matches a slot of the same service planned
      within this many minutes of the visit's planned start;
    * ``missed_after_minutes``: a slot with no completed visit is missed this long
      after its planned end;
    * ``late_after_minutes``: a visit starting more than this after its planned
      start is late;
    * ``short_below_percent``: a visit lasting less than this share of its planned
      minutes is short (0 to 100);
    * ``minimum_visit_minutes``: NICE QS123, visits shorter than this need the
      plan's agreement;
    * ``payment_basis``: ``planned_within_tolerance``, ``planned`` or ``actual``
      (see :func:`payable_minutes`), with ``payment_tolerance_minutes``;
    * ``rounding`` (``nearest``, ``up``, ``down`` or ``none``) of clocked minutes to
      ``rounding_step_minutes`` (1, 5, 10, 15, 30 or 60);
    * ``dp_surplus_weeks``: a direct payment account holding more than this many
      weeks of the budget has a surplus (not used in this module).
    """

    match_window_minutes: int = 120
    missed_after_minutes: int = 120
    late_after_minutes: int = 30
    short_below_percent: int = 80
    minimum_visit_minutes: int = 30
    payment_basis: str = "planned_within_tolerance"
    payment_tolerance_minutes: int = 5
    rounding: str = "nearest"
    rounding_step_minutes: int = 5
    dp_surplus_weeks: int = 8

    def __post_init__(self) -> None:
        for name in (
            "match_window_minutes",
            "missed_after_minutes",
            "late_after_minutes",
            "short_below_percent",
            "minimum_visit_minutes",
            "payment_tolerance_minutes",
            "rounding_step_minutes",
            "dp_surplus_weeks",
        ):
            value = getattr(self, name)
            # Whole numbers only (as the contract stores them); True is not 1 here.
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a whole number of at least 0, not {value!r}")
        if self.short_below_percent > 100:
            raise ValueError(f"short_below_percent must be at most 100, not {self.short_below_percent}")
        if self.rounding_step_minutes not in ROUNDING_STEPS:
            steps = ", ".join(str(s) for s in ROUNDING_STEPS)
            raise ValueError(f"rounding_step_minutes must be one of {steps}, not {self.rounding_step_minutes}")
        if self.payment_basis not in PAYMENT_BASES:
            raise ValueError(f"payment_basis must be one of {', '.join(PAYMENT_BASES)}, not {self.payment_basis!r}")
        if self.rounding not in ROUNDINGS:
            raise ValueError(f"rounding must be one of {', '.join(ROUNDINGS)}, not {self.rounding!r}")


RULE_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(MonitoringRules))
DEFAULT_RULES = MonitoringRules()


def round_minutes(minutes: Decimal, rules: MonitoringRules = DEFAULT_RULES) -> Decimal:
    """Round clocked minutes to the rules' step.

    ``nearest`` is half-up (42.5 -> 45 with a step of 5; 42.4 -> 40); ``up`` and
    ``down`` go to the step above or below (a whole number of steps is unchanged);
    ``none`` returns the minutes unchanged.
    """
    if rules.rounding == "none":
        return minutes
    step = Decimal(rules.rounding_step_minutes)
    steps = _WIDE.divide(Decimal(minutes), step).quantize(Decimal(1), rounding=_MODES[rules.rounding], context=_WIDE)
    return steps * step


def payable_minutes(
    *, planned_minutes: int, actual_minutes: Decimal | None, status: str, rules: MonitoringRules = DEFAULT_RULES
) -> Decimal:
    """The minutes a visit is paid for; never more than ``planned_minutes``.

    Only a ``completed`` visit pays; ``missed``, either kind of cancellation and a
    visit still ``in_progress`` pay nothing (an unknown status is a ValueError).

    * ``planned_within_tolerance`` (the default, ``formats.md`` section 5): the
      planned minutes when the actual duration is within
      ``payment_tolerance_minutes`` of planned or over it; otherwise the actual
      minutes rounded per the rules (to the nearest 5 by default), never more than
      planned.
    * ``planned``: the planned minutes, whatever was clocked.
    * ``actual``: the actual minutes rounded per the rules, never more than planned.
      Overruns (care beyond the plan) need the council's agreement and are paid, if
      at all, outside this rule.

    A completed visit without both clock times (``actual_minutes`` None) is paid
    its planned minutes under ``planned`` and nothing under the other bases: it
    cannot be checked, so it is held for review rather than paid.
    """
    if status not in STATUSES:
        raise ValueError(f"unknown visit status {status!r}; use one of {', '.join(STATUSES)}")
    if isinstance(planned_minutes, bool) or not isinstance(planned_minutes, int) or planned_minutes < 0:
        raise ValueError(f"planned_minutes must be a whole number of at least 0, not {planned_minutes!r}")
    if actual_minutes is not None and actual_minutes < 0:
        raise ValueError(f"actual_minutes cannot be negative ({actual_minutes})")
    if status != "completed":
        return _ZERO
    planned = Decimal(planned_minutes)
    if rules.payment_basis == "planned":
        return planned
    if actual_minutes is None:
        return _ZERO
    if rules.payment_basis == "planned_within_tolerance" and actual_minutes >= planned - rules.payment_tolerance_minutes:
        return planned
    return min(round_minutes(Decimal(actual_minutes), rules), planned)


def payable_amount(minutes: Decimal, rate: Decimal) -> Decimal:
    """``minutes / 60 x rate``, exact and unrounded (round once with ``round_money``).

    20 minutes at £12.50 an hour is £4.1666..., which ``round_money`` makes £4.17.
    """
    return rate_minutes_to_money(Decimal(minutes) * rate)
