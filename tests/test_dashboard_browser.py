"""The dashboard in a real headless browser (Debian's chromium via Playwright), against a live
experiment and against the folder it leaves on disk. Screenshots go to ``artifacts/``."""

from __future__ import annotations

import json
import os
import re
import time

import pytest
from playwright.sync_api import expect
from test_web_server_e2e import LiveExperiment, WebSlow
from trainables import EndsAs

import tunecore
from tunecore.schedulers import FIFOScheduler
from tunecore.testing import wait_for
from tunecore.trial import TrialStatus
from tunecore.web_server import DashboardServer

tunecore.register_trainable("dash_slow", WebSlow)  # 0.1 s per iteration, reward grows with lr
tunecore.register_trainable("dash_ends", EndsAs)  # config["role"] says how it ends

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
        expect(page.locator("#trials .chip", has_text="stopped early by MedianStoppingRule")).to_have_count(early)
        expect(page.locator("#trials .chip", has_text="met stop criterion")).to_have_count(3 - early)
        expect(page.locator("#events li[data-kind='finished']")).to_have_count(3 - early)
        expect(page.locator("#events li[data-kind='stopped']")).to_have_count(early)
        expect(page.locator("#curves rect.marker-stop")).to_have_count(early)
        page.mouse.move(5, 5)
        # the best curve has all 6 points from result.json
        d = page.get_attribute("#curves path.curve.best", "d")
        assert d.count("L") == 5
        _screenshot(page, "dashboard_disk.png")
        assert not page.console_errors, page.console_errors


# -- endings ------------------------------------------------------------------------------
class EveryEnding(FIFOScheduler):
    """Stops "scheduler" at iteration 3, pauses "paused" at 2 for good (it never resumes a trial),
    and at iteration 2 of "exploited" copies the running "keeper" into it as PBT does (same record)."""

    def __init__(self):
        super().__init__()
        self.exploited = False

    def on_trial_result(self, runner, trial, result):
        role, it = trial.config["role"], result["training_iteration"]
        if role == "scheduler" and it == 3:
            return self.STOP
        if role == "paused" and it == 2:
            return self.PAUSE
        if role == "exploited" and it == 2 and not self.exploited:  # it goes on from the keeper's iteration
            self.exploited = True
            [donor] = [t for t in runner.get_trials() if t.config["role"] == "keeper"]
            assert donor.status == TrialStatus.RUNNING  # started before this trial
            checkpoint = runner.save_trial(donor)
            config = dict(trial.config, lr=1.5)
            runner.exploit_trial(trial, checkpoint, config, record={
                "event": "pbt_exploit", "trial_id": trial.trial_id, "iteration": it, "source_trial": donor.trial_id,
                "source_iteration": checkpoint.iteration, "old_config": dict(trial.config), "new_config": config,
                "timestamp": time.time()})
        return self.CONTINUE

    def choose_trial_to_run(self, runner):
        return next((t for t in runner.get_trials()
                     if t.status == TrialStatus.PENDING and runner.has_resources(t.resources)), None)


ROLES = ["keeper", "exploited", "criterion", "returned", "scheduler", "error", "paused", "user"]

_VIEW = """() => {
  const lines = (sel) => [...document.querySelectorAll(sel)].map((li) => [li.dataset.kind, li.lastChild.textContent]);
  const out = {};
  for (const tr of document.querySelectorAll("#trials tbody tr")) {
    const id = tr.dataset.trial;
    out[id] = {status: tr.dataset.status, chips: [...tr.querySelectorAll(".chip")].map((c) => c.textContent),
               ending: lines(`#events li[data-ending][data-trial="${id}"]`),
               history: lines(`#events li:not([data-ending])[data-trial="${id}"]`)};
  }
  out.stop_markers = document.querySelectorAll("#curves rect.marker-stop").length;
  out.pause_markers = document.querySelectorAll("#curves circle.marker-pause").length;
  return out;
}"""


def _view(page) -> dict:
    """Per trial: its status, the chips beside it, its ending line and its other decision lines."""
    return page.evaluate(_VIEW)


def _settle(page, expected: dict, what: str) -> dict:
    try:
        wait_for(lambda: _view(page) == expected, timeout=30, what=what)
    except AssertionError:
        assert _view(page) == expected, what  # shows the difference
    return _view(page)


def _end_every_ending(live, ids) -> None:
    """The paused trial first: a run left with only a paused trial and nothing to run is an error."""
    for role in ("paused", "keeper"):
        try:
            live.client.stop_trial(ids[role])
        except Exception:  # noqa: BLE001 - the experiment ended already; finish() reports why
            pass


