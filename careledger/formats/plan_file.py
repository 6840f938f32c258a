"""The care plan file, ``careledger/plan@1`` (``docs/formats.md`` section 1).

:func:`parse_plan` reads the whole file and reports *every* problem it finds, each
with its JSON path (``$.services[0].visits[1].days[2]``) and a reason a person can
act on; it returns a :class:`~careledger.domain.plans.Plan` only when there are
none. Money may be a decimal string (``"12.50"``, preferred) or a JSON number,
which is read exactly, never through a float.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from careledger.domain.money import Decimal, MoneyError, format_money, format_rate, parse_money, parse_rate
from careledger.domain.plans import (
    AscotDomain,
    Budget,
    DeliveryMechanism,
    Funding,
    FundingSource,
    Outcome,
    Person,
    Plan,
    Preferences,
    Service,
)
from careledger.domain.rates import RateCard
from careledger.domain.schedules import WEEKDAY_CODES, ScheduleError, VisitPattern, parse_rule

FORMAT = "careledger/plan@1"
CARER_GENDERS = ("female", "male")
MAX_REF_LENGTH = 64

__all__ = ["FORMAT", "Problem", "PlanFileError", "parse_plan", "plan_from_data", "plan_to_data", "dump_plan"]


@dataclass(frozen=True)
class Problem:
    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "reason": self.reason}


class PlanFileError(ValueError):
    """A plan file with one or more problems; nothing from it may be written."""

    def __init__(self, problems: list[Problem], source: str = "plan") -> None:
        self.problems = problems
        self.source = source
        super().__init__(f"{source}: {len(problems)} problem(s)\n" + "\n".join(f"  {p}" for p in problems))


_MISSING = object()


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "true/false", int: "a number", Decimal: "a number", str: "a string", list: "a list", dict: "an object"}.get(
        type(value), type(value).__name__
    )


class _Reader:
    """Reads values out of parsed JSON, recording a problem (and returning None) for each bad one."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def problem(self, path: str, reason: str) -> None:
        self.problems.append(Problem(path, reason))

    def get(self, obj: dict[str, Any], key: str, path: str, *, required: bool) -> Any:
        value = obj.get(key, _MISSING)
        if value is _MISSING or (value is None and required):
            if required:
                self.problem(f"{path}.{key}", "is required")
            return _MISSING
        return value

    def obj(self, parent: dict[str, Any], key: str, path: str, *, required: bool = True) -> dict[str, Any] | None:
        value = self.get(parent, key, path, required=required)
        if value is _MISSING or value is None:
            return None
        if not isinstance(value, dict):
            self.problem(f"{path}.{key}", f"must be an object, not {_kind(value)}")
            return None
        return value

    def array(self, parent: dict[str, Any], key: str, path: str, *, required: bool = True, non_empty: bool = False) -> list[Any]:
        value = self.get(parent, key, path, required=required)
        if value is _MISSING or value is None:
            return []
        if not isinstance(value, list):
            self.problem(f"{path}.{key}", f"must be a list, not {_kind(value)}")
            return []
        if non_empty and not value:
            self.problem(f"{path}.{key}", "must have at least one entry")
        return value

    def string(self, parent: dict[str, Any], key: str, path: str, *, required: bool = True, ref: bool = False) -> str | None:
        value = self.get(parent, key, path, required=required)
        if value is _MISSING or value is None:
            return None
        where = f"{path}.{key}"
        if not isinstance(value, str):
            self.problem(where, f"must be a string, not {_kind(value)}")
            return None
        if required and not value.strip():
            self.problem(where, "must not be empty")
            return None
        if ref:
            if len(value) > MAX_REF_LENGTH:
                self.problem(where, f"must be at most {MAX_REF_LENGTH} characters")
                return None
            if any(ch.isspace() for ch in value):
                self.problem(where, f"{value!r} must not contain spaces")
                return None
        return value

    def choice(self, parent: dict[str, Any], key: str, path: str, choices: tuple[str, ...], *, required: bool = True) -> str | None:
        value = self.string(parent, key, path, required=required)
        if value is not None and value not in choices:
            self.problem(f"{path}.{key}", f"{value!r} is not one of {', '.join(choices)}")
            return None
        return value

    def date(self, parent: dict[str, Any], key: str, path: str, *, required: bool = True) -> date | None:
        value = self.string(parent, key, path, required=required)
        if value is None:
            return None
        try:
            if len(value) != 10:
                raise ValueError
            return date.fromisoformat(value)
        except ValueError:
            self.problem(f"{path}.{key}", f"{value!r} is not a date in the form YYYY-MM-DD")
            return None

    def clock(self, parent: dict[str, Any], key: str, path: str) -> time | None:
        value = self.string(parent, key, path)
        if value is None:
            return None
        try:
            if len(value) != 5 or value[2] != ":":
                raise ValueError
            return time.fromisoformat(value)
        except ValueError:
            self.problem(f"{path}.{key}", f"{value!r} is not a 24-hour time in the form HH:MM")
            return None

    def whole(self, parent: dict[str, Any], key: str, path: str, *, required: bool = True, low: int, high: int, unit: str) -> int | None:
        value = self.get(parent, key, path, required=required)
        if value is _MISSING or value is None:
            return None
        where = f"{path}.{key}"
        if isinstance(value, bool) or not isinstance(value, int):
            if not (isinstance(value, Decimal) and value == value.to_integral_value()):
                self.problem(where, f"must be a whole number of {unit}, not {_kind(value)} {json_repr(value)}")
                return None
        # Range first: int() of a Decimal such as 1E+999999999 would take for ever.
        if not low <= value <= high:
            self.problem(where, f"{value} is out of range: must be from {low} to {high} {unit}")
            return None
        return int(value)

    def boolean(self, parent: dict[str, Any], key: str, path: str, *, default: bool) -> bool:
        value = self.get(parent, key, path, required=False)
        if value is _MISSING or value is None:
            return default
        if not isinstance(value, bool):
            self.problem(f"{path}.{key}", f"must be true or false, not {_kind(value)}")
            return default
        return value

    def money(self, parent: dict[str, Any], key: str, path: str, *, required: bool = True, rate: bool = False) -> Decimal | None:
        value = self.get(parent, key, path, required=required)
        if value is _MISSING or value is None:
            return None
        where = f"{path}.{key}"
        try:
            amount = (parse_rate if rate else parse_money)(value, what="value")
        except MoneyError as error:
            self.problem(where, str(error).removeprefix("value ").replace("value must", "must"))
            return None
        if amount < 0:
            self.problem(where, f"{json_repr(value)} must not be negative")
            return None
        return amount


