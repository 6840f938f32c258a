"""A corpus of malformed files, uploaded through the API and imported from the command line: every case
gets a precise rejection (line, field, reason), good rows still apply, and nothing answers 500."""

from __future__ import annotations

import json
import os

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from careledger.access.services import token_create
from careledger.ingest.models import RejectedRow, Visit

HEADER = "visit_ref,person_ref,provider_ref,service_ref,carer_ref,planned_start,planned_minutes,actual_start,actual_end,status\n"
GOOD = "G1,MARY-86,ACME-CARE,homecare,C1,2026-04-06 09:00,60,2026-04-06 09:00,2026-04-06 10:00,completed\n"

# name -> (file bytes, expected (line, field) rejections, rows applied)
CORPUS = {
    "bad date": (HEADER + GOOD + "B1,MARY-86,ACME-CARE,homecare,C1,2026-13-40 09:00,60,,,missed\n", [(3, "planned_start")], 1),
    "unknown person": (HEADER + GOOD + "B1,NOBODY-1,ACME-CARE,homecare,C1,2026-04-07 09:00,60,,,missed\n", [(3, "person_ref")], 1),
    "negative duration": (HEADER + GOOD + "B1,MARY-86,ACME-CARE,homecare,C1,2026-04-07 09:00,-30,,,missed\n", [(3, "planned_minutes")], 1),
    "end before start": (
        HEADER + GOOD + "B1,MARY-86,ACME-CARE,homecare,C1,2026-04-07 09:00,60,2026-04-07 10:00,2026-04-07 09:00,completed\n",
        [(3, "actual_end")],
        1,
    ),
    "bad status": (HEADER + GOOD + "B1,MARY-86,ACME-CARE,homecare,C1,2026-04-07 09:00,60,,,lost\n", [(3, "status")], 1),
    "wrong encoding": ((HEADER + GOOD).encode() + b"B1,MAR\xff-86,ACME-CARE,homecare,C1,2026-04-07 09:00,60,,,missed\n", [(3, "")], 1),
    "utf-16": ((HEADER + GOOD).encode("utf-16"), [(1, "")], 0),
    "duplicate header": (HEADER.strip() + ",status\n" + GOOD, [(1, "")], 0),
    "missing column": (HEADER.replace(",status", "") + GOOD, [(1, "")], 0),
    "empty file": (b"", [(0, "")], 0),
    "too many fields": (HEADER + GOOD + GOOD.replace("G1", "B1").strip() + ",extra\n", [(3, "")], 1),
}


@pytest.fixture
def mary(system, acme, mary_data):
    from careledger.records import services as records

    records.plan_import(scope=system, raw=json.dumps(mary_data))


@pytest.fixture
def acme_client(system, acme):
    from django.test import Client

    return Client(headers={"Authorization": f"Bearer {token_create(scope=system, name='acme', access='write', provider_ref='ACME-CARE').secret}"})


@pytest.mark.parametrize("case", sorted(CORPUS))
def test_each_malformed_case_gets_a_precise_rejection(mary, acme_client, case):
    data, expected, applied = CORPUS[case]
    raw = data if isinstance(data, bytes) else data.encode()
    response = acme_client.post("/api/v1/councils/NOR/imports?kind=visits", data={"file": SimpleUploadedFile(f"{case}.csv", raw)})
    assert response.status_code == 201, response.content
    run = response.json()
    got = [(r["line"], r["field"]) for r in run["rejections"]]
    assert got == expected, run["rejections"]
    assert all(r["reason"] for r in run["rejections"])
    assert run["added"] == applied and Visit.objects.count() == applied
    assert RejectedRow.objects.filter(run_id=run["id"]).count() == len(expected)


@pytest.mark.slow
def test_fifty_megabytes_of_junk_is_refused_row_by_row_without_a_500(mary, acme_client, tmp_path):
    junk = tmp_path / "junk.csv"
    with junk.open("wb") as out:
        out.write(HEADER.encode())
        block = os.urandom(1 << 20)
        for _ in range(50):
            out.write(block)
    with junk.open("rb") as stream:
        response = acme_client.post("/api/v1/councils/NOR/imports?kind=visits", data={"file": stream})
    assert response.status_code == 201, response.content[:300]
    run = response.json()
    assert run["added"] == 0 and run["rejected"] > 1000
    assert len(run["rejections"]) == 1000  # the first thousand in the answer; all kept with the run
    assert RejectedRow.objects.filter(run_id=run["id"]).count() >= run["rejected"]
    assert Visit.objects.count() == 0
