"""Template helpers for the pages: GOV.UK form inputs, money, red/amber/green tags in words."""

from __future__ import annotations

from decimal import Decimal

from django import template
from django.utils.html import format_html

from careledger.domain.money import format_gbp, round_money

register = template.Library()

_INPUT_CLASS = {"textarea": "govuk-textarea", "select": "govuk-select", "checkbox": "govuk-checkboxes__input"}


@register.filter
def govuk_input(field):
    """A form field's widget with GOV.UK classes, marked invalid and described by its error and hint."""
    kind = getattr(field.field.widget, "input_type", None) or field.field.widget.__class__.__name__.lower()
    base = _INPUT_CLASS.get(kind, "govuk-input")
    attrs = {"class": base + (f" {base}--error" if field.errors else "")}
    described = [f"{field.auto_id}_helptext"] if field.help_text else []
    if field.errors:
        described.append(f"{field.auto_id}_error")
    if described:
        attrs["aria-describedby"] = " ".join(described)
    return field.as_widget(attrs=attrs)


@register.filter
def gbp(amount) -> str:
    """£1,234.56 (rounded once, half-up to the penny); a negative amount as −£1,234.56."""
    if amount is None or amount == "":
        return ""
    value = round_money(Decimal(str(amount)))
    return ("−" if value < 0 else "") + format_gbp(abs(value))


RAG_WORDS = {"red": "Red", "amber": "Amber", "green": "Green"}
RAG_CLASS = {"red": "govuk-tag--red", "amber": "govuk-tag--orange", "green": "govuk-tag--green"}


@register.filter
def rag_tag(rag: str):
    """A GOV.UK tag saying Red, Amber or Green in words (colour is a second cue only)."""
    rag = str(rag or "")
    return format_html('<strong class="govuk-tag {}">{}</strong>', RAG_CLASS.get(rag, "govuk-tag--grey"), RAG_WORDS.get(rag, rag or "Unknown"))


@register.simple_tag
def query(request, **changes):
    """The current query string with some parameters changed (None or "" removes one): for sort, filter and page links."""
    params = request.GET.copy()
    for key, value in changes.items():
        if value is None or value == "":
            params.pop(key, None)
        else:
            params[key] = value
    encoded = params.urlencode()
    return "?" + encoded if encoded else "?"


@register.simple_tag
def page_links(request, page):
    """``web.tables.page_links`` for a template that has a Django Page (``{% page_links request page_obj as links %}``)."""
    from careledger.web.tables import page_links as links_of

    return links_of(request, page)


@register.filter
def mechanism_label(value: str) -> str:
    """``isf`` -> "Individual service fund (provider-managed)"."""
    from careledger.domain.plans import DeliveryMechanism

    try:
        return DeliveryMechanism(value).label
    except ValueError:
        return value


SEVERITY = {"high": ("High", "govuk-tag--red"), "medium": ("Medium", "govuk-tag--orange"), "low": ("Low", "govuk-tag--grey")}
ALERT_NAMES = {
    "overspend": "Overspend forecast",
    "underspend": "Underspend: care may be missing",
    "missed_visits": "Missed visits",
    "late_visits": "Late visits",
    "short_visits": "Short visits",
    "preference_breach": "Carer not as the person asked",
    "carer_continuity": "Too many different carers",
    "dp_surplus": "Direct payment surplus",
    "ineligible_spend": "Spending that may not be allowed",
    "review_overdue": "Review overdue",
}


@register.filter
def severity_tag(severity: str):
    words, css = SEVERITY.get(str(severity), (str(severity).title(), "govuk-tag--grey"))
    return format_html('<strong class="govuk-tag {}">{}</strong>', css, words)


@register.filter
def alert_name(code: str) -> str:
    return ALERT_NAMES.get(str(code), str(code).replace("_", " ").capitalize())


@register.filter
def signed_gbp(amount) -> str:
    """A variance in words as well as sign: "£120.00 over", "£27.08 under", "on budget"."""
    if amount is None or amount == "":
        return ""
    value = round_money(Decimal(str(amount)))
    if value == 0:
        return "on budget"
    return f"{format_gbp(abs(value))} {'over' if value > 0 else 'under'}"


DAY_NAMES = {"MO": "Monday", "TU": "Tuesday", "WE": "Wednesday", "TH": "Thursday", "FR": "Friday", "SA": "Saturday", "SU": "Sunday"}


@register.filter
def pattern_words(pattern) -> str:
    """A visit pattern in words: "Monday, Wednesday and Friday at 09:00 for 60 minutes"."""
    days = [DAY_NAMES.get(d, d) for d in getattr(pattern, "days", ()) or ()]
    if len(days) == 7:
        when = "Every day"
    elif days:
        when = ", ".join(days[:-1]) + (" and " if len(days) > 1 else "") + days[-1]
    else:
        when = f"On the dates of the rule {pattern.rrule}"
    return f"{when} at {pattern.start:%H:%M} for {pattern.minutes} minutes"


@register.filter
def minutes_words(minutes) -> str:
    """90 -> "1 hour 30 minutes"."""
    minutes = int(minutes or 0)
    hours, rest = divmod(minutes, 60)
    parts = []
    if hours:
        parts.append(f"{hours} hour{'s' if hours != 1 else ''}")
    if rest or not hours:
        parts.append(f"{rest} minute{'s' if rest != 1 else ''}")
    return " ".join(parts)


@register.filter
def attr_amount(point):
    return getattr(point, "amount", None)


@register.filter
def gbp_short(amount) -> str:
    """Axis labels: £0, £500, £1.5k, £12k, £1.2m (for a chart's scale only, never a figure)."""
    value = Decimal(str(amount))
    if value >= 1_000_000:
        return f"£{(value / 1_000_000).normalize():f}m"
    if value >= 1000:
        return f"£{(value / 1000).quantize(Decimal('0.1')).normalize():f}k"
    return f"£{value.normalize():f}"


@register.filter
def isodate(value) -> str:
    """ "2026-05-18" (as the status JSON has it) -> "18 May 2026"."""
    from datetime import date as _date

    if not value:
        return ""
    try:
        day = value if isinstance(value, _date) else _date.fromisoformat(str(value))
    except ValueError:
        return str(value)
    return f"{day.day} {day:%B %Y}"