def json_repr(value: Any) -> str:
    if isinstance(value, Decimal):
        return str(value)
    try:
        return json.dumps(value)
    except TypeError:
        return repr(value)


ProviderCheck = Callable[[str], str | None]
"""Given a provider ref, return None if it may be used, else the reason it may not."""


def parse_plan(raw: str | bytes, *, source: str = "plan", check_provider: ProviderCheck | None = None) -> Plan:
    """Parse a plan file's text; raise :class:`PlanFileError` listing every problem."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise PlanFileError([Problem("$", f"is not UTF-8 text (byte {error.start})")], source) from None
    if not raw.strip():
        raise PlanFileError([Problem("$", "the file is empty")], source)
    try:
        data = json.loads(raw, parse_float=Decimal, parse_constant=_no_constants)
    except (json.JSONDecodeError, ValueError) as error:
        where = f" at line {error.lineno}, column {error.colno}" if isinstance(error, json.JSONDecodeError) else ""
        message = error.msg if isinstance(error, json.JSONDecodeError) else str(error)
        raise PlanFileError([Problem("$", f"is not valid JSON: {message}{where}")], source) from None
    except RecursionError:
        raise PlanFileError([Problem("$", "is not valid JSON: nested too deeply")], source) from None
    return plan_from_data(data, source=source, check_provider=check_provider)


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


def plan_from_data(data: Any, *, source: str = "plan", check_provider: ProviderCheck | None = None) -> Plan:
    r = _Reader()
    if not isinstance(data, dict):
        raise PlanFileError([Problem("$", f"must be a JSON object, not {_kind(data)}")], source)
    fmt = r.string(data, "format", "$")
    if fmt is not None and fmt != FORMAT:
        r.problem("$.format", f"{fmt!r} is not a format careledger reads; expected {FORMAT!r}")

    person = _person(r, data)
    budget = _budget(r, data)
    services = _services(r, data, check_provider)
    outcomes = _outcomes(r, data)
    review = r.whole(data, "review_every_weeks", "$", required=False, low=1, high=104, unit="weeks")
    contingency = r.string(data, "contingency", "$", required=False) or ""

    if r.problems:
        raise PlanFileError(r.problems, source)
    assert person is not None and budget is not None
    return Plan(person, budget, tuple(services), tuple(outcomes), review, contingency)


def _person(r: _Reader, data: dict[str, Any]) -> Person | None:
    obj = r.obj(data, "person", "$")
    if obj is None:
        return None
    path = "$.person"
    ref = r.string(obj, "ref", path, ref=True)
    given = r.string(obj, "given_name", path)
    family = r.string(obj, "family_name", path)
    birth = r.date(obj, "birth_date", path, required=False)
    prefs_obj = r.obj(obj, "preferences", path, required=False) or {}
    gender = r.choice(prefs_obj, "carer_gender", f"{path}.preferences", CARER_GENDERS, required=False)
    known = r.boolean(prefs_obj, "known_carers_only", f"{path}.preferences", default=False)
    if None in (ref, given, family):
        return None
    return Person(ref or "", given or "", family or "", birth, Preferences(gender, known))


def _budget(r: _Reader, data: dict[str, Any]) -> Budget | None:
    obj = r.obj(data, "budget", "$")
    if obj is None:
        return None
    path = "$.budget"
    amount = r.money(obj, "annual_amount", path)
    start = r.date(obj, "start_date", path)
    end = r.date(obj, "end_date", path)
    mechanism = r.choice(obj, "delivery_mechanism", path, tuple(m.value for m in DeliveryMechanism))
    contribution = r.money(obj, "weekly_contribution", path, required=False)
    account_ref = r.string(obj, "account_ref", path, ref=True, required=False)
    funding: list[Funding] = []
    for i, item in enumerate(r.array(obj, "funding", path, required=False)):
        where = f"{path}.funding[{i}]"
        if not isinstance(item, dict):
            r.problem(where, f"must be an object, not {_kind(item)}")
            continue
        source = r.choice(item, "source", where, tuple(s.value for s in FundingSource))
        share = r.money(item, "annual_amount", where)
        if source is not None and share is not None:
            funding.append(Funding(FundingSource(source), share))
    if start and end and end < start:
        r.problem(f"{path}.end_date", f"{end.isoformat()} is before start_date {start.isoformat()}")
        return None
    if start and end and (end - start).days > 3 * 366:
        r.problem(f"{path}.end_date", "a budget period may not be longer than three years")
        return None
    if amount is not None and funding and sum(f.annual_amount for f in funding) != amount:
        total = sum(f.annual_amount for f in funding)
        r.problem(f"{path}.funding", f"the shares add up to {format_money(total)}, not the annual_amount {format_money(amount)}")
    if None in (amount, start, end, mechanism):
        return None
    assert amount is not None and start is not None and end is not None and mechanism is not None
    return Budget(amount, start, end, DeliveryMechanism(mechanism), contribution if contribution is not None else Decimal(0), tuple(funding), account_ref or None)


def _services(r: _Reader, data: dict[str, Any], check_provider: ProviderCheck | None) -> list[Service]:
    services: list[Service] = []
    seen: set[str] = set()
    for i, item in enumerate(r.array(data, "services", "$", non_empty=True)):
        path = f"$.services[{i}]"
        if not isinstance(item, dict):
            r.problem(path, f"must be an object, not {_kind(item)}")
            continue
        before = len(r.problems)
        ref = r.string(item, "ref", path, ref=True)
        if ref is not None and ref in seen:
            r.problem(f"{path}.ref", f"{ref!r} is used by another service in this plan")
        seen.add(ref or "")
        provider = r.string(item, "provider", path, ref=True)
        if provider is not None and check_provider is not None:
            reason = check_provider(provider)
            if reason:
                r.problem(f"{path}.provider", reason)
        component = r.string(item, "service_component", path, required=False) or ""
        rates = _rates(r, item, path)
        visits = _visits(r, item, path)
        if len(r.problems) == before and rates is not None:
            services.append(Service(ref or "", provider or "", rates, tuple(visits), component))
    return services


def _rates(r: _Reader, item: dict[str, Any], path: str) -> RateCard | None:
    obj = r.obj(item, "rates", path)
    if obj is None:
        return None
    where = f"{path}.rates"
    standard = r.money(obj, "standard", where, rate=True)
    weekend = r.money(obj, "weekend", where, required=False, rate=True)
    holiday = r.money(obj, "bank_holiday", where, required=False, rate=True)
    if standard is None:
        return None
    return RateCard(standard, weekend, holiday)


def _visits(r: _Reader, item: dict[str, Any], path: str) -> list[VisitPattern]:
    patterns: list[VisitPattern] = []
    for j, visit in enumerate(r.array(item, "visits", path, non_empty=True)):
        where = f"{path}.visits[{j}]"
        if not isinstance(visit, dict):
            r.problem(where, f"must be an object, not {_kind(visit)}")
            continue
        before = len(r.problems)
        start = r.clock(visit, "start", where)
        minutes = r.whole(visit, "minutes", where, low=1, high=24 * 60, unit="minutes")
        has_days, has_rule = "days" in visit, "rrule" in visit
        days: list[str] = []
        rule: str | None = None
        if has_days == has_rule:
            r.problem(where, "give either days (e.g. [\"MO\", \"WE\"]) or an rrule, not both or neither")
        elif has_days:
            raw_days = r.array(visit, "days", where, non_empty=True)
            for k, day in enumerate(raw_days):
                if not isinstance(day, str) or day not in WEEKDAY_CODES:
                    r.problem(f"{where}.days[{k}]", f"unknown weekday {json_repr(day)}; use one of {', '.join(WEEKDAY_CODES)}")
                elif day in days:
                    r.problem(f"{where}.days[{k}]", f"{day} is listed twice")
                else:
                    days.append(day)
        else:
            rule = r.string(visit, "rrule", where)
            if rule is not None:
                try:
                    parse_rule(rule, datetime(2000, 1, 3, 9, 0))
                except ScheduleError as error:
                    r.problem(f"{where}.rrule", str(error))
        if len(r.problems) == before and start is not None and minutes is not None:
            try:
                patterns.append(VisitPattern(start, minutes, tuple(days), rule))
            except ScheduleError as error:  # pragma: no cover - the checks above come first
                r.problem(where, str(error))
    return patterns


def _outcomes(r: _Reader, data: dict[str, Any]) -> list[Outcome]:
    outcomes: list[Outcome] = []
    seen: set[str] = set()
    for i, item in enumerate(r.array(data, "outcomes", "$", required=False)):
        path = f"$.outcomes[{i}]"
        if not isinstance(item, dict):
            r.problem(path, f"must be an object, not {_kind(item)}")
            continue
        ref = r.string(item, "ref", path, ref=True)
        if ref is not None and ref in seen:
            r.problem(f"{path}.ref", f"{ref!r} is used by another outcome in this plan")
        seen.add(ref or "")
        text = r.string(item, "text", path)
        domain = r.choice(item, "domain", path, tuple(d.value for d in AscotDomain))
        if ref and text and domain:
            outcomes.append(Outcome(ref, text, AscotDomain(domain)))
    return outcomes


def plan_to_data(plan: Plan) -> dict[str, Any]:
    """The plan as a ``careledger/plan@1`` document (money as decimal strings)."""
    person = plan.person
    budget = plan.budget
    person_data: dict[str, Any] = {"ref": person.ref, "given_name": person.given_name, "family_name": person.family_name}
    if person.birth_date:
        person_data["birth_date"] = person.birth_date.isoformat()
    person_data["preferences"] = {
        "carer_gender": person.preferences.carer_gender,
        "known_carers_only": person.preferences.known_carers_only,
    }
    budget_data: dict[str, Any] = {
        "annual_amount": format_money(budget.annual_amount),
        "start_date": budget.start_date.isoformat(),
        "end_date": budget.end_date.isoformat(),
        "delivery_mechanism": budget.delivery_mechanism.value,
        "weekly_contribution": format_money(budget.weekly_contribution),
    }
    if budget.account_ref:
        budget_data["account_ref"] = budget.account_ref
    if budget.funding:
        budget_data["funding"] = [{"source": f.source.value, "annual_amount": format_money(f.annual_amount)} for f in budget.funding]
    services = []
    for service in plan.services:
        visits = []
        for pattern in service.visits:
            visit: dict[str, Any] = {"start": pattern.start.strftime("%H:%M"), "minutes": pattern.minutes}
            if pattern.rrule:
                visit = {"rrule": pattern.rrule, **visit}
            else:
                visit = {"days": list(pattern.days), **visit}
            visits.append(visit)
        services.append(
            {
                "ref": service.ref,
                "provider": service.provider_ref,
                "service_component": service.service_component,
                "rates": {kind: format_rate(rate) for kind, rate in service.rates.as_dict().items()},
                "visits": visits,
            }
        )
    data: dict[str, Any] = {
        "format": FORMAT,
        "person": person_data,
        "budget": budget_data,
        "services": services,
        "outcomes": [{"ref": o.ref, "text": o.text, "domain": o.domain.value} for o in plan.outcomes],
    }
    if plan.review_every_weeks is not None:
        data["review_every_weeks"] = plan.review_every_weeks
    if plan.contingency:
        data["contingency"] = plan.contingency
    return data


def dump_plan(plan: Plan) -> str:
    return json.dumps(plan_to_data(plan), indent=2, ensure_ascii=False) + "\n"
