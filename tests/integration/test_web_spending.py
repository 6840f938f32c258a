"""The package chart's figures (careledger.web.spending and .charts): exact, and the same as the plan's cost."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

from careledger.domain.costing import cost_plan
from careledger.domain.ledger import visit_entry
from careledger.domain.money import round_money
from careledger.formats.plan_file import plan_from_data
from careledger.web.charts import spending_chart
from careledger.web.spending import rows_of, spending
from tests.conftest import MARY_FILE

MARY = plan_from_data(json.loads(MARY_FILE.read_text()))
START, END = MARY.budget.start_date, MARY.budget.end_date


def test_planned_spending_ends_at_the_plans_cost_for_the_period():
    money = spending(plans=[(START, MARY)], start=START, end=END, budget=MARY.budget.annual_amount, rows=[], as_of=date(2026, 5, 17))
    assert money.planned[-1].amount == cost_plan(MARY).period_cost == Decimal("4387.50")
    assert money.rows[-1].day == END and money.rows[-1].planned == Decimal("4387.50")
    assert [r.day for r in money.rows[:2]] == [date(2026, 4, 30), date(2026, 5, 31)]


def test_actual_spending_is_the_ledger_exactly_and_the_forecast_adds_the_rest_of_the_plan():
    as_of = date(2026, 4, 12)  # the first week
    entries = [visit_entry(f"v{n}", date(2026, 4, 6 + n), minutes=50, rate=Decimal("12.50")) for n in range(7)]  # 7 x £10.41666...
    money = spending(plans=[(START, MARY)], start=START, end=END, budget=MARY.budget.annual_amount, rows=rows_of(entries), as_of=as_of)
    spent = money.actual[-1].amount
    assert money.actual[-1].day == as_of and round_money(spent) == Decimal("72.92")  # 350 minutes at £12.50, divided once
    planned_first_week = Decimal("84.375")  # 6.75 hours at £12.50
    assert money.planned[1].amount == planned_first_week  # a week after the start
    assert money.forecast_end == spent + Decimal("4387.50") - planned_first_week
    april = money.rows[0]
    assert april.actual is None and april.forecast == spent + april.planned - planned_first_week


def test_the_chart_puts_every_line_inside_the_plot():
    entries = [visit_entry("v", date(2026, 4, 7), minutes=60, rate=Decimal("12.50"))]
    money = spending(plans=[(START, MARY)], start=START, end=END, budget=MARY.budget.annual_amount, rows=rows_of(entries), as_of=date(2026, 6, 1))
    chart = spending_chart(start=START, end=END, as_of=date(2026, 6, 1), budget=MARY.budget.annual_amount,
                           planned=money.planned, actual=money.actual, forecast=money.forecast)  # fmt: skip
    for line in (chart.planned, chart.actual, chart.forecast):
        for point in line.split():
            x, y = map(float, point.split(","))
            assert chart.plot_left <= x <= chart.plot_right and chart.plot_top <= y <= chart.plot_bottom
    assert chart.plot_top <= chart.budget_y <= chart.plot_bottom and chart.today_x is not None
    assert chart.y_ticks[0][1] == 0 and chart.y_ticks[-1][1] >= MARY.budget.annual_amount
    assert [label for _, label, _ in chart.x_ticks][:3] == ["May", "Jun", "Jul"] and chart.x_ticks[0][2] == "2026"


def test_with_nothing_spent_the_forecast_is_the_rest_of_the_plan():
    as_of = date(2026, 5, 17)
    money = spending(plans=[(START, MARY)], start=START, end=END, budget=MARY.budget.annual_amount, rows=[], as_of=as_of)
    planned_so_far = next(p.amount for p in money.planned if p.day == as_of)
    assert money.actual[-1].amount == 0 and money.forecast_end == Decimal("4387.50") - planned_so_far
