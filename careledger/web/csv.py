"""CSV download of any table: ``?format=csv`` on a table page.

    if wants_csv(request):
        return csv_response(scope, "portfolio", ["Person", "Budget"], rows)

Cells are written as given (``Decimal`` money as its exact digits, dates ISO); a text cell
that a spreadsheet would run as a formula (starting ``=``, ``+``, ``-``, ``@``, tab or CR, and
not a number) is prefixed with ``'``. Every download is an ``export`` entry in the audit trail
(what, how many rows, who: never the rows themselves).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from datetime import date

from django.http import HttpRequest, HttpResponse

from careledger.audit import trail
from careledger.records.scoping import Scope

_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def wants_csv(request: HttpRequest) -> bool:
    return request.GET.get("format") == "csv"


def safe_cell(value) -> str:
    if value is None:
        return ""
    text = value.isoformat() if isinstance(value, date) else str(value)
    if text.startswith(_FORMULA_START) and not _NUMBER.match(text):
        return "'" + text
    return text


def csv_response(scope: Scope, what: str, header: Sequence[str], rows: Iterable[Sequence], *, filename: str | None = None) -> HttpResponse:
    """A CSV attachment of ``rows`` under ``header``, recorded as an export in the audit trail."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    count = 0
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
        count += 1
    trail.record("export", model="web.table", object_id=what, council_id=scope.council.pk,
                 after={"what": what, "rows": count, "format": "csv"}, actor=scope.actor)  # fmt: skip
    name = filename or f"{scope.council.code}-{what}.csv"
    response = HttpResponse(buffer.getvalue().encode("utf-8-sig"), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
