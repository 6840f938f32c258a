"""Pushing batches through the API: per-item answers, signatures, replays, and figures read straight after."""

from __future__ import annotations

import json
import time

import pytest
from django.test import Client

from careledger.access.services import token_create
from careledger.access.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from careledger.ingest.models import ImportRun, RejectedRow, Visit, VisitRevision


def visit(ref: str, day: int = 6, status: str = "completed", **changes) -> dict:
    item = {
        "visit_ref": ref,
        "person_ref": "MARY-86",
        "provider_ref": "ACME-CARE",
        "service_ref": "homecare",
        "carer_ref": "C1",
        "planned_start": f"2026-04-{day:02d}T09:00:00+01:00",
        "planned_minutes": 60,
        "actual_start": f"2026-04-{day:02d}T09:02:00+01:00" if status == "completed" else None,
        "actual_end": f"2026-04-{day:02d}T10:00:00+01:00" if status == "completed" else None,
        "status": status,
    }
    item.update(changes)
    return item


@pytest.fixture
def mary(system, acme, mary_data):
    from careledger.records import services as records

    records.plan_import(scope=system, raw=json.dumps(mary_data), source="mary.json")
    return system.person("MARY-86")


@pytest.fixture
def acme_token(system, acme):
    return token_create(scope=system, name="acme rostering", access="write", provider_ref="ACME-CARE")


def client_for(new) -> Client:
    return Client(headers={"Authorization": f"Bearer {new.secret}"})


def push(client: Client, items, kind: str = "visits", headers: dict | None = None, raw: bytes | None = None):
    body = raw if raw is not None else json.dumps({"items": items}).encode()
    return client.post(f"/api/v1/councils/NOR/{kind}", data=body, content_type="application/json", headers=headers or {})


def test_each_item_is_answered_and_a_status_read_straight_after_reflects_it(mary, acme_token):
    client = client_for(acme_token)
    first = push(client, [visit("V1"), visit("V2", day=7, status="missed"), visit("V3", planned_minutes=-5)])
    assert first.status_code == 200, first.content
    body = first.json()
    assert [i["outcome"] for i in body["items"]] == ["accepted", "accepted", "rejected"]
    assert body["items"][2]["errors"][0]["field"] == "planned_minutes"
    assert body["counts"] == {"accepted": 2, "duplicate": 0, "amended": 0, "rejected": 1}
    figures = client.get("/api/v1/councils/NOR/people/MARY-86/delivery").json()
    assert (figures["visits"], figures["completed"], figures["missed"], figures["delivered_hours"]) == (2, 1, 1, "0.97")

    again = push(client, [visit("V1"), visit("V2", day=7, status="completed")]).json()
    assert [i["outcome"] for i in again["items"]] == ["duplicate", "amended"]
    figures = client.get("/api/v1/councils/NOR/people/MARY-86/delivery").json()
    assert (figures["visits"], figures["completed"], figures["missed"], figures["amendments"]) == (2, 2, 0, 1)
    assert Visit.objects.count() == 2 and VisitRevision.objects.count() == 1
    run = ImportRun.objects.get(pk=body["run"])
    assert (run.channel, run.rows, run.added, run.rejected) == ("api", 3, 2, 1)
    assert RejectedRow.objects.filter(run=run, line=2, field="planned_minutes").exists()


def test_bad_items_never_make_a_500(mary, acme_token):
    client = client_for(acme_token)
    weird = [None, 5, "x", [], {}, {"visit_ref": 3}, visit("V1", planned_start="2026-02-30T09:00"), visit("V2", status="lost"),
             visit("V3", actual_end="2026-04-06T08:00:00+01:00"), visit("V4", person_ref="SUE-9"), visit("V5", provider_ref="BETA"),
             visit("V6", planned_minutes=12.5), visit("V" * 100)]  # fmt: skip
    response = push(client, weird)
    assert response.status_code == 200, response.content
    outcomes = [i["outcome"] for i in response.json()["items"]]
    assert outcomes == ["rejected"] * len(weird)
    for raw in (b"", b"not json", b"[1,2]", b'{"items": 5}', json.dumps({"items": [visit(f"X{i}") for i in range(1001)]}).encode()):
        response = push(client, None, raw=raw)
        assert response.status_code in (400, 422), (raw[:20], response.status_code)
    assert Visit.objects.count() == 0


def test_another_providers_token_cannot_push_for_mary(mary, system):
    from careledger.records import services as records

    records.provider_create(scope=system, ref="BETA-CARE", name="Beta")
    beta = token_create(scope=system, name="beta", access="write", provider_ref="BETA-CARE")
    body = push(client_for(beta), [visit("V1", provider_ref="BETA-CARE"), visit("V2")]).json()
    assert [i["outcome"] for i in body["items"]] == ["rejected", "rejected"]
    assert {e["field"] for e in body["items"][1]["errors"]} == {"provider_ref", "person_ref"}
    reader = token_create(scope=system, name="reader", access="read")
    assert push(client_for(reader), [visit("V1")]).status_code == 404
    assert Visit.objects.count() == 0


