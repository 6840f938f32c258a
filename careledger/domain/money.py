"""Exact money: the one module that parses, divides and rounds amounts.

Amounts are :class:`decimal.Decimal` pounds, never floats. Arithmetic inside the
domain keeps full precision; rounding happens once, at the edge (printing, storing
a payable amount), half-up to the penny, through :func:`round_money`.

Costs of care are ``minutes x hourly rate / 60``. A third of an hour at £12.50 is
£4.1666..., so costs are accumulated as *rate-minutes* (``minutes x rate``, always
exact because a rate has at most a few decimal places) and divided by 60 once,
by :func:`rate_minutes_to_money`, in a context wide enough that the half-up
rounding after it is decided correctly.
"""

from __future__ import annotations

import decimal
from decimal import ROUND_HALF_UP, Decimal

__all__ = [
    "Decimal",
    "ZERO",
    "PENNY",
    "MoneyError",
    "parse_money",
    "parse_rate",
    "round_money",
    "format_money",
    "format_rate",
    "format_gbp",
    "rate_minutes_to_money",
    "minutes_to_hours",
    "divide",
]

ZERO = Decimal("0")
PENNY = Decimal("0.01")
_WIDE = decimal.Context(prec=60, rounding=ROUND_HALF_UP)
# Largest amounts accepted: money is stored as 12 digits with 2 places, a rate as 10 with 4.
MONEY_LIMIT = Decimal("10000000000")
RATE_LIMIT = Decimal("1000000")


class MoneyError(ValueError):
    """A value that is not an exact amount of money."""


def _parse_decimal(value: object, *, places: int, what: str, limit: Decimal) -> Decimal:
    if isinstance(value, bool):
        raise MoneyError(f"{what} must be a decimal string such as \"12.50\", not true or false")
    if isinstance(value, float):
        # A float has already lost exactness: 0.1 is not one tenth.
        raise MoneyError(f"{what} must be a decimal string such as \"12.50\", not a float")
    if isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, Decimal):
        result = value
    elif isinstance(value, str):
        text = value.strip()
        try:
            result = Decimal(text)
        except decimal.InvalidOperation:
            raise MoneyError(f"{what} {value!r} is not a number") from None
    else:
        raise MoneyError(f"{what} must be a decimal string such as \"12.50\", not {type(value).__name__}")
    shown = repr(value) if isinstance(value, str) else str(result)  # 12.505, not Decimal('12.505')
    if not result.is_finite():
        raise MoneyError(f"{what} {shown} is not a finite number")
    exponent = result.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > places:
        raise MoneyError(f"{what} {shown} has more than {places} decimal places")
    if result.copy_abs() >= limit:
        # Beyond what is stored (and what round_money's 60-digit context can quantize).
        raise MoneyError(f"{what} {shown} is too large: it must be less than {limit:,f}")
    return result


def parse_money(value: object, *, what: str = "amount") -> Decimal:
    """An amount in pounds, exact to the penny: ``"4387.50"`` -> ``Decimal("4387.50")``."""
    return _parse_decimal(value, places=2, what=what, limit=MONEY_LIMIT)


def parse_rate(value: object, *, what: str = "rate") -> Decimal:
    """An hourly rate in pounds; up to 4 decimal places (some contracts price to 0.1p)."""
    return _parse_decimal(value, places=4, what=what, limit=RATE_LIMIT)


def round_money(amount: Decimal) -> Decimal:
    """Round half-up to the penny. The only rounding of money in careledger."""
    return amount.quantize(PENNY, rounding=ROUND_HALF_UP, context=_WIDE)


def format_money(amount: Decimal) -> str:
    """``Decimal("84.375")`` -> ``"84.38"``: the interchange form (no symbol, no commas)."""
    rounded = round_money(amount)
    return f"{rounded if rounded else abs(rounded):f}"  # never "-0.00"


def format_rate(rate: Decimal) -> str:
    """A rate as written in files: at least two places, more only when they carry value.

    ``Decimal("12.5000")`` (as the database stores it) -> ``"12.50"``; ``"12.345"`` stays.
    Rates are not rounded: a contract's rate is exact.
    """
    text = f"{rate.normalize():f}"
    whole, _, fraction = text.partition(".")
    return f"{whole}.{fraction.ljust(2, '0')}"


def format_gbp(amount: Decimal) -> str:
    """``Decimal("4387.5")`` -> ``"£4,387.50"``; negatives as ``"-£12.00"``."""
    rounded = round_money(amount)
    sign = "-" if rounded < 0 else ""
    return f"{sign}£{abs(rounded):,.2f}"


def rate_minutes_to_money(rate_minutes: Decimal) -> Decimal:
    """Turn a sum of ``minutes x hourly rate`` into pounds, unrounded but exact enough.

    The division by 60 is done in a 60-digit context: the result either terminates
    (and is exact) or is not a half-penny tie, so rounding it later is correct.
    """
    return _WIDE.divide(rate_minutes, Decimal(60))


def minutes_to_hours(minutes: int | Decimal) -> Decimal:
    return _WIDE.divide(Decimal(minutes), Decimal(60))


def divide(numerator: Decimal | int, denominator: Decimal | int) -> Decimal:
    """Exact-enough division for averages (60 significant digits; round later, once)."""
    return _WIDE.divide(Decimal(numerator), Decimal(denominator))
