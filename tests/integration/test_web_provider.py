"""The provider pages through Django's client: upload, import result, rejected rows, tokens, and scope.

NOR has two providers: ACME-CARE (Mary's) and BETA-CARE (Bob's); SOU is another council with its
own ACME-CARE and Sue. The provider manager of NOR's ACME-CARE must see Mary and nothing of Bob,
Beta or Southshire; a page outside their reach is 404, exactly like one that does not exist.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from careledger.access.models import ApiToken, Membership, Role, hash_token
from careledger.access.services import token_create
from careledger.audit.models import AuditEntry
from careledger.ingest.models import ImportRun, Visit
from careledger.ingest.services import import_file
from careledger.records import services
from careledger.records.scoping import Scope
from tests.conftest import MARY_FILE

pytestmark = pytest.mark.django_db

HEADER = "visit_ref,person_ref,provider_ref,service_ref,carer_ref,planned_start,planned_minutes,actual_start,actual_end,status\n"
GOOD = "W1,MARY-86,ACME-CARE,homecare,C1,2026-04-06 09:00,60,2026-04-06 09:02,2026-04-06 10:00,completed\n"
VISITS = (
    HEADER
    + GOOD  # line 2: good
    + "W2,MARY-86,ACME-CARE,homecare,C1,2026-04-07 09:00,sixty,,,missed\n"  # line 3: planned_minutes not a number
    + "W3,BOB-1,ACME-CARE,homecare,C1,2026-04-07 09:00,60,,,missed\n"  # line 4: Bob is not Acme's client
    + "W4,MARY-86,ACME-CARE,homecare,C1,2026-04-08 09:00,60,,,teleported\n"  # line 5: unknown status
    + "W5,MARY-86,ACME-CARE,homecare,C2,2026-04-09 09:00,60,,,missed\n"  # line 6: good
)


@pytest.fixture
def nor(db, django_user_model):
    cache.clear()  # the provider pages keep their delivery figures in the cache
    nor = services.council_create(code="NOR", name="Northshire")
    sou = services.council_create(code="SOU", name="Southshire")
    system = Scope.system(nor)
    services.provider_create(scope=system, ref="ACME-CARE", name="Acme Care")
    services.provider_create(scope=system, ref="BETA-CARE", name="Beta Care")
    services.provider_create(scope=Scope.system(sou), ref="ACME-CARE", name="Acme South")
    services.plan_import(scope=system, raw=json.loads(MARY_FILE.read_text()))
    bob = json.loads(MARY_FILE.read_text())
    bob["person"].update(ref="BOB-1", given_name="Robert", family_name="Otherperson")
    bob["services"][0]["provider"] = "BETA-CARE"
    services.plan_import(scope=system, raw=bob)
    sue = json.loads(MARY_FILE.read_text())
    sue["person"].update(ref="SUE-9", given_name="Susan", family_name="Southerner")
    services.plan_import(scope=Scope.system(sou), raw=sue)
    clients = {}
    for role in (Role.COUNCIL_ADMIN, Role.COMMISSIONER, Role.FINANCE, Role.AUDITOR, Role.PROVIDER, Role.PERSON):
        user = django_user_model.objects.create_user(username=f"u-{role}")  # no password: force_login, no slow hashing
        Membership.objects.create(user=user, council=nor, role=role, provider=nor.providers.get(ref="ACME-CARE") if role == Role.PROVIDER else None,
                                  person=nor.people.get(ref="MARY-86") if role == Role.PERSON else None)  # fmt: skip
        client = Client()
        client.force_login(user)
        clients[str(role)] = client
    return {"council": nor, "sou": sou, "clients": clients}


def _upload(client: Client, text: str, name: str = "acme-april.csv", provider: str = "ACME-CARE", **extra):
    data = {"kind": "visits", "file": SimpleUploadedFile(name, text.encode(), content_type="text/csv"), **extra}
    return client.post(f"/councils/NOR/providers/{provider}/upload/", data=data)


def test_provider_uploads_a_file_with_bad_rows_and_sees_each_rejection(nor):
    client = nor["clients"]["provider"]
    form = client.get("/councils/NOR/providers/ACME-CARE/upload/")
    assert form.status_code == 200 and b'enctype="multipart/form-data"' in form.content
    response = _upload(client, VISITS)
    assert response.status_code == 302
    run = ImportRun.objects.get(source="acme-april.csv")
    assert response["Location"] == f"/councils/NOR/imports/{run.pk}/"
    assert run.provider.ref == "ACME-CARE" and run.channel == "file"
    assert (run.rows, run.added, run.amended, run.duplicates, run.rejected) == (5, 2, 0, 0, 3)
    assert sorted(Visit.objects.values_list("ref", flat=True)) == ["W1", "W5"]

    page = client.get(response["Location"])
    text = page.content.decode()
    assert page.status_code == 200
    for count, value in (("rows", 5), ("added", 2), ("amended", 0), ("duplicates", 0), ("rejected", 3)):
        assert f'data-count="{count}">{value}<' in text
    assert "acme-april.csv: 5 rows read, 3 rejected" in text  # the message after the redirect
    rejected = {(r.line, r.field) for r in run.rejections.all()}
    assert rejected == {(3, "planned_minutes"), (4, "person_ref"), (5, "status")}
    for line, field in rejected:
        assert f'<td class="govuk-table__cell app-num">{line}</td>\n      <td class="govuk-table__cell">{field}</td>' in text
    assert "no person &#x27;BOB-1&#x27; that you may send visits for" in text
    assert "Otherperson" not in text and "Robert" not in text

    download = client.get(response["Location"] + "?format=csv")
    assert download.status_code == 200 and download["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert rows[0] == ["Line", "Field", "Reason", "Raw"]
    assert [(int(r[0]), r[1]) for r in rows[1:]] == sorted(rejected)
    assert AuditEntry.objects.filter(action="export", object_id=f"import-{run.pk}-rejections").count() == 1

    again = _upload(client, HEADER + GOOD, name="again.csv")  # the same row again changes nothing
    run2 = ImportRun.objects.get(source="again.csv")
    assert (run2.rows, run2.added, run2.duplicates, run2.rejected) == (1, 0, 1, 0)
    assert b"None: every row was accepted" in client.get(again["Location"]).content


def test_all_or_nothing_refuses_the_whole_file(nor):
    response = _upload(nor["clients"]["provider"], VISITS, all_or_nothing="yes")
    run = ImportRun.objects.get()
    assert run.status == ImportRun.Status.REFUSED and Visit.objects.count() == 0
    assert b"Nothing was added" in nor["clients"]["provider"].get(response["Location"]).content


def test_a_large_upload_is_streamed_from_disk(nor, settings):
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 10_000  # anything bigger is spooled to a temporary file and read as a stream
    rows = "".join(f"B{i},MARY-86,ACME-CARE,homecare,C1,2026-04-{6 + i % 20:02d} 09:00,60,,,missed\n" for i in range(2000))
    assert len(rows) > 10_000
    response = _upload(nor["clients"]["provider"], HEADER + rows, name="big.csv")
    run = ImportRun.objects.get(source="big.csv")
    assert response.status_code == 302 and (run.rows, run.added, run.rejected) == (2000, 2000, 0)
    assert run.file_bytes == len((HEADER + rows).encode())


def test_upload_form_problems_are_said_plainly(nor):
    client = nor["clients"]["provider"]
    missing = client.post("/councils/NOR/providers/ACME-CARE/upload/", data={"kind": "visits"})
    assert missing.status_code == 400 and b"Choose a CSV file to upload" in missing.content
    assert missing.content.count(b"<title>Error: ") == 1
    empty = _upload(client, "", name="empty.csv")
    assert empty.status_code == 400 and b"The selected file is empty" in empty.content
    junk = _upload(client, "\x00\x01 not a csv at all", name="junk.csv")
    assert junk.status_code == 302  # a file that is not CSV is a run with its rejection, never a 500
    run = ImportRun.objects.get(source="junk.csv")
    assert run.rejections.exists()
    assert ImportRun.objects.count() == 1


def test_only_delivery_writers_may_upload(nor):
    for role in ("finance", "auditor", "person"):
        assert nor["clients"][role].get("/councils/NOR/providers/ACME-CARE/upload/").status_code == 404
        assert _upload(nor["clients"][role], VISITS).status_code == 404
    assert ImportRun.objects.count() == 0
    # Council staff who may send delivery data upload as the provider: its run, its people only.
    response = _upload(nor["clients"]["commissioner"], VISITS, name="by-council.csv")
    run = ImportRun.objects.get(source="by-council.csv")
    assert response.status_code == 302 and run.provider.ref == "ACME-CARE" and run.rejected == 3


def test_provider_manager_sees_only_their_provider(nor):
    client = nor["clients"]["provider"]
    home = client.get("/councils/NOR/provider/")
    assert home.status_code == 200 and b"Acme Care" in home.content
    for url in ("/councils/NOR/providers/BETA-CARE/", "/councils/NOR/providers/BETA-CARE/upload/", "/councils/NOR/providers/BETA-CARE/tokens/",
                "/councils/SOU/provider/", "/councils/SOU/providers/ACME-CARE/", "/councils/NOR/providers/NOBODY/"):  # fmt: skip
        response = client.get(url)
        assert response.status_code == 404, url
        assert b"Beta Care" not in response.content and b"Southshire" not in response.content
    assert _upload(client, VISITS, provider="BETA-CARE").status_code == 404
    # Another provider's run, and another council's, are not found.
    beta = nor["council"].providers.get(ref="BETA-CARE")
    beta_run = import_file(scope=Scope(nor["council"], "test", provider_ids=frozenset({beta.pk}), can_write_delivery=True), kind="visits",
                           stream=io.BytesIO(VISITS.replace("ACME-CARE", "BETA-CARE").encode()), source="beta.csv").run  # fmt: skip
    sou_run = import_file(scope=Scope.system(nor["sou"]), kind="visits", stream=io.BytesIO(VISITS.encode()), source="south.csv").run
    for run in (beta_run, sou_run):
        assert client.get(f"/councils/NOR/imports/{run.pk}/").status_code == 404
        assert client.get(f"/councils/NOR/imports/{run.pk}/?format=csv").status_code == 404
    listing = client.get("/councils/NOR/imports/")
    assert b"beta.csv" not in listing.content and b"south.csv" not in listing.content
    assert nor["clients"]["commissioner"].get(f"/councils/NOR/imports/{beta_run.pk}/").status_code == 200
    assert b"beta.csv" in nor["clients"]["commissioner"].get("/councils/NOR/imports/").content


def test_packages_and_metrics_are_the_providers_own(nor):
    from careledger.monitoring.services import status_refresh

    system = Scope.system(nor["council"])
    import_file(scope=system, kind="visits", stream=io.BytesIO(VISITS.encode()), source="seed.csv")
    for ref in ("MARY-86", "BOB-1"):
        status_refresh(scope=system, person_ref=ref, as_of=date(2026, 5, 17))
    page = nor["clients"]["provider"].get("/councils/NOR/provider/")
    assert b"MARY-86" in page.content and b"BOB-1" not in page.content
    assert b"Continuity" in page.content
    download = nor["clients"]["provider"].get("/councils/NOR/provider/?format=csv")
    rows = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert [r[0] for r in rows[1:]] == ["MARY-86"]
    # Staff: every provider, and any one of them.
    staff = nor["clients"]["finance"]
    listing = staff.get("/councils/NOR/provider/")
    assert b"Acme Care" in listing.content and b"Beta Care" in listing.content and b"Acme South" not in listing.content
    beta = staff.get("/councils/NOR/providers/BETA-CARE/")
    assert b"BOB-1" in beta.content and b"MARY-86" not in beta.content
    metrics = staff.get("/councils/NOR/provider/?format=csv")
    rows = list(csv.reader(io.StringIO(metrics.content.decode("utf-8-sig"))))
    assert [r[0] for r in rows[1:]] == ["ACME-CARE", "BETA-CARE"]
    assert nor["clients"]["person"].get("/councils/NOR/provider/").status_code == 404


def test_cached_delivery_figures_follow_new_visits(nor):
    from careledger.monitoring.selectors import provider_metrics
    from careledger.records.selectors import today_in_london

    today = today_in_london()
    mary_plan = nor["council"].people.get(ref="MARY-86").care_plan.versions.get().budget
    assert mary_plan.start_date <= today <= mary_plan.end_date or pytest.skip("Mary's budget is not running today")
    staff = nor["clients"]["commissioner"]

    def missed() -> str:
        rows = list(csv.reader(io.StringIO(staff.get("/councils/NOR/provider/?format=csv").content.decode("utf-8-sig"))))
        return {r[0]: r[8] for r in rows[1:]}["ACME-CARE"]

    assert missed() == "0"
    day = today.isoformat()
    _upload(nor["clients"]["provider"], HEADER + f"M1,MARY-86,ACME-CARE,homecare,C1,{day} 00:30,60,,,missed\n", name="today.csv")
    expected = provider_metrics(scope=Scope.system(nor["council"]), as_of=today, provider_ref="ACME-CARE")[0].missed
    assert expected == 1 and missed() == "1"  # not the figures cached before the upload


def _nonce(client: Client) -> str:
    page = client.get("/councils/NOR/providers/ACME-CARE/tokens/").content.decode()
    return page.split('name="nonce" value="')[1].split('"')[0]


def test_tokens_made_and_revoked_by_the_council_administrator_only(nor):
    admin = nor["clients"]["council_admin"]
    form = {"name": "Rostering export", "access": "write", "nonce": _nonce(admin)}
    made = admin.post("/councils/NOR/providers/ACME-CARE/tokens/", data=form)
    assert made.status_code == 200 and "no-store" in made["Cache-Control"]
    again = admin.post("/councils/NOR/providers/ACME-CARE/tokens/", data=form)  # a reload sends the form again
    assert again.status_code == 400 and b"This form was already sent" in again.content and b"data-secret" not in again.content
    token = ApiToken.objects.get(name="Rostering export")
    assert token.provider.ref == "ACME-CARE" and token.access == "write"
    secret = made.content.decode().split("data-secret>")[1].split("<")[0]
    assert secret.startswith("cl_") and hash_token(secret) == token.digest
    listing = admin.get("/councils/NOR/providers/ACME-CARE/tokens/")
    assert secret.encode() not in listing.content and token.prefix.encode() in listing.content  # shown once only

    # The provider's manager sees the list (never a secret), but may not make or revoke one.
    manager = nor["clients"]["provider"]
    seen = manager.get("/councils/NOR/providers/ACME-CARE/tokens/")
    assert seen.status_code == 200 and b"Rostering export" in seen.content and b"Make token" not in seen.content
    assert manager.post("/councils/NOR/providers/ACME-CARE/tokens/", data={"name": "mine", "access": "write"}).status_code == 404
    assert manager.post(f"/councils/NOR/tokens/{token.pk}/revoke/").status_code == 404
    for role in ("commissioner", "finance", "auditor"):
        assert nor["clients"][role].get("/councils/NOR/providers/ACME-CARE/tokens/").status_code == 404
    assert not ApiToken.objects.filter(name="mine").exists()

    nameless = admin.post("/councils/NOR/providers/ACME-CARE/tokens/", data={"name": " ", "access": "write", "nonce": _nonce(admin)})
    assert nameless.status_code == 400 and b"Enter a name" in nameless.content

    confirm = admin.get(f"/councils/NOR/tokens/{token.pk}/revoke/")
    assert confirm.status_code == 200 and b"Revoke token" in confirm.content
    token.refresh_from_db()
    assert token.revoked_at is None  # a GET changes nothing
    done = admin.post(f"/councils/NOR/tokens/{token.pk}/revoke/")
    assert done.status_code == 302 and done["Location"] == "/councils/NOR/providers/ACME-CARE/tokens/"
    token.refresh_from_db()
    assert token.revoked_at is not None
    sou_token = token_create(scope=Scope.system(nor["sou"]), name="south", access="read").token
    assert admin.post(f"/councils/NOR/tokens/{sou_token.pk}/revoke/").status_code == 404
    sou_token.refresh_from_db()
    assert sou_token.revoked_at is None


def test_an_import_that_stopped_committing_shows_as_interrupted_on_the_page_and_in_the_api(nor, settings):
    """A run left "running" by a process that died: after IMPORT_STALE_AFTER with no chunk it reads
    "interrupted", with what it added and what to do; a run still committing stays "running"."""
    from datetime import timedelta

    from django.utils import timezone

    settings.IMPORT_STALE_AFTER = timedelta(minutes=30)
    client = nor["clients"]["provider"]
    acme = nor["council"].providers.get(ref="ACME-CARE")
    _upload(client, HEADER + GOOD, name="whole.csv")
    whole = ImportRun.objects.get(source="whole.csv")
    assert whole.heartbeat_at >= whole.started_at and whole.state == "applied"  # (its chunk moved the heartbeat)
    now = timezone.now()
    dead = ImportRun.objects.create(council=nor["council"], provider=acme, kind="visits", channel="file", source="died.csv", actor="test", added=1200)
    alive = ImportRun.objects.create(council=nor["council"], provider=acme, kind="visits", channel="file", source="slow.csv", actor="test")
    ImportRun.objects.filter(pk=dead.pk).update(heartbeat_at=now - timedelta(minutes=31))
    ImportRun.objects.filter(pk=alive.pk).update(heartbeat_at=now - timedelta(minutes=29))
    dead.refresh_from_db()
    alive.refresh_from_db()
    assert (dead.status, dead.state, alive.state) == ("running", "interrupted", "running")

    page = client.get(f"/councils/NOR/imports/{dead.pk}/").content.decode()
    assert 'data-status="interrupted">Interrupted<' in page
    assert "This import stopped part way" in page and "The 1200 rows it added stand; send the file again to complete it" in page
    slow = client.get(f"/councils/NOR/imports/{alive.pk}/").content.decode()
    assert 'data-status="running">Running<' in slow and "has not finished yet" in slow
    listing = client.get("/councils/NOR/imports/").content.decode()
    assert listing.count("Interrupted") == 1

    new = token_create(scope=Scope.system(nor["council"]), name="acme system", access="read", provider_ref="ACME-CARE")
    api = Client(headers={"Authorization": f"Bearer {new.secret}"})
    states = {r["source"]: r["status"] for r in api.get("/api/v1/councils/NOR/imports").json()}
    assert states == {"whole.csv": "applied", "died.csv": "interrupted", "slow.csv": "running"}
    # The threshold is a setting: a shorter one makes the slow run interrupted too
    settings.IMPORT_STALE_AFTER = timedelta(minutes=10)
    assert api.get(f"/api/v1/councils/NOR/imports/{alive.pk}").json()["status"] == "interrupted"


def test_the_imports_list_pages_with_numbered_links_that_keep_the_other_parameters(nor):
    acme = nor["council"].providers.get(ref="ACME-CARE")
    ImportRun.objects.bulk_create(
        [ImportRun(council=nor["council"], provider=acme, kind="visits", channel="api", source="api", actor="test") for _ in range(120)]
    )  # fmt: skip
    client = nor["clients"]["commissioner"]
    first = client.get("/councils/NOR/imports/?kind=visits").content.decode()
    assert '<nav class="govuk-pagination" aria-label="Imports: pages">' in first
    assert 'href="?kind=visits&amp;page=2" rel="next"' in first and 'aria-label="Page 3"' in first and 'aria-current="page">1<' in first
    last = client.get("/councils/NOR/imports/?kind=visits&page=3").content.decode()
    assert 'aria-current="page">3<' in last and 'rel="prev"' in last and 'rel="next"' not in last
    assert client.get("/councils/NOR/imports/?page=1").content.decode().count("<li class=\"govuk-pagination__item") == 3  # pages 1, 2 and 3
