"""The experiment server end to end: ``run_experiments(with_server=True)`` in a thread, driven
over real sockets by ``TuneClient``, plus a fuzz of the live API."""

from __future__ import annotations

import http.client
import json
import socket
import string
import threading
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tunecore
from tunecore.errors import TuneManagerError
from tunecore.testing import wait_for
from tunecore.web_server import TuneClient


class WebSlow(tunecore.Trainable):
    """Waits 0.1 s per iteration, so an experiment stays up while a test talks to it."""

    def _setup(self, config):
        self.step = 0

    def _train(self):
        time.sleep(0.1)
        self.step += 1
        return {"mean_loss": 1.0 / self.step, "episode_reward_mean": self.step * self.config.get("lr", 1.0)}


def _web_quick(config, reporter):
    reporter(mean_loss=0.5, done=True)


tunecore.register_trainable("web_slow", WebSlow)
tunecore.register_trainable("web_quick", _web_quick)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveExperiment:
    """``run_experiments`` in a background thread with the server on a free port."""

    def __init__(self, local_dir: str, experiments: dict, **kwargs: Any) -> None:
        self.port = free_port()
        self.result: dict = {}
        self.thread = threading.Thread(target=self._run, args=(experiments, kwargs), daemon=True)
        self.local_dir = local_dir
        self.thread.start()
        wait_for(self._listening, what="the server to listen")
        self.client = TuneClient(f"127.0.0.1:{self.port}")

    def _run(self, experiments: dict, kwargs: dict) -> None:
        try:
            self.result["trials"] = tunecore.run_experiments(
                experiments, with_server=True, server_port=self.port, verbose=False, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.result["error"] = exc

    def _listening(self) -> bool:
        if "error" in self.result:
            raise AssertionError(f"run_experiments failed: {self.result['error']!r}")
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
            return True
        except OSError:
            return False

    def statuses(self) -> dict:
        return {t["id"]: t["status"] for t in self.client.get_all_trials()["trials"]}

    def finish(self, timeout: float = 60.0, stop: bool = True) -> list:
        """Stop every unfinished trial through the API (unless ``stop=False``) and wait for
        run_experiments to return."""
        try:
            statuses = self.statuses() if stop and self.thread.is_alive() else {}
        except tunecore.TuneError:  # the experiment ended meanwhile
            statuses = {}
        for trial_id, status in statuses.items():
            if status not in ("TERMINATED", "ERROR"):
                try:
                    self.client.stop_trial(trial_id)
                except (TuneManagerError, tunecore.TuneError):
                    pass  # the experiment ended meanwhile
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "run_experiments did not return"
        if "error" in self.result:
            raise self.result["error"]
        return self.result["trials"]


@pytest.fixture
def token(monkeypatch):
    value = "e2e-token-" + "x" * 32
    monkeypatch.setenv("TUNECORE_SERVER_TOKEN", value)
    return value


def _spec(local_dir: str, **extra: Any) -> dict:
    return {"run": "web_slow", "stop": {"training_iteration": 500}, "local_dir": local_dir,
            "config": {"lr": {"grid_search": [1.0, 2.0]}}, **extra}


def test_reference_scenario_through_run_experiments(ray_session, results_dir, token):
    """Two long trials listed, one added (3 iterations) runs to its end, one stopped, then the rest."""
    live = LiveExperiment(results_dir, {"ref": _spec(results_dir)})
    first = wait_for(lambda: len(live.statuses()) == 2 and all(s == "RUNNING" for s in live.statuses().values())
                     and live.statuses(), what="2 RUNNING trials")
    added = live.client.add_trial("test", {"run": "web_slow", "stop": {"training_iteration": 3}})["trials"]
    assert len(added) == 1 and len(live.client.get_all_trials()["trials"]) == 3
    added_id = added[0]["id"]
    info = wait_for(lambda: (i := live.client.get_trial(added_id)["trial_info"])["status"] == "TERMINATED" and i,
                    what="the added trial to run its 3 iterations")
    assert info["result"]["training_iteration"] == 3 and info["trainable_name"] == "web_slow"

    stop_id, keep_id = list(first)
    assert live.client.stop_trial(stop_id)["trial_info"]["status"] == "TERMINATED"
    statuses = live.statuses()
    assert statuses[stop_id] == "TERMINATED" and statuses[keep_id] == "RUNNING"

    trials = live.finish()
    assert sorted(t.trial_id for t in trials) == sorted([stop_id, keep_id, added_id])
    assert all(t.status == "TERMINATED" for t in trials)
    assert all(t.last_result["training_iteration"] < 500 for t in trials if t.trial_id != added_id)
    # each end recorded as such: a stop over the API is a user's, the added trial met its criterion
    ends = {t.trial_id: [(e["how"], e["iteration"]) for e in t.events if e.get("event") == "ended"] for t in trials}
    by_id = {t.trial_id: t for t in trials}
    assert ends == {added_id: [("stop_criterion", 3)],
                    stop_id: [("user", by_id[stop_id].last_result["training_iteration"])],
                    keep_id: [("user", by_id[keep_id].last_result["training_iteration"])]}
    with pytest.raises(OSError):  # the server went away with the experiment
        socket.create_connection(("127.0.0.1", live.port), timeout=1).close()


def test_refusals_leave_the_experiment_running(ray_session, results_dir, token):
    live = LiveExperiment(results_dir, {"refuse": _spec(results_dir)})
    wait_for(lambda: len(live.statuses()) == 2, what="2 trials")
    with pytest.raises(TuneManagerError, match="Insufficient cluster resources") as err:
        live.client.add_trial("huge", {"run": "web_slow", "trial_resources": {"cpu": 1000}})
    assert err.value.status == 400
    with pytest.raises(TuneManagerError, match="import paths"):
        live.client.add_trial("code", {"run": "os:system"})
    with pytest.raises(TuneManagerError, match="401"):
        TuneClient(f"127.0.0.1:{live.port}", token="nope").get_all_trials()
    with pytest.raises(TuneManagerError, match="404"):
        live.client.stop_trial("no_such_trial")
    assert len(live.statuses()) == 2 and live.thread.is_alive()
    trials = live.finish()
    assert len(trials) == 2


# --- fuzz ------------------------------------------------------------------------------
_KEYS = st.sampled_from(["name", "spec", "status", "run", "config", "stop", "eval", "sample_from",
                         "grid_search", "uniform", "choice", "num_samples", "trial_resources", "cpu",
                         "gpu", "restore", "local_dir", "training_iteration", "TERMINATED"]) | st.text(max_size=8)
_SCALARS = (st.none() | st.booleans() | st.integers(-10, 10) | st.integers() |
            st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12) |
            st.sampled_from(["web_quick", "web_slow", "TERMINATED", "RUNNING", "os:system", "fuzz"]))
