"""The dashboard in a real headless browser (Debian's chromium via Playwright), against a live
experiment and against the folder it leaves on disk. Screenshots go to ``artifacts/``."""

from __future__ import annotations

import os
import re

import pytest
from playwright.sync_api import expect

from test_web_server_e2e import LiveExperiment, WebSlow
import tunecore
from tunecore.testing import wait_for
from tunecore.web_server import DashboardServer


tunecore.register_trainable("dash_slow", WebSlow)  # 0.1 s per iteration, reward grows with lr

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "artifacts")


@pytest.fixture
def token(monkeypatch):
    value = "dashboard-token-" + "y" * 32
    monkeypatch.setenv("TUNECORE_SERVER_TOKEN", value)
    return value


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=20000)

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1440, "height": 1100})
    pg = context.new_page()
    pg.set_default_timeout(20000)
    pg.requests_seen = []  # type: ignore[attr-defined]
    pg.console_errors = []  # type: ignore[attr-defined]
    pg.on("request", lambda r: pg.requests_seen.append(r.url))
    pg.on("console", lambda m: m.type == "error" and "401" not in m.text and pg.console_errors.append(m.text))
    pg.on("pageerror", lambda e: pg.console_errors.append(str(e)))
    try:
        yield pg
    finally:
        context.close()


def _login(page, url: str, token: str) -> None:
    page.goto(url)
    page.wait_for_selector("#login-form", state="visible")
    page.fill("#token-input", "wrong-token")
    page.press("#token-input", "Enter")
    page.wait_for_selector("#login-error:not([hidden])")
    assert "not accepted" in page.inner_text("#login-error")
    page.fill("#token-input", token)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#app:not([hidden])")


def _rows(page) -> dict:
    return page.eval_on_selector_all(
        "#trials tbody tr", "rows => Object.fromEntries(rows.map(r => [r.dataset.trial, r.dataset.status]))")


def _screenshot(page, name: str) -> str:
    os.makedirs(ARTIFACTS, exist_ok=True)
    path = os.path.join(ARTIFACTS, name)
    page.screenshot(path=path, full_page=True)
    return path


def test_live_dashboard_fills_in_updates_and_stops_a_trial(ray_session, results_dir, token, page):
    live = LiveExperiment(results_dir, {"dash": {
        "run": "dash_slow", "stop": {"training_iteration": 500}, "local_dir": results_dir,
        "config": {"lr": {"grid_search": [0.5, 1.0, 2.0]}, "optimizer": {"grid_search": ["sgd"]}}}})
    try:
        url = f"http://127.0.0.1:{live.port}/"
        _login(page, url, token)
        expect(page.locator("#trials tbody tr")).to_have_count(3)
        expect(page.locator("#curves")).to_have_attribute("data-lines", "3")
        assert page.get_attribute("#parcoords", "data-axes") == "3"  # lr, optimizer, the metric
        assert page.input_value("#metric") == "episode_reward_mean"
        assert page.locator("#curves path.curve.best").count() == 1
        assert page.locator("#parcoords path.pc-line").count() == 3

        # it updates without a reload: the best trial's iteration count grows
        def iteration() -> int:
            text = page.inner_text("#trials tbody tr.best-row td:nth-child(3)")
            return int(text or 0)
        start = iteration()
        wait_for(lambda: iteration() >= start + 3, timeout=20, what="the table to update")
        navigations = [u for u in page.requests_seen if u.rstrip("/") == url.rstrip("/")]
        assert len(navigations) == 1

        # stop one trial with its button
        victim = page.get_attribute("#trials tbody tr:not(.best-row) button.stop", "data-stop")
        page.click(f"button[data-stop='{victim}']")
        page.wait_for_selector(f"#trials tbody tr[data-trial='{victim}'][data-status='TERMINATED']")
        assert live.client.get_trial(victim)["trial_info"]["status"] == "TERMINATED"
        assert page.locator(f"button[data-stop='{victim}']").count() == 0
        page.wait_for_selector("#events li[data-kind='stop-request']")
        page.mouse.move(5, 5)
        _screenshot(page, "dashboard_live.png")

        # sorting by a column header
        page.click("#trials th[data-key='c:lr']")
        lrs = page.eval_on_selector_all("#trials tbody tr td:nth-child(7)", "tds => tds.map(t => +t.textContent)")
        assert lrs == sorted(lrs)
        # the token never travelled in a URL, and nothing was fetched from elsewhere
        assert not [u for u in page.requests_seen if token in u]
        assert all(u.startswith(url) for u in page.requests_seen), page.requests_seen
        assert not page.console_errors, page.console_errors
        # a reload keeps the session (sessionStorage), no login form
        page.reload()
        page.wait_for_selector("#app:not([hidden])")
        assert page.is_hidden("#login")
    finally:
        live.finish()


def test_dashboard_of_a_folder_on_disk(ray_session, results_dir, token, page):
    """A finished experiment whose scheduler stopped two trials early (one trial at a time)."""
    from tunecore.schedulers import MedianStoppingRule

    live = LiveExperiment(results_dir, {"disk": {
        "run": "dash_slow", "stop": {"training_iteration": 6}, "local_dir": results_dir,
        "trial_resources": {"cpu": 4}, "config": {"lr": {"grid_search": [2.0, 1.0, 0.5]}}}},
        scheduler=MedianStoppingRule(time_attr="training_iteration", grace_period=2, min_samples_required=1,
                                     metric="episode_reward_mean", mode="max", verbose=False))
    trials = live.finish(stop=False)
    iterations = sorted(t.last_result["training_iteration"] for t in trials)
    assert iterations[-1] == 6 and iterations[0] < 6  # the scheduler stopped some early
    with DashboardServer(os.path.join(results_dir, "disk"), port=0, verbose=False) as server:
        _login(page, server.url, token)
        expect(page.locator("#trials tbody tr")).to_have_count(3)
        expect(page.locator("#curves")).to_have_attribute("data-lines", "3")
        assert page.inner_text("#live-badge") == "from disk (read-only)"
        assert page.locator("button.stop").count() == 0
        assert set(_rows(page).values()) == {"TERMINATED"}
        assert re.search(r"disk", page.title())
        early = sum(1 for i in iterations if i < 6)
        expect(page.locator("#trials .chip", has_text="stopped early")).to_have_count(early)
        expect(page.locator("#events li[data-kind='stopped']")).to_have_count(early)
        expect(page.locator("#curves rect.marker-stop")).to_have_count(early)
        page.mouse.move(5, 5)
        # the best curve has all 6 points from result.json
        d = page.get_attribute("#curves path.curve.best", "d")
        assert d.count("L") == 5
        _screenshot(page, "dashboard_disk.png")
        assert not page.console_errors, page.console_errors
