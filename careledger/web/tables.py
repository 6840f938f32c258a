"""Sorting and paging a table from the query string, the same way on every page.

``?sort=<column>&dir=asc|desc&page=N``: :func:`sorted_by` orders a queryset by one of the
columns a view offers (anything else falls back to the default), :func:`paginate` cuts a page
(a page number out of range shows the last page rather than failing), and :func:`columns`
gives each header its link and ``aria-sort`` value for the template ``web/_sortable_th.html``.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest

PER_PAGE = 25


@dataclass(frozen=True)
class Column:
    key: str  # the ?sort= value; "" for a column that does not sort
    label: str
    numeric: bool = False
    current: bool = False
    direction: str = ""  # "asc" or "desc" when current
    href: str = ""

    @property
    def aria_sort(self) -> str:
        if not self.key:
            return ""
        return {"asc": "ascending", "desc": "descending"}.get(self.direction, "none") if self.current else "none"


def sort_params(request: HttpRequest, allowed: dict[str, tuple[str, ...]], default: str) -> tuple[str, str]:
    key = request.GET.get("sort", "")
    if key not in allowed:
        key = default
    direction = request.GET.get("dir", "")
    if direction not in ("asc", "desc"):
        direction = "asc"
    return key, direction


def sorted_by(rows: QuerySet, allowed: dict[str, tuple[str, ...]], key: str, direction: str) -> QuerySet:
    fields = allowed[key]
    if direction == "desc":
        fields = tuple(f[1:] if f.startswith("-") else "-" + f for f in fields)
    return rows.order_by(*fields)


def columns(request: HttpRequest, spec: list[tuple[str, str, bool]], key: str, direction: str) -> list[Column]:
    """Header cells: (sort key or "", label, numeric). A link flips the direction of the current column."""
    out = []
    for col_key, label, numeric in spec:
        if not col_key:
            out.append(Column("", label, numeric))
            continue
        current = col_key == key
        next_dir = "desc" if current and direction == "asc" else "asc"
        params = request.GET.copy()
        params["sort"], params["dir"] = col_key, next_dir
        params.pop("page", None)
        out.append(Column(col_key, label, numeric, current, direction if current else "", "?" + params.urlencode()))
    return out


def paginate(request: HttpRequest, rows, per_page: int = PER_PAGE, param: str = "page") -> Page:
    paginator = Paginator(rows, per_page)
    try:
        number = int(request.GET.get(param, "1"))
    except ValueError:
        number = 1
    return paginator.get_page(number)


def page_links(request: HttpRequest, page: Page, param: str = "page") -> dict:
    """What web/_pagination.html needs: previous/next and numbered links keeping the other parameters."""

    def href(number: int) -> str:
        params = request.GET.copy()
        params[param] = str(number)
        return "?" + params.urlencode()

    items = []
    for number in page.paginator.get_elided_page_range(page.number, on_each_side=1, on_ends=1):
        if number == page.paginator.ELLIPSIS:
            items.append({"ellipsis": True})
        else:
            items.append({"number": number, "href": href(number), "current": number == page.number})
    return {
        "previous": href(page.previous_page_number()) if page.has_previous() else "",
        "next": href(page.next_page_number()) if page.has_next() else "",
        "items": items if page.paginator.num_pages > 1 else [],
        "start": page.start_index(),
        "end": page.end_index(),
        "count": page.paginator.count,
    }