def test_the_signing_keys_survive_a_new_secret_key_when_their_own_secret_is_set(mary, system, settings):
    from careledger.access.signing import signing_key

    new = token_create(scope=system, name="signed", access="write", provider_ref="ACME-CARE", require_signature=True)
    original = new.signing_key  # (what was shown with the token)
    assert signing_key(new.token) == original
    settings.SECRET_KEY = "rotated-" + "y" * 50  # with no push signing secret of its own, every key changes
    settings.PUSH_SIGNING_SECRET = settings.SECRET_KEY
    assert signing_key(new.token) != original
    settings.PUSH_SIGNING_SECRET = "its-own-" + "z" * 50
    kept = signing_key(new.token)
    settings.SECRET_KEY = "rotated-again-" + "w" * 50  # the secret key rotates, the signing keys stay
    assert signing_key(new.token) == kept
    body = json.dumps({"items": [visit("V1")]}).encode()
    now = int(time.time())
    ok = push(client_for(new), None, raw=body, headers={TIMESTAMP_HEADER: str(now), SIGNATURE_HEADER: sign(kept, body, now)})
    assert ok.status_code == 200


def test_signed_pushes_and_replays(mary, system):
    new = token_create(scope=system, name="signed", access="write", provider_ref="ACME-CARE", require_signature=True)
    client = client_for(new)
    body = json.dumps({"items": [visit("V1")]}).encode()
    unsigned = push(client, None, raw=body)
    assert unsigned.status_code == 401 and "must sign" in unsigned.json()["detail"]
    now = int(time.time())
    good = {TIMESTAMP_HEADER: str(now), SIGNATURE_HEADER: sign(new.signing_key, body, now)}
    assert push(client, None, raw=body, headers=good).status_code == 200
    replay = push(client, None, raw=body, headers=good)
    assert replay.status_code == 401 and "replay" in replay.json()["detail"]
    tampered = body.replace(b"MARY-86", b"MARY-87")
    assert push(client, None, raw=tampered, headers={TIMESTAMP_HEADER: str(now + 1), SIGNATURE_HEADER: sign(new.signing_key, body, now + 1)}).status_code == 401
    old = now - 301
    stale = push(client, None, raw=body, headers={TIMESTAMP_HEADER: str(old), SIGNATURE_HEADER: sign(new.signing_key, body, old)})
    assert stale.status_code == 401 and "5 minutes" in stale.json()["detail"]
    wrong_key = push(client, None, raw=body, headers={TIMESTAMP_HEADER: str(now + 2), SIGNATURE_HEADER: sign("not-the-key", body, now + 2)})
    assert wrong_key.status_code == 401
    assert Visit.objects.count() == 1


def test_an_unsigned_token_may_still_sign(mary, acme_token):
    body = json.dumps({"items": [visit("V1")]}).encode()
    now = int(time.time())
    assert push(client_for(acme_token), None, raw=body).status_code == 200
    bad = push(client_for(acme_token), None, raw=body, headers={TIMESTAMP_HEADER: str(now), SIGNATURE_HEADER: "sha256=00"})
    assert bad.status_code == 401


def test_upload_a_file_and_read_the_run(mary, acme_token):
    from django.core.files.uploadedfile import SimpleUploadedFile

    csv_text = (
        "visit_ref,person_ref,provider_ref,service_ref,planned_start,planned_minutes,status\n"
        "U1,MARY-86,ACME-CARE,homecare,2026-04-06 09:00,60,missed\n"
        "U2,NOBODY,ACME-CARE,homecare,2026-04-06 09:00,60,missed\n"
    )
    client = client_for(acme_token)
    response = client.post("/api/v1/councils/NOR/imports?kind=visits", data={"file": SimpleUploadedFile("acme.csv", csv_text.encode())})
    assert response.status_code == 201, response.content
    run = response.json()
    assert (run["added"], run["rejected"], run["source"], run["provider_ref"]) == (1, 1, "acme.csv", "ACME-CARE")
    assert run["rejections"] == [{"line": 3, "field": "person_ref", "reason": run["rejections"][0]["reason"], "raw": run["rejections"][0]["raw"]}]
    listed = client.get("/api/v1/councils/NOR/imports").json()
    assert [r["id"] for r in listed] == [run["id"]]
    detail = client.get(f"/api/v1/councils/NOR/imports/{run['id']}").json()
    assert detail["rejections"][0]["field"] == "person_ref"