_JSON = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=4) |
                     st.dictionaries(_KEYS, inner, max_size=4), max_leaves=12)
_SPECS = st.fixed_dictionaries(
    {"run": st.sampled_from(["web_quick", "web_quick", "nope", "a:b", 3])},
    optional={"config": st.dictionaries(_KEYS, _JSON, max_size=3),
              "stop": st.dictionaries(_KEYS, _SCALARS, max_size=2),
              "num_samples": st.integers(-1, 3) | _SCALARS,
              # valid requests keep the running trials' shape (1 CPU), so no new worker processes are
              # needed; other shapes are refused (unknown, negative, or more than the cluster has)
              "trial_resources": st.just({"cpu": 1}) | st.dictionaries(
                  st.sampled_from(["cpu", "gpu", "tpu"]), st.sampled_from([-1, 1e9, "x", None]), min_size=1,
                  max_size=2),
              "max_failures": _SCALARS, "checkpoint_freq": _SCALARS, "env": _SCALARS, "restore": _SCALARS})


_ADD_BODIES = st.one_of(
    st.fixed_dictionaries({"name": st.sampled_from(["fz", "fz.2", "", "../x", "a/b"]) | _SCALARS,
                           "spec": _SPECS | _JSON}),
    st.fixed_dictionaries({"name": st.just("fz"), "spec": _SPECS}),
    st.fixed_dictionaries({"name": st.just("fz"), "spec": _SPECS}, optional={"extra": _JSON}),
).map(lambda v: json.dumps(v).encode())
_STOP_BODIES = st.fixed_dictionaries({"status": st.sampled_from(["TERMINATED", "PAUSED"]) | _SCALARS},
                                     optional={"x": _SCALARS}).map(lambda v: json.dumps(v).encode())
_ANY_BODY = st.one_of(st.binary(max_size=64), _JSON.map(lambda v: json.dumps(v).encode()), _ADD_BODIES,
                      _STOP_BODIES, st.sampled_from([b'{"status": "TERMINATED"', b'{"a": NaN}', b"[" * 5000]),
                      st.none())
_SAFE = string.ascii_letters + string.digits + "-._~%/?=&"
_METHODS = st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"])


def _requests(target: str) -> st.SearchStrategy:
    """(method, path, body): half aimed at real endpoints, half anything."""
    ids = st.sampled_from([target, "nope", "..", "%2e%2e", "x" * 200]) | st.text(_SAFE, max_size=20)
    paths = st.one_of(
        st.just("/trials"), ids.map(lambda i: f"/trials/{i}"), ids.map(lambda i: f"/trials/{i}/x"),
        st.text(_SAFE, max_size=30).map(lambda p: "/" + p),
        st.integers().map(lambda n: f"/api/history?since={n}"),
        st.sampled_from(["/", "/static/app.js", "/static/../web_server.py", "/api/history?since=x&gen=1"]))
    return st.one_of(
        st.tuples(st.just("POST"), st.just("/trials"), _ADD_BODIES),
        st.tuples(st.just("PUT"), ids.map(lambda i: f"/trials/{i}"), _STOP_BODIES | _ANY_BODY),
        st.tuples(st.just("GET"), paths, st.none()),
        st.tuples(_METHODS, paths, _ANY_BODY),
    )


def test_fuzzed_requests_never_5xx_nor_kill_the_experiment(ray_session, results_dir, token):
    live = LiveExperiment(results_dir, {"fuzz": _spec(results_dir)})
    target, keeper = list(wait_for(lambda: len(live.statuses()) == 2 and live.statuses(), what="2 trials"))
    seen: dict = {}

    @settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(request=_requests(target), auth=st.sampled_from(["ok", "ok", "ok", "ok", "bad", None]))
    def check(request: tuple, auth: Any) -> None:
        method, path, body = request
        conn = http.client.HTTPConnection("127.0.0.1", live.port, timeout=40)
        headers = {}
        if auth:
            headers["Authorization"] = f"Bearer {token if auth == 'ok' else 'bad'}"
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
        finally:
            conn.close()
        assert resp.status < 500, (method, path, body, resp.status, data[:300])
        seen[resp.status] = seen.get(resp.status, 0) + 1
        if resp.status >= 400 and method != "HEAD":
            assert isinstance(json.loads(data)["message"], str)

    check()
    assert {400, 401, 404} <= set(seen) and (200 in seen or 201 in seen), seen  # it explored
    assert live.thread.is_alive() and live.statuses()[keeper] == "RUNNING"
    trials = live.finish()
    assert all(t.status in ("TERMINATED", "ERROR") for t in trials)
