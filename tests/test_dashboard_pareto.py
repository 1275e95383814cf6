"""The dashboard's multi-objective views: the run's objective in the payload, ``/api/importances``
(parameter importances, computed server-side) and, in a real chromium, the Pareto-front scatter
and the importances panel beside the parallel coordinates.

One small real run (a ``Tuner`` on Ray with ``metric=["a", "b"]``, a constraint and 8 trials)
writes the experiment folder most tests read."""

from __future__ import annotations

import http.client
import json
import math
import os
import re
import sys

import pytest
import test_dashboard_browser as dash
from playwright.sync_api import expect
from test_web_server_e2e import LiveExperiment

import tunecore
from tunecore.pareto import front_indices, is_feasible
from tunecore.records import read_experiment
from tunecore.searchers.basic_variant import BasicVariantGenerator
from tunecore.testing import wait_for
from tunecore.util import as_float, lookup_metric
from tunecore.web.sources import FolderSource, RunnerSource
from tunecore.web_server import DashboardServer, TuneClient

# the browser tests' chromium and page, reused as they are
browser = dash.browser
page = dash.page

TOKEN = "pareto-token-" + "z" * 32
XS = [0.0, 0.1, 0.25, 0.4, 0.5, 0.7, 0.9, 1.0]
OBJECTIVE = {"metric": ["a", "b"], "mode": ["min", "min"], "constraints": ["over"]}


def two_goals(config):
    """``a`` depends on x only, ``b`` on both; x = 0.5 reports no finite ``b``; x > 0.85 is infeasible."""
    x, y = config["x"], config["y"]
    for i in range(2):
        b = math.nan if x == 0.5 else (1 - x) ** 2 + 0.5 * y
        tunecore.report({"a": x + 0.1 * (1 - i), "b": b, "c": y, "over": x - 0.85})


@pytest.fixture
def token(monkeypatch):
    monkeypatch.setenv("TUNECORE_SERVER_TOKEN", TOKEN)
    return TOKEN


@pytest.fixture(scope="module")
def mo_folder(ray_session, tmp_path_factory):
    """The folder of a finished 8-trial run with two objectives and a constraint."""
    storage = tmp_path_factory.mktemp("pareto")
    grid = tunecore.Tuner(
        two_goals, param_space={"x": tunecore.grid_search(XS), "y": tunecore.uniform(0.0, 1.0)},
        tune_config=tunecore.TuneConfig(metric=["a", "b"], mode=["min", "min"], constraints=["over"],
                                        search_alg=BasicVariantGenerator(seed=11)),
        run_config=tunecore.RunConfig(name="mo", storage_path=str(storage), verbose=0)).fit()
    assert len(grid) == 8 and grid.num_errors == 0
    return grid.experiment_path


def _get(server, path, token=TOKEN, method="GET"):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        conn.request(method, path, headers={"Authorization": f"Bearer {token}"} if token else {})
        resp = conn.getresponse()
        body = resp.read()
        return resp.status, json.loads(body) if body else None
    finally:
        conn.close()


def _expected_front(folder, x, y, modes):
    """Trial ids of the points (finite x and y) and of the front, by tunecore.pareto."""
    records, objective = read_experiment(folder)
    rows = []
    for r in records:
        vx, vy = (as_float(lookup_metric(r.last_result, m)) for m in (x, y))
        if vx is not None and vy is not None and math.isfinite(vx) and math.isfinite(vy):
            rows.append((r, [vx, vy]))
    feasible = [is_feasible(r.last_result, objective.constraints or ()) for r, _ in rows]
    front = front_indices([v for _, v in rows], modes, feasible)
    return {r.trial_id for r, _ in rows}, {rows[i][0].trial_id for i in front}


def _write_folder(folder, trials, objective=None):
    """A hand-written experiment folder: ``trials`` as (id, status, last result, config)."""
    entries = []
    for tid, status, last, config in trials:
        logdir = os.path.join(folder, f"t_{tid}")
        os.makedirs(logdir, exist_ok=True)
        with open(os.path.join(logdir, "result.json"), "w") as f:
            f.write(json.dumps(last) + "\n")
        entries.append({"trial_id": tid, "trainable_name": "f", "experiment_tag": tid, "name": f"f_{tid}",
                        "config": config, "status": status, "last_result": last, "logdir": logdir,
                        "num_failures": 0})
    state = {"version": 1, "finished": False, "trials": entries}
    if objective is not None:
        state["objective"] = objective
    tmp = os.path.join(folder, "experiment_state.json.tmp")
    with open(tmp, "w") as f:
        json.dump(state, f)
    os.replace(tmp, os.path.join(folder, "experiment_state.json"))


