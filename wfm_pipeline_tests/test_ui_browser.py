"""The Dagster UI in a real browser: a file dropped into the landing folder of a fresh install
shows up in the asset graph, with its error table and the month's row count.

Marker ``browser``; needs Playwright (``pip install -e '.[browser]'``) and a Chromium on the
system (Debian: ``apt-get install chromium``; elsewhere set ``WFM_CHROMIUM`` to the browser's
executable). Playwright drives that Chromium (``executable_path``): no browser is downloaded.
Skipped with the reason when either is missing (a failure instead with ``WFM_REQUIRE_BROWSER=1``,
as in CI, so a broken install cannot pass unnoticed).

What runs is what a new user runs: a temporary, empty ``WFM_HOME`` (its own embedded PostgreSQL
under it), ``wfm services add`` (which creates the landing folder), ``wfm dev`` on a free port,
and one CSV export with one bad row dropped into the folder. Waits are explicit (the Dagster run
through the server's GraphQL API, UI text through Playwright's auto-waiting) with generous
limits; nothing is asserted on time. At the end ``wfm dev`` gets Ctrl-C (SIGINT), everything in
its process group must be gone, and the embedded server is stopped.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from wfm_pipeline.argus import landing
from wfm_pipeline.db import embedded
from wfm_pipeline_tests.argus_files import argus_rows, write_csv
from wfm_pipeline_tests.devserver import DevServer, wfm, wfm_env

pytestmark = pytest.mark.browser

SERVICE = "UI"
ROWS = 40
BAD_ROW = 7                  # 0-based among the data rows: file row 9 (header is row 1)
RUN_TIMEOUT_S = 300          # sensor ticks every 30 s and needs two to call a file settled
UI_TIMEOUT_MS = 60_000
RUNS_QUERY = """query ($job: String!) { runsOrError(filter: {pipelineName: $job}) {
  ... on Runs { results { runId status tags { key value } } } } }"""


def chromium_path() -> str | None:
    """The system Chromium: $WFM_CHROMIUM, else the first of chromium, chromium-browser on PATH."""
    configured = os.environ.get("WFM_CHROMIUM")
    if configured:
        return configured if Path(configured).is_file() else None
    return next(filter(None, (shutil.which(n) for n in ("chromium", "chromium-browser"))), None)


def _missing(reason: str) -> None:
    """Skip, or fail where the browser test must run (WFM_REQUIRE_BROWSER=1, set by .ci/run)."""
    if os.environ.get("WFM_REQUIRE_BROWSER", "").lower() in ("1", "true", "yes", "on"):
        pytest.fail(f"WFM_REQUIRE_BROWSER is set but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    try:
        from playwright import sync_api
    except ImportError:
        _missing("Playwright is not installed (pip install -e '.[browser]')")
    executable = chromium_path()
    if executable is None:
        _missing("no Chromium found (apt-get install chromium, or set WFM_CHROMIUM to its executable)")
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=executable, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def fresh_home() -> Iterator[Path]:
    """An empty WFM_HOME with a short path (the embedded server's socket lives under it); readable
    by the system user the embedded server runs as under root."""
    home = Path(tempfile.mkdtemp(prefix="wfm-ui-"))
    home.chmod(0o755)
    try:
        yield home
    finally:
        embedded.stop(home / "pg")      # no-op unless still running (a failure before wfm dev stopped)
        shutil.rmtree(home, ignore_errors=True)


def _bad_file(folder: Path, day: dt.date) -> tuple[Path, str]:
    rows = argus_rows(dt.datetime.combine(day, dt.time(8, 0)), ROWS)
    rows[BAD_ROW][3] = -5                              # negative average talk time
    path = write_csv(folder / "one_bad_row.csv", rows)
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def _wait_for_run(server: DevServer, partition: str) -> str:
    """The status of the file-import run for ``partition`` once it finished (SUCCESS/FAILURE)."""
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while time.monotonic() < deadline:
        runs = server.graphql(RUNS_QUERY, {"job": "argus_file_import"})["runsOrError"]["results"]
        for run in runs:
            tags = {t["key"]: t["value"] for t in run["tags"]}
            if tags.get("dagster/partition") == partition and run["status"] in ("SUCCESS", "FAILURE", "CANCELED"):
                return run["status"]
        if server.proc.poll() is not None:
            raise AssertionError(f"wfm dev exited:\n{server.output()[-4000:]}")
        time.sleep(3)
    raise AssertionError(f"no finished import run for {partition} within {RUN_TIMEOUT_S} s:\n"
                         f"{server.output()[-4000:]}")


def _open(page, url: str) -> None:
    page.goto(url)
    # A fresh instance greets the first visitor with a newsletter dialog: close it when it shows.
    skip = page.get_by_role("button", name="Skip")
    try:
        skip.wait_for(state="visible", timeout=5_000)
        skip.click()
    except Exception:  # noqa: BLE001 - no dialog this time (Playwright's TimeoutError)
        pass


def test_dropped_file_shows_in_graph_error_table_and_month_row_count(browser, fresh_home: Path,
                                                                      tmp_path: Path) -> None:
    from playwright.sync_api import expect

    env = wfm_env(WFM_HOME=str(fresh_home), WFM_LANDING_SETTLE_SECONDS="1")
    added = wfm(env, "services", "add", SERVICE, "--name", "UI test", "--time-zone", "Europe/Berlin")
    assert added.returncode == 0, added.stdout + added.stderr
    folder = fresh_home / "landing" / SERVICE
    assert folder.is_dir()                              # created by `services add`

    server = DevServer(env, tmp_path / "wfm-dev.log").start()
    page = None
    try:
        server.wait_until_serving()
        day = dt.datetime.now(ZoneInfo("Europe/Berlin")).date() - dt.timedelta(days=2)
        path, sha = _bad_file(folder, day)
        partition = landing.partition_key(SERVICE, None, path.name, sha)
        assert _wait_for_run(server, partition) == "SUCCESS"

        page = browser.new_page(viewport={"width": 1600, "height": 1100})
        page.set_default_timeout(UI_TIMEOUT_MS)

        # The asset graph of the ingest group: the file assets feed the monthly table.
        _open(page, f"{server.url}/locations/wfm_pipeline/asset-groups/ingest")
        for asset in ("argus_raw_file", "argus_validated", "argus_import_batch", "contact_statistics"):
            expect(page.get_by_text(asset, exact=True).first).to_be_visible()

        # The file's partition of argus_validated: the error table names row, column, code and value.
        quoted = urllib.parse.quote(partition, safe="")
        _open(page, f"{server.url}/assets/argus_validated?view=partitions&partition={quoted}")
        expect(page.get_by_text(partition).first).to_be_visible()
        error_row = page.locator("tr", has=page.get_by_text("NEGATIVE_VALUE", exact=True)).last
        expect(error_row).to_be_visible()
        cells = [c.strip() for c in error_row.locator("td").all_inner_texts()]
        assert cells[:3] == [str(BAD_ROW + 2), "D", "NEGATIVE_VALUE"] and cells[-1] == "-5", cells

        # The month's partition of contact_statistics: its row count is the file's valid rows.
        month = dt.datetime.combine(day, dt.time(8), ZoneInfo("Europe/Berlin")).astimezone(dt.timezone.utc)
        _open(page, f"{server.url}/assets/contact_statistics?view=partitions&partition={month:%Y-%m}-01")
        count_row = page.locator("tr").filter(has_text="row_count").first   # row_count / dagster/row_count
        expect(count_row).to_contain_text(str(ROWS - 1))
    except BaseException:
        if page is not None:
            shot = tmp_path / "failure.png"
            page.screenshot(path=str(shot), full_page=True)
            print(f"screenshot of the page: {shot}; wfm dev log: {server.log}")
        raise
    finally:
        if page is not None:
            page.close()
        code = server.stop()
        stopped_pg = embedded.stop(fresh_home / "pg")

    output = server.output()
    assert code == 0, output[-3000:]
    assert server.leftovers == [], server.leftovers
    assert stopped_pg and not embedded.is_running(fresh_home / "pg")
    for noise in ("Aborted!", "superseded"):
        assert noise not in output
