"""The plan cost report (``docs/formats.md`` section 2), as printed by the CLI and the API.

Amounts and hours are rounded half-up to two places here, once, when printed.
"""

from __future__ import annotations

from careledger.domain.costing import PlanCost
from careledger.domain.money import Decimal, format_gbp, format_money


def plan_cost_dict(cost: PlanCost, *, period_cost: Decimal | None = None) -> dict:
    period = cost.period_cost if period_cost is None else period_cost
    headroom = cost.budget - period
    return {
        "weekly_hours": format_money(cost.weekly_hours),
        "weekly_cost": format_money(cost.weekly_cost),
        "annual_cost_52_weeks": format_money(cost.annual_cost_52_weeks),
        "period_cost": format_money(period),
        "budget": format_money(cost.budget),
        "headroom": format_money(headroom),
        "fits_budget": headroom >= 0,
        "visits_in_period": cost.visits_in_period,
        "visits_by_rate": cost.visits_by_rate,
    }


def plan_cost_text(cost: PlanCost, *, title: str = "") -> str:
    """A short report a person can read."""
    data = plan_cost_dict(cost)
    by_rate = ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in cost.visits_by_rate.items() if n)
    lines = [
        title,
        f"  Hours a week             {data['weekly_hours']}",
        f"  Cost a week (standard)   {format_gbp(cost.weekly_cost)}",
        f"  Cost over 52 weeks       {format_gbp(cost.annual_cost_52_weeks)}",
        f"  Cost over the period     {format_gbp(cost.period_cost)}  ({cost.visits_in_period} visits: {by_rate or 'none'})",
        f"  Budget                   {format_gbp(cost.budget)}",
        f"  Headroom                 {format_gbp(cost.budget - cost.period_cost)}"
        + ("" if data["fits_budget"] else "  -- the plan costs more than the budget"),
        "  (amounts rounded half-up to the penny)",
    ]
    return "\n".join(line for line in lines if line)