# -- the API ------------------------------------------------------------------------------------
def test_importances_endpoint_on_a_real_run(mo_folder, token):
    with DashboardServer(mo_folder, port=0, verbose=False) as server:
        status, body = _get(server, "/api/importances?metric=a")
        assert status == 200, body
        assert body["metric"] == "a" and body["method"] == "mdi" and body["message"] is None
        assert body["trials"] == body["finished"] == 8
        shares = {item["param"]: item["importance"] for item in body["importances"]}
        assert [item["param"] for item in body["importances"]][0] == "x"
        assert set(shares) == {"x", "y"}
        assert sum(shares.values()) == pytest.approx(1.0)
        assert shares["x"] > shares["y"] and all(v >= 0 for v in shares.values())

        # b is NaN in one trial: that trial is left out
        status, body = _get(server, "/api/importances?metric=b")
        assert status == 200 and body["trials"] == 7 and body["finished"] == 8
        assert sum(i["importance"] for i in body["importances"]) == pytest.approx(1.0)

        # an unknown metric, or none, is refused with a message saying what there is
        status, body = _get(server, "/api/importances?metric=nope")
        assert status == 400 and "Unknown metric 'nope'" in body["message"]
        assert "a, b, c" in body["message"]
        status, body = _get(server, "/api/importances")
        assert status == 400 and "metric=NAME" in body["message"]

        # the same token auth as every other API route
        for bad in (None, "wrong-token"):
            status, body = _get(server, "/api/importances?metric=a", token=bad)
            assert status == 401 and "token" in body["message"]
        assert _get(server, "/api/importances?metric=a", method="HEAD")[0] == 200

        # the run's objective is in the dashboard's payload
        status, history = _get(server, "/api/history?since=0")
        assert status == 200 and history["objective"] == OBJECTIVE


def test_importances_messages_and_cache(tmp_path, monkeypatch):
    folder = str(tmp_path / "few")
    _write_folder(folder, [("one", "TERMINATED", {"training_iteration": 3, "loss": 0.5}, {"lr": 0.1}),
                           ("two", "RUNNING", {"training_iteration": 1, "loss": 0.9}, {"lr": 0.2})])
    source = FolderSource(folder)
    # only finished trials count: one is too few, and the panel is told why
    answer = source.importances("loss")
    assert answer["importances"] == [] and answer["trials"] == 1 and answer["finished"] == 1
    assert "at least 2 trials" in answer["message"] and "only finished trials count" in answer["message"]
    assert source.history(0, None)["objective"] is None  # a run without an objective

    calls = []
    import tunecore.importance

    real = tunecore.importance.param_importances
    monkeypatch.setattr(tunecore.importance, "param_importances", lambda *a, **k: calls.append(a) or real(*a, **k))
    _write_folder(folder, [("one", "TERMINATED", {"training_iteration": 3, "loss": 0.5}, {"lr": 0.1}),
                           ("two", "TERMINATED", {"training_iteration": 3, "loss": 0.9}, {"lr": 0.2})],
                  objective={"metric": "loss", "mode": "min"})
    first = source.importances("loss")
    assert [i["param"] for i in first["importances"]] == ["lr"] and first["importances"][0]["importance"] == 1.0
    assert source.importances("loss") is first and len(calls) == 1  # cached until another trial finishes
    assert source.history(0, None)["objective"] == {"metric": "loss", "mode": "min", "constraints": None}

    # scikit-learn missing: the message says how to install it
    monkeypatch.setitem(sys.modules, "sklearn.ensemble", None)
    missing = FolderSource(folder).importances("loss")
    assert missing["importances"] == [] and "pip install scikit-learn" in missing["message"]


class _Runner:
    """What RunnerSource reads of a TrialRunner for the payload."""

    def __init__(self, metric, mode, constraints):
        self.metric, self.mode, self.constraints = metric, mode, constraints

    def get_trials(self):
        return []


def test_runner_source_reports_the_runners_objective():
    assert RunnerSource(_Runner(["a", "b"], ["min", "max"], ["over"])).history(0, None)["objective"] == \
        {"metric": ["a", "b"], "mode": ["min", "max"], "constraints": ["over"]}
    assert RunnerSource(_Runner("loss", None, None)).objective() == {"metric": "loss", "mode": None,
                                                                     "constraints": None}
    assert RunnerSource(_Runner(None, None, None)).objective() is None
    assert RunnerSource(_Runner(["a"], "min", None)).objective() is None  # unreadable: no objective