def test_every_ending_in_the_live_and_the_folder_view(ray_session, results_dir, token, page, browser):
    """One experiment with each way a trial can end (or pause, or be exploited): every trial's chip
    and decision line, in the live dashboard and in the folder's, and the two agree."""
    live = LiveExperiment(results_dir, {"ends": {
        "run": "dash_ends", "stop": {"goal": 1}, "local_dir": results_dir, "max_failures": 0,
        "config": {"role": {"grid_search": ROLES}, "lr": 1.0, "sleep": 0.1}}},
        scheduler=EveryEnding(), raise_on_failed_trial=False)
    ids: dict = {}
    disk_context = None
    try:
        infos = wait_for(lambda: (t := live.client.get_all_trials()["trials"]) and len(t) == len(ROLES) and t,
                         what="every trial")
        ids.update({t["config"]["role"]: t["id"] for t in infos})
        names = {t["config"]["role"]: t["name"] for t in infos}
        _login(page, f"http://127.0.0.1:{live.port}/", token)
        def user_iteration() -> int:
            return (live.client.get_trial(ids["user"])["trial_info"]["result"] or {}).get("training_iteration", 0)

        # a user stops "user" with its button
        wait_for(lambda: user_iteration() >= 2, timeout=60, what="the user's trial to run")
        page.click(f"button[data-stop='{ids['user']}']")

        def settled():
            status = live.statuses()
            return (status[ids["keeper"]] == "RUNNING" and status[ids["paused"]] == "PAUSED"
                    and status[ids["error"]] == "ERROR"
                    and all(status[ids[r]] == "TERMINATED" for r in ROLES if r not in ("keeper", "paused", "error")))
        wait_for(settled, timeout=60, what="every trial but the keeper to end or pause")
        it = {r: (live.client.get_trial(ids[r])["trial_info"]["result"] or {}).get("training_iteration") for r in ROLES}
        assert (it["criterion"], it["returned"], it["scheduler"], it["error"], it["paused"]) == (3, 3, 3, 1, 2)

        def line(kind, text):
            return [[kind, text]]

        n = names
        expected = {
            ids["keeper"]: {"status": "RUNNING", "chips": [], "ending": [], "history": []},
            ids["exploited"]: {"status": "TERMINATED", "chips": ["met stop criterion", "exploited ×1"],
                               "ending": line("finished", f"{n['exploited']} met its stop criterion (goal ≥ 1) "
                                                          f"at iteration {it['exploited']}"),
                               "history": line("exploit", f"{n['exploited']} copied {n['keeper']} at iteration 2; "
                                                          "lr: 1 → 1.5")},
            ids["criterion"]: {"status": "TERMINATED", "chips": ["met stop criterion"], "history": [],
                               "ending": line("finished", f"{n['criterion']} met its stop criterion (goal ≥ 1) "
                                                          "at iteration 3")},
            ids["returned"]: {"status": "TERMINATED", "chips": ["returned"], "history": [],
                              "ending": line("finished", f"{n['returned']} finished on its own (the trainable "
                                                         "returned) at iteration 3")},
            ids["scheduler"]: {"status": "TERMINATED", "chips": ["stopped early by EveryEnding"], "history": [],
                               "ending": line("stopped", f"{n['scheduler']} stopped early by EveryEnding at "
                                                         "iteration 3")},
            ids["error"]: {"status": "ERROR", "chips": ["error: RuntimeError: planned failure at step 2", "1 failures"],
                           "history": [],
                           "ending": line("error", f"{n['error']} failed at iteration 1: RuntimeError: planned "
                                                   "failure at step 2")},
            ids["paused"]: {"status": "PAUSED", "chips": ["paused by EveryEnding"], "history": [],
                            "ending": line("paused", f"{n['paused']} paused by EveryEnding at iteration 2")},
            ids["user"]: {"status": "TERMINATED", "chips": ["stopped by user"], "history": [],
                          "ending": line("stop-request", f"{n['user']} stopped by a user (dashboard or API) at "
                                                         f"iteration {it['user']}")},
            "stop_markers": 1, "pause_markers": 1,
        }
        live_view = _settle(page, expected, "the live dashboard to tell every ending")
        assert "inferred" not in page.inner_text("#app")
        page.mouse.move(5, 5)
        _screenshot(page, "dashboard_endings_live.png")

        # the folder the run is writing, served on its own, read-only
        disk_context = browser.new_context(viewport={"width": 1440, "height": 1100})
        disk = disk_context.new_page()
        errors: list = []
        disk.on("pageerror", lambda e: errors.append(str(e)))
        with DashboardServer(os.path.join(results_dir, "ends"), port=0, verbose=False) as server:
            _login(disk, server.url, token)
            assert disk.inner_text("#live-badge") == "from disk (read-only)"
            disk_view = _settle(disk, expected, "the folder's dashboard to tell every ending")
            assert disk_view == live_view
            assert "inferred" not in disk.inner_text("#app")
            disk.mouse.move(5, 5)
            _screenshot(disk, "dashboard_endings_disk.png")
        assert not errors and not page.console_errors, (errors, page.console_errors)
    finally:
        if disk_context is not None:
            disk_context.close()
        if ids:
            _end_every_ending(live, ids)
        trials = live.finish()
    assert {t.trial_id: t.status.value for t in trials}[ids["paused"]] == "TERMINATED"


