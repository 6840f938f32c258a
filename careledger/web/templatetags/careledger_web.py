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