def test_live_run_serves_its_objective_and_importances(ray_session, results_dir, token):
    live = LiveExperiment(results_dir, {"mo_live": {
        "run": "dash_slow", "stop": {"training_iteration": 500}, "local_dir": results_dir,
        "config": {"lr": {"grid_search": [0.5, 1.0]}}}},
        metric=["mean_loss", "episode_reward_mean"], mode=["min", "max"])
    try:
        client = TuneClient(f"127.0.0.1:{live.port}")
        history = client._request("GET", "/api/history?since=0")
        assert history["live"] is True
        assert history["objective"] == {"metric": ["mean_loss", "episode_reward_mean"], "mode": ["min", "max"],
                                        "constraints": None}
        wait_for(lambda: all((t["result"] or {}).get("training_iteration", 0) >= 1
                             for t in client.get_all_trials()["trials"]), timeout=60, what="results")
        answer = client._request("GET", "/api/importances?metric=mean_loss")
        assert answer["finished"] == 0 and answer["importances"] == []
        assert "only finished trials count" in answer["message"]
        with pytest.raises(tunecore.TuneError, match="401"):
            TuneClient(f"127.0.0.1:{live.port}", token="wrong")._request("GET", "/api/importances?metric=mean_loss")
    finally:
        live.finish()


# -- the browser --------------------------------------------------------------------------------
def _front_view(pg) -> dict:
    return pg.evaluate("""() => {
      const svg = document.querySelector("#pareto");
      const ids = (sel) => [...svg.querySelectorAll(sel)].map((c) => c.dataset.trial).sort();
      const line = svg.querySelector("path.front-line");
      return {x: svg.dataset.x, y: svg.dataset.y, points: ids("circle.pt"), front: ids("circle.pt[data-front]"),
              infeasible: ids("circle.pt[data-feasible='0']"), steps: line ? +line.dataset.points : 0};
    }""")


def _class(name: str):
    """Matches a class attribute that holds ``name`` among its classes."""
    return re.compile(rf"(^|\s){re.escape(name)}(\s|$)")


def _check_front(pg, folder, x, y, modes):
    points, front = _expected_front(folder, x, y, modes)
    assert 0 < len(front) < len(points)  # the test means something: some points are dominated
    expected = {"x": x, "y": y, "points": sorted(points), "front": sorted(front)}
    wait_for(lambda: {k: v for k, v in _front_view(pg).items() if k in expected} == expected, timeout=20,
             what=f"the front of {x}/{y} ({modes})")
    view = _front_view(pg)
    assert view["steps"] == (len(front) if len(front) > 1 else 0)
    return view


