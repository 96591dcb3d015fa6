"""The web page in headless Chromium (Debian's, driven by Playwright): a user's jobs with
state, queue position and timings, and a finished job's spike raster; no one else's jobs."""

from __future__ import annotations

import os

import pytest
from service_helpers import GatedSystems, one_neuron

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]


@pytest.fixture
def page():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"{CHROMIUM} is missing: Debian's chromium could not be installed here (scripts/install-test-deps"
                    f".sh installs it with apt-get as root); the web page is untested in a browser")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, timeout=60_000)
        try:
            yield browser.new_page()
        finally:
            browser.close()


def test_jobs_page_shows_states_positions_and_a_raster(start_service, page):
    gated = GatedSystems(1)
    svc = start_service(systems=gated)
    ada, bob = svc.client("ada"), svc.client("bob")
    running = ada.submit(one_neuron(seed=1, name="first"))
    assert gated.waiting.acquire(timeout=30)
    queued = ada.submit(one_neuron(seed=2, name="second"))
    bob.submit(one_neuron(name="bobs job"))

    page.goto(f"{svc.url}/?token={svc.tokens['ada']}", timeout=30_000)
    assert page.url == svc.url + "/"  # signed in: the token is gone from the address
    page.wait_for_selector("body[data-loaded='2']", timeout=30_000)
    ids = page.locator("tr.job").evaluate_all("rows => rows.map(r => r.dataset.id)")
    assert set(ids) == {running.id, queued.id}  # bob's job is not shown
    # the page rebuilds its rows while a job waits: read each row's cells in one go
    cells = lambda job: page.locator(f"tr.job[data-id='{job.id}'] td").all_inner_texts()  # noqa: E731
    assert cells(running)[1:3] == ["first", "running"]
    assert cells(queued)[1:4] == ["second", "queued", "0"]  # next: queued before bob's job

    gated.gate.set()
    ada.job(queued.id).wait(60, progress=False)
    page.wait_for_selector(f"tr.job[data-id='{queued.id}'][data-state='done']", timeout=30_000)
    row = page.locator(f"tr.job[data-id='{queued.id}']")
    values = row.locator("td").all_inner_texts()
    info = queued.refresh()
    assert values[2] == "done" and values[3] == "" and values[8] == str(info["spikes"])
    assert float(values[6]) == pytest.approx(info["wait_s"], abs=0.01) and float(values[7]) > 0
    row.click()
    page.wait_for_selector("#raster svg", timeout=30_000)
    assert page.locator("#raster svg rect.spike").count() == info["spikes"] > 0
    assert "second" in page.inner_text("#raster-title")
