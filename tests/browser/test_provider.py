"""The provider's journey in a real browser: sign in, see their packages, upload a visits file with bad
rows, read each rejection (line, field, reason) and download them; and an administrator's provider
pages and tokens. axe-core on every page; screenshots saved as test artefacts.

The demo is shared by every browser test of the session, so the file sent here only adds visits
no other test reads: new references, for one of Acme's people who is not Mary, cancelled by the person.
"""

from __future__ import annotations

import csv
import io
import time

from tests.browser.conftest import check_axe, login, screenshot

HEADER = "visit_ref,person_ref,provider_ref,service_ref,carer_ref,planned_start,planned_minutes,actual_start,actual_end,status\n"


def _visits_file(person_ref: str, stamp: str) -> bytes:
    good = f"BRW-{stamp}-1,{person_ref},ACME-CARE,homecare,C1,2026-05-04 09:00,30,,,cancelled_by_person\n"
    good2 = f"BRW-{stamp}-2,{person_ref},ACME-CARE,homecare,C1,2026-05-05 09:00,30,,,cancelled_by_person\n"
    bad_minutes = f"BRW-{stamp}-3,{person_ref},ACME-CARE,homecare,C1,2026-05-06 09:00,half an hour,,,cancelled_by_person\n"  # line 4
    bad_person = f"BRW-{stamp}-4,NOBODY-1,ACME-CARE,homecare,C1,2026-05-06 09:00,30,,,cancelled_by_person\n"  # line 5
    bad_status = f"BRW-{stamp}-5,{person_ref},ACME-CARE,homecare,C1,2026-05-07 09:00,30,,,lost\n"  # line 6
    return (HEADER + good + good2 + bad_minutes + bad_person + bad_status).encode()


def test_provider_uploads_a_visits_file_and_sees_its_rejections(page):
    login(page, "demo-provider")
    page.get_by_role("link", name="Your packages").first.click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", level=1).inner_text() == "Acme Care Ltd"
    assert page.get_by_text("Continuity").count() >= 1
    check_axe(page, "provider-home")
    screenshot(page, "provider-home")
    refs = [ref for ref in page.locator("table th[scope=row] a").all_inner_texts() if ref.startswith(("DEMO", "P", "MARY")) or "-" in ref]
    others = [ref for ref in refs if ref != "MARY-86"]
    assert others, f"Acme Care serves nobody but Mary in the demo: {refs}"

    page.get_by_role("link", name="Upload a visits file").click()
    page.wait_for_load_state()
    check_axe(page, "provider-upload")
    screenshot(page, "provider-upload")
    stamp = str(int(time.time() * 1000))
    page.set_input_files("#file", files=[{"name": f"acme-{stamp}.csv", "mimeType": "text/csv", "buffer": _visits_file(others[0], stamp)}])
    page.get_by_role("button", name="Upload").click()
    page.wait_for_load_state()

    assert page.get_by_role("heading", level=1).inner_text() == f"acme-{stamp}.csv"
    counts = {key: page.locator(f"[data-count={key}]").inner_text() for key in ("rows", "added", "amended", "duplicates", "rejected")}
    assert counts == {"rows": "5", "added": "2", "amended": "0", "duplicates": "0", "rejected": "3"}
    table = page.locator("#rejections-table tbody tr")
    rejected = [tuple(cell.strip() for cell in table.nth(i).locator("td").all_inner_texts()[:3]) for i in range(table.count())]
    assert [(line, field) for line, field, _ in rejected] == [("4", "planned_minutes"), ("5", "person_ref"), ("6", "status")]
    assert all(reason for _, _, reason in rejected)
    assert "NOBODY-1" in rejected[1][2]
    check_axe(page, "provider-import-result")
    screenshot(page, "provider-import-result")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download every rejected row (CSV)").click()
    rows = list(csv.reader(io.StringIO(open(download_info.value.path(), encoding="utf-8-sig").read())))
    assert rows[0] == ["Line", "Field", "Reason", "Raw"] and [r[:2] for r in rows[1:]] == [["4", "planned_minutes"], ["5", "person_ref"], ["6", "status"]]

    page.get_by_role("link", name="All imports").click()
    page.wait_for_load_state()
    assert page.get_by_role("link", name=f"acme-{stamp}.csv").count() == 1
    check_axe(page, "provider-imports")
    page.goto("/councils/DEMO/providers/ACME-CARE/tokens/")
    assert page.get_by_role("button", name="Make token").count() == 0  # the council administrator makes tokens
    check_axe(page, "provider-tokens")
    response = page.goto("/councils/DEMO/providers/BRIGHTCARE/")
    assert response.status == 404  # another provider: as if it did not exist


def test_administrator_compares_providers_and_makes_a_token_shown_once(page):
    login(page, "demo-admin")
    page.goto("/councils/DEMO/provider/")
    assert page.get_by_role("heading", level=1).inner_text() == "Providers"
    assert page.locator("table tbody tr").count() >= 5
    check_axe(page, "providers")
    screenshot(page, "providers")
    page.get_by_role("link", name="Acme Care Ltd").click()
    page.wait_for_load_state()
    page.get_by_role("link", name="API tokens").click()
    page.wait_for_load_state()
    page.get_by_label("Which system will use it?").fill("Browser test rostering")
    page.get_by_role("button", name="Make token").click()
    page.wait_for_load_state()
    secret = page.locator("[data-secret]").inner_text()
    assert secret.startswith("cl_")
    check_axe(page, "provider-token-made")
    page.reload()  # sends the form again: it makes no second token, and the secret is not shown again
    assert page.locator("[data-secret]").count() == 0 and secret not in page.content()
    assert page.get_by_text("This form was already sent").count() >= 1
    page.goto(page.url)
    assert secret not in page.content()
    page.get_by_role("link", name="Revoke Browser test rostering").click()
    page.wait_for_load_state()
    check_axe(page, "token-revoke")
    page.get_by_role("button", name="Revoke token").click()
    page.wait_for_load_state()
    assert page.get_by_text("revoked: it no longer works").count() == 1