def _old_folder(folder: str) -> None:
    """An experiment folder as a runner wrote it before it recorded endings (scheduler stops only)."""
    trials = []
    for tid, status, last, criterion in (
            ("met", "TERMINATED", {"training_iteration": 5, "acc": 0.99}, {"acc": 0.99}),
            ("short", "TERMINATED", {"training_iteration": 15, "acc": 0.8}, {"acc": 0.99}),
            ("cut", "TERMINATED", {"training_iteration": 4, "acc": 0.5}, {"acc": 0.99}),
            ("bad", "ERROR", {"training_iteration": 2, "acc": 0.1}, {"acc": 0.99})):
        logdir = os.path.join(folder, f"f_{tid}")
        os.makedirs(logdir)
        with open(os.path.join(logdir, "result.json"), "w") as f:
            for i in range(1, last["training_iteration"] + 1):
                acc = last["acc"] * i / last["training_iteration"]
                f.write(json.dumps({"training_iteration": i, "acc": acc}) + "\n")
        trials.append({"trial_id": tid, "trainable_name": "f", "experiment_tag": f"0_{tid}", "name": f"f_{tid}",
                       "config": {"lr": 0.1}, "status": status, "last_result": dict(last, done=True),
                       "logdir": logdir, "num_failures": int(status == "ERROR"), "stopping_criterion": criterion})
    with open(os.path.join(folder, "f_cut", "events.jsonl"), "w") as f:
        f.write(json.dumps({"event": "stopped", "by": "scheduler", "scheduler": "MedianStoppingRule",
                            "iteration": 4, "time": 1.0}) + "\n")
    with open(os.path.join(folder, "f_bad", "error.txt"), "w") as f:
        f.write("=== failure 1 at 2024-01-01_00-00-00 ===\nTraceback (most recent call last):\n"
                '  File "train.py", line 3, in f\n    raise ValueError("boom")\nValueError: boom\n')
    with open(os.path.join(folder, "experiment_state.json"), "w") as f:
        json.dump({"version": 1, "finished": True, "trials": trials}, f)


def test_folder_without_recorded_endings_says_what_is_inferred(token, page, tmp_path):
    folder = str(tmp_path / "old")
    _old_folder(folder)
    inferred = " (inferred from its results: the run did not record how it ended)"
    with DashboardServer(folder, port=0, verbose=False) as server:
        _login(page, server.url, token)
        expected = {
            "met": {"status": "TERMINATED", "chips": ["met stop criterion (inferred)"], "history": [],
                    "ending": [["finished", "f_met met its stop criterion (acc ≥ 0.99) at iteration 5" + inferred]]},
            "short": {"status": "TERMINATED", "chips": ["stopped early (inferred)"], "history": [],
                      "ending": [["stopped", "f_short ended at iteration 15 before meeting its stop criterion: "
                                             "stopped early" + inferred]]},
            "cut": {"status": "TERMINATED", "chips": ["stopped early by MedianStoppingRule"], "history": [],
                    "ending": [["stopped", "f_cut stopped early by MedianStoppingRule at iteration 4"]]},
            "bad": {"status": "ERROR", "chips": ["error: ValueError: boom", "1 failures"], "history": [],
                    "ending": [["error", "f_bad failed at iteration 2: ValueError: boom"]]},
            "stop_markers": 2, "pause_markers": 0,
        }
        _settle(page, expected, "the old folder's endings")
        assert page.locator("#trials .chip.inferred").count() == 2
        assert not page.console_errors, page.console_errors
