"""`careledger outcomes …` run as real processes, as an operator would, against a throwaway SQLite database."""

from __future__ import annotations

import json

import pytest

from tests.conftest import MARY_FILE
from tests.integration.test_cli import run  # noqa: F401  (the fixture)


@pytest.mark.slow
def test_an_operator_records_outcomes_a_review_and_settles_a_dispute(run):  # noqa: F811
    run("migrate")
    run("council", "add", "NOR", "Northshire Council")
    run("provider", "add", "ACME-CARE", "Acme Care Ltd")
    run("plan", "import", str(MARY_FILE))
    out = run("outcomes", "add", "MARY-86", "shower", "Have a shower safely, with someone there", "--domain", "personal_care",
              "--agreed-on", "2026-04-06", "--agreed-by", "Mary, her son, the social worker", "--baseline", "some_needs").stdout  # fmt: skip
    assert "MARY-86: outcome shower recorded (Personal cleanliness and comfort), agreed 2026-04-06" in out

    due = run("outcomes", "reviews-due", "--as-of", "2026-05-20").stdout
    assert "1 reviews due by 2026-05-20; 1 overdue" in due
    assert "MARY-86      OVERDUE 2 days     2026-05-18  last review none yet; every 6 weeks; at least every 12 months" in due

    bad = run("outcomes", "review-record", "MARY-86", "--held-on", "2026-05-18", "--method", "phone", "--participant", "Mary",
              "--rate", "shower=no_needs", ok=False)  # fmt: skip
    assert bad.returncode == 1 and "every current outcome must be rated; not rated: church" in bad.stderr
    out = run("outcomes", "review-record", "MARY-86", "--held-on", "2026-05-18", "--method", "in_person", "--participant", "Mary",
              "--participant", "David (son)", "--rate", "shower=no_needs", "--rate", "church=some_needs",
              "--comments", "I feel safer in the shower").stdout  # fmt: skip
    assert "review of 2026-05-18 recorded (due 2026-05-18)" in out
    assert "shower         no_needs     improving" in out and "church         some_needs   first rating" in out
    assert "not scored (rate all eight domains)" in out
    listed = json.loads(run("outcomes", "list", "MARY-86", "--json").stdout)
    assert [(o["ref"], o["latest"], o["change"]) for o in listed] == [("shower", "no_needs", "improving"), ("church", "some_needs", None)]

    out = run("outcomes", "incident", "raise", "MARY-86", "--kind", "dispute", "--summary", "Nobody came on Monday morning",
              "--happened-on", "2026-05-04", "--provider", "ACME-CARE").stdout  # fmt: skip
    assert out.startswith("incident 1 raised for MARY-86: Dispute; owner council")
    out = run("outcomes", "incident", "settle", "1", "--resolution", "The agency credits the hour", "--credit", "12.50",
              "--settled-on", "2026-05-20").stdout  # fmt: skip
    assert "incident 1 settled on 2026-05-20; £12.50 refund posted to the ledger (incident:1)" in out
    incidents = json.loads(run("outcomes", "incident", "list", "--json").stdout)
    assert [(i["id"], i["status"], i["adjustment"], i["parties"]) for i in incidents] == [(1, "settled", "12.50", ["council", "person", "provider"])]
    status = json.loads(run("status", "MARY-86", "--as-of", "2026-05-20", "--json").stdout)["working"]
    assert (status["outcomes"], status["improving"], status["last_review"], status["next_review_due"], status["open_incidents"], status["rag"]) == (
        2, 1, "2026-05-18", "2026-06-29", 0, "green")  # fmt: skip
    out = run("outcomes", "working", "MARY-86", "--as-of", "2026-07-01").stdout
    assert "MARY-86 as at 2026-07-01: working? AMBER" in out
    assert "  - The review due on 29 June 2026 is 2 days overdue." in out
    vfm = run("outcomes", "value-for-money").stdout
    assert "Value for money as at" in vfm and "council" in vfm