def test_pareto_scatter_and_importances_in_the_browser(mo_folder, token, page):
    records, _ = read_experiment(mo_folder)
    names = {r.trial_id: r.name for r in records}
    with DashboardServer(mo_folder, port=0, verbose=False) as server:
        dash._login(page, server.url, token)
        expect(page.locator("#trials tbody tr")).to_have_count(8)
        # the axes default to the run's two objectives, in their modes (fixed, since the run says)
        view = _check_front(page, mo_folder, "a", "b", ["min", "min"])
        assert len(view["points"]) == 7  # the trial without a finite b is not a point
        infeasible = {r.trial_id for r in records if r.last_result["over"] > 0}
        assert set(view["infeasible"]) == infeasible and not infeasible & set(view["front"])
        assert page.input_value("#pareto-x-mode") == "min" and page.is_disabled("#pareto-x-mode")
        assert page.input_value("#pareto-y-mode") == "min" and page.is_disabled("#pareto-y-mode")
        assert page.input_value("#metric") == "a"  # the run's first objective
        assert "Objective: a (min), b (min)" in page.inner_text("#objective")

        # each point says which trial it is
        tid = next(t for t in view["points"] if t not in view["front"])
        point = page.locator(f"#pareto circle.pt[data-trial='{tid}']")
        title = point.locator("title").text_content()
        assert names[tid] in title and "a: " in title and "b: " in title

        # the importances panel: bars named by parameter, the varying one first
        expect(page.locator("#importances li")).to_have_count(2)
        assert page.eval_on_selector_all("#importances li", "lis => lis.map(l => l.dataset.param)") == ["x", "y"]
        assert "x" in page.inner_text("#importances li:first-child .imp-name")
        assert page.is_hidden("#importances-message")
        assert "8 finished trials" in page.inner_text("#importances-note")

        # clicking a point selects its trial: the table row and its curve stay highlighted
        point.click()
        page.mouse.move(5, 5)
        row = page.locator(f"#trials tbody tr[data-trial='{tid}']")
        expect(row).to_have_class(_class("selected"))
        expect(row).to_have_class(_class("hovered"))
        expect(page.locator(f"#curves path.curve[data-trial='{tid}']")).to_have_class(_class("hover"))
        other = next(t for t in names if t != tid)
        expect(page.locator(f"#curves path.curve[data-trial='{other}']")).to_have_class(_class("dim"))
        expect(page.locator(f"#pareto circle.pt[data-trial='{tid}']")).to_have_class(_class("selected"))
        assert names[tid] in page.inner_text("#pareto-selected")
        page.mouse.move(5, 5)
        page.screenshot(path="/tmp/dash_pareto.png", full_page=True)
        dash._screenshot(page, "dashboard_pareto.png")

        # another y axis redraws; its mode is not the run's, so it can be chosen (default from the name)
        page.select_option("#pareto-y", "c")
        assert not page.is_disabled("#pareto-y-mode") and page.input_value("#pareto-y-mode") == "max"
        view = _check_front(page, mo_folder, "a", "c", ["min", "max"])
        assert len(view["points"]) == 8
        page.select_option("#pareto-y-mode", "min")
        _check_front(page, mo_folder, "a", "c", ["min", "min"])

        # a second click on the selected trial (here its row) clears the selection
        page.click(f"#trials tbody tr[data-trial='{tid}'] td:nth-child(2)")
        page.mouse.move(5, 5)
        expect(row).not_to_have_class(_class("selected"))
        expect(page.locator("#pareto circle.pt.selected")).to_have_count(0)

        # the importances follow the metric
        page.select_option("#metric", "b")
        expect(page.locator("#importances-metric")).to_have_text("b")
        expect(page.locator("#importances-note")).to_contain_text("7 finished trials")
        assert not page.console_errors, page.console_errors


def test_panels_of_a_single_objective_folder(tmp_path, token, page):
    """No list of objectives: the scatter takes the first two metrics, each mode a choice, and the
    importances panel says why it has no bars."""
    folder = str(tmp_path / "single")
    _write_folder(folder, [("p", "TERMINATED", {"training_iteration": 2, "acc": 0.9, "loss": 0.2}, {"lr": 0.1}),
                           ("q", "TERMINATED", {"training_iteration": 2, "acc": 0.7, "loss": 0.1}, {"lr": 0.2}),
                           ("r", "RUNNING", {"training_iteration": 1, "acc": 0.5, "loss": 0.3}, {"lr": 0.3})],
                  objective={"metric": "loss", "mode": "min"})
    with DashboardServer(folder, port=0, verbose=False) as server:
        dash._login(page, server.url, token)
        expect(page.locator("#pareto")).to_have_attribute("data-points", "3")
        assert (page.input_value("#pareto-x"), page.input_value("#pareto-y")) == ("acc", "loss")
        assert not page.is_disabled("#pareto-x-mode") and page.input_value("#pareto-x-mode") == "max"
        assert page.is_disabled("#pareto-y-mode") and page.input_value("#pareto-y-mode") == "min"  # the run's
        # acc max, loss min: p (0.9, 0.2) and q (0.7, 0.1) trade off; r (0.5, 0.3) is dominated
        fronts = page.eval_on_selector_all("#pareto circle.pt[data-front]", "cs => cs.map(c => c.dataset.trial).sort()")
        assert fronts == ["p", "q"]
        assert page.input_value("#metric") == "loss" and page.input_value("#mode") == "min"
        # lr varies, but only two trials finished: importances are computed from them
        expect(page.locator("#importances li")).to_have_count(1)
        _write_folder(folder, [("p", "TERMINATED", {"training_iteration": 2, "acc": 0.9, "loss": 0.2}, {"lr": 0.1})],
                      objective={"metric": "loss", "mode": "min"})
        expect(page.locator("#importances-message")).to_contain_text("at least 2 trials")
        expect(page.locator("#importances li")).to_have_count(0)
        assert not page.console_errors, page.console_errors
