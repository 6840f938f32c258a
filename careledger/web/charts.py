"""Server-drawn SVG charts (no JavaScript): cumulative spending against the plan and the budget.

:func:`spending_chart` turns the series into the coordinates a template draws; the same figures
go in a table beside the chart for screen readers (the SVG is an image with a title and summary).
Money arrives exact; it is only turned into pixels (floats) here, never shown from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

WIDTH, HEIGHT = 720, 340
LEFT, RIGHT, TOP, BOTTOM = 84, 24, 16, 52
MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()


@dataclass(frozen=True)
class Point:
    day: date
    amount: Decimal


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    planned: str  # SVG polyline points
    actual: str
    forecast: str
    budget_y: float
    today_x: float | None
    y_ticks: list[tuple[float, Decimal]]
    x_ticks: list[tuple[float, str, str]]  # x, month, year (on the first month and each January)
    plot_left: int
    plot_right: int
    plot_top: int
    plot_bottom: int


def _nice_step(top: Decimal) -> Decimal:
    """A round step giving about 4 to 6 gridlines up to ``top``."""
    if top <= 0:
        return Decimal(100)
    raw = top / 5
    magnitude = Decimal(10) ** (len(str(int(raw))) - 1)
    for factor in (1, 2, 2.5, 5, 10):
        step = magnitude * Decimal(str(factor))
        if step >= raw:
            return step
    return magnitude * 10


def spending_chart(*, start: date, end: date, as_of: date, budget: Decimal, planned: list[Point], actual: list[Point], forecast: list[Point]) -> Chart:
    highest = max([budget] + [p.amount for p in planned + actual + forecast] + [Decimal(1)])
    step = _nice_step(highest)
    top = (highest / step).to_integral_value(rounding="ROUND_CEILING") * step
    days = max((end - start).days, 1)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(day: date) -> float:
        return round(LEFT + plot_w * (min(max((day - start).days, 0), days) / days), 1)

    def y(amount: Decimal) -> float:
        return round(TOP + plot_h * (1 - float(amount / top)), 1)

    def line(points: list[Point]) -> str:
        return " ".join(f"{x(p.day)},{y(p.amount)}" for p in points)

    y_ticks = []
    value = Decimal(0)
    while value <= top:
        y_ticks.append((y(value), value))
        value += step
    x_ticks = []
    month = date(start.year, start.month, 1)
    while month <= end:
        if month >= start:
            year = str(month.year) if month.month == 1 or not x_ticks else ""
            x_ticks.append((x(month), MONTHS[month.month - 1], year))
        month = (month + timedelta(days=32)).replace(day=1)
    return Chart(
        WIDTH, HEIGHT, line(planned), line(actual), line(forecast), y(budget),
        x(as_of) if start <= as_of <= end else None, y_ticks, x_ticks, LEFT, WIDTH - RIGHT, TOP, HEIGHT - BOTTOM,
    )  # fmt: skip
