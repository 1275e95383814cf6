"""The experiment server's HTTP API over real sockets, against a small stand-in runner.

The stand-in has the runner's thread model: its own loop thread carries out what
``submit`` hands it, so these tests check that changes happen there, not on the
server's threads. End-to-end tests through ``run_experiments`` are in
``test_web_server_e2e.py``.
"""

from __future__ import annotations

import concurrent.futures
import http.client
import json
import math
import os
import queue
import socket
import stat
import threading
import time
import warnings

import pytest

import tunecore
from tunecore.errors import TuneError, TuneManagerError
from tunecore.experiment import Experiment, create_trial_from_spec
from tunecore.trial import Trial, TrialStatus
from tunecore.web_server import TuneClient, TuneServer


def _noop(config, reporter):  # registered as a trainable; never run here
    reporter(done=True)


tunecore.register_trainable("web_noop", _noop)


class LoopRunner:
    """The runner interface the server uses, with a loop thread that owns all changes."""

    def __init__(self, trials: list[Trial], paused: bool = False) -> None:
        self._trials = list(trials)
        self._queue: queue.Queue = queue.Queue()
        self.changed_on: set[str] = set()
        self.paused = threading.Event()
        if paused:
            self.paused.set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="fake-runner")
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            if self.paused.is_set():
                self._stop.wait(0.01)
                continue
            try:
                fn, fut = self._queue.get(timeout=0.01)
            except queue.Empty:
                continue
            if fut.set_running_or_notify_cancel():
                try:
                    fut.set_result(fn())
                except BaseException as exc:  # noqa: BLE001 - handed to the caller
                    fut.set_exception(exc)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def alive(self) -> bool:
        return self._thread.is_alive()

    def submit(self, fn):
        fut: concurrent.futures.Future = concurrent.futures.Future()
        self._queue.put((fn, fut))
        return fut

    def get_trials(self) -> list[Trial]:
        return list(self._trials)

    def get_trial(self, trial_id: str):
        return next((t for t in self._trials if t.trial_id == trial_id), None)

    def add_experiment(self, name: str, spec: dict) -> list[Trial]:
        self.changed_on.add(threading.current_thread().name)
        experiment = Experiment.from_json(name, spec)
        trials = [create_trial_from_spec(experiment.spec, experiment, str(i))
                  for i in range(experiment.spec["num_samples"])]
        self._trials.extend(trials)
        return trials

    def stop_trial(self, trial: Trial) -> None:
        self.changed_on.add(threading.current_thread().name)
        trial.status = TrialStatus.TERMINATED


def _trial(i: int, status: TrialStatus = TrialStatus.RUNNING) -> Trial:
    return Trial("web_noop", config={"lr": 0.1 * (i + 1)}, experiment_tag=f"{i}_lr={0.1 * (i + 1):.1f}",
                 status=status, last_result={"training_iteration": 3, "mean_loss": float("nan")})


@pytest.fixture
def served(tmp_path, monkeypatch):
    """A stand-in runner with two trials and a server on a free port; both stopped afterwards."""
    monkeypatch.delenv("TUNECORE_SERVER_TOKEN", raising=False)
    runner = LoopRunner([_trial(0), _trial(1)])
    server = TuneServer(runner, port=0, experiment_dir=str(tmp_path / "exp"), verbose=False)
    server.start()
    try:
        yield runner, server
    finally:
        server.shutdown()
        runner.close()


def _raw(server: TuneServer, method: str, path: str, body: bytes | None = None,
         headers: dict | None = None, token: str | None = "default") -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        hdrs = dict(headers or {})
        if token == "default":
            token = server.token
        if token is not None:
            hdrs["Authorization"] = f"Bearer {token}"
        conn.request(method, path, body=body, headers=hdrs)
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, (json.loads(data) if data else {})
    finally:
        conn.close()


def test_reference_scenario_list_add_stop(served):
    """The REST API: 2 trials listed, one added makes 3, a stop is carried out by the loop."""
    runner, server = served
    client = TuneClient(server.address, token=server.token)
    trials = client.get_all_trials()["trials"]
    assert len(trials) == 2
    assert set(trials[0]) >= {"id", "trainable_name", "config", "status", "result"}
    assert math.isnan(trials[0]["result"]["mean_loss"])  # sent as "NaN" (plain JSON), read back as a float
    assert trials[0]["config"] == {"lr": 0.1}

    added = client.add_trial("test", {"run": "web_noop", "stop": {"training_iteration": 3},
                                      "config": {"lr": 0.5}})
    assert [t["config"] for t in added["trials"]] == [{"lr": 0.5}]
    assert len(client.get_all_trials()["trials"]) == 3
    new_id = added["trials"][0]["id"]
    assert client.get_trial(new_id)["trial_info"]["status"] == "PENDING"
    # added beside the running experiment, not in ~/ray_results
    assert runner.get_trial(new_id).local_dir == os.path.join(os.path.dirname(server.experiment_dir), "test")

    first = trials[0]["id"]
    stopped = client.stop_trial(first)
    assert stopped["trial_info"]["status"] == "TERMINATED"
    statuses = {t["id"]: t["status"] for t in client.get_all_trials()["trials"]}
    assert statuses[first] == "TERMINATED" and statuses[trials[1]["id"]] == "RUNNING"
    assert runner.changed_on == {"fake-runner"}  # changes ran on the runner's loop, not the server's


def test_token_file_is_0600_and_required(served):
    runner, server = served
    path = os.path.join(server.experiment_dir, "server_token")
    assert server.token_file == path
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with open(path) as f:
        assert f.read().strip() == server.token
    assert len(server.token) >= 32
    assert _raw(server, "GET", "/trials", token=None)[0] == 401
    assert _raw(server, "GET", "/trials", token="wrong")[0] == 401
    assert _raw(server, "GET", "/trials", token=server.token + "x")[0] == 401
    status, body = _raw(server, "GET", "/trials", token=None, headers={"Authorization": f"Basic {server.token}"})
    assert status == 401 and "token" in body["message"]
    # a refused POST changes nothing
    status, _ = _raw(server, "POST", "/trials", json.dumps({"name": "x", "spec": {"run": "web_noop"}}).encode(),
                     token="wrong")
    assert status == 401 and len(runner.get_trials()) == 2
    with pytest.raises(TuneManagerError, match="401.*No token was sent"):
        TuneClient(server.address).get_all_trials()
    assert TuneClient.from_experiment_dir(server.address, server.experiment_dir).get_all_trials()["trials"]


def test_token_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("TUNECORE_SERVER_TOKEN", "env-token-for-tests-0123456789")
    runner = LoopRunner([_trial(0)])
    with TuneServer(runner, port=0, experiment_dir=str(tmp_path), verbose=False) as server:
        assert server.token_file is None and not os.path.exists(tmp_path / "server_token")
        assert len(TuneClient(server.address).get_all_trials()["trials"]) == 1  # client reads the variable
        with pytest.raises(TuneManagerError, match="401"):
            TuneClient(server.address, token="other").get_all_trials()
    runner.close()


@pytest.mark.parametrize("spec, fragment", [
    ({"run": "os.path:join"}, "import paths are not accepted"),
    ({"run": "not_registered"}, "not a trainable registered"),
    ({"run": "web_noop", "config": {"x": {"eval": "__import__('os').system('true')"}}}, '"eval"'),
    ({"run": "web_noop", "config": {"a": [{"b": {"eval": "1"}}]}}, '"eval"'),
    ({"run": "web_noop", "config": {"x": {"sample_from": "spec.config.lr"}}}, '"sample_from"'),
    ({"run": "web_noop", "restore": "/tmp/ckpt"}, "restore"),
    ({"run": "web_noop", "local_dir": "/etc"}, "local_dir"),
    ({"run": "web_noop", "upload_dir": "s3://x/y"}, "upload_dir"),
    ({"run": "web_noop", "bogus": 1}, "Unknown spec key"),
    ({"run": "web_noop", "num_samples": 10 ** 6}, "num_samples"),
    ({"run": "web_noop", "config": {"a": {"grid_search": list(range(100))},
                                    "b": {"grid_search": list(range(100))}}}, "more than 1000 trials"),
    ({"run": "web_noop", "stop": {"training_iteration": "soon"}}, "stop.training_iteration"),
    ({"run": "web_noop", "trial_resources": {"tpu": 1}}, "Unknown resource type"),
])
def test_add_refusals(served, spec, fragment):
    runner, server = served
    status, body = _raw(server, "POST", "/trials", json.dumps({"name": "bad", "spec": spec}).encode())
    assert status == 400, body
    assert fragment in body["message"]
    assert len(runner.get_trials()) == 2


@pytest.mark.parametrize("method, path, body, expected", [
    ("POST", "/trials", b"{not json", 400),
    ("POST", "/trials", b'{"name": "x", "spec": {"run": "web_noop", "config": {"a": NaN}}}', 400),
    ("POST", "/trials", b'{"name": "x", "spec": {"run": "web_noop", "config": {"a": 1e999}}}', 400),
    ("POST", "/trials", b"[" * 100000, 400),
    ("POST", "/trials", b'"just a string"', 400),
    ("POST", "/trials", b'{"name": "x", "spec": {"run": "web_noop"}, "extra": 1}', 400),
    ("POST", "/trials", b'{"name": "../etc", "spec": {"run": "web_noop"}}', 400),
    ("POST", "/trials", b"\xff\xfe", 400),
    ("PUT", "/trials/deadbeef", b'{"status": "TERMINATED"}', 404),
    ("PUT", "/trials/{id}", b'{"status": "RUNNING"}', 400),
    ("PUT", "/trials/{id}", b'{"status": "TERMINATED", "x": 1}', 400),
    ("GET", "/trials/deadbeef", None, 404),
    ("GET", "/trials/..%2F..%2Fetc%2Fpasswd", None, 404),
    ("GET", "/trials/a/b", None, 404),
    ("GET", "/nowhere", None, 404),
    ("DELETE", "/trials/{id}", None, 405),
    ("PATCH", "/trials", b"{}", 405),
    ("POST", "/trials/{id}", b"{}", 405),
])
def test_malformed_requests_are_4xx(served, method, path, body, expected):
    runner, server = served
    path = path.replace("{id}", runner.get_trials()[0].trial_id)
    status, answer = _raw(server, method, path, body)
    assert status == expected, answer
    assert isinstance(answer.get("message"), str) and answer["message"]
    assert runner.get_trials()[0].status == TrialStatus.RUNNING


def test_body_size_limit_and_chunked(served):
    runner, server = served
    status, body = _raw(server, "POST", "/trials", b"x" * (2 << 20))
    assert status == 413 and "too large" in body["message"]
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.putrequest("POST", "/trials")
    conn.putheader("Authorization", f"Bearer {server.token}")
    conn.putheader("Transfer-Encoding", "chunked")
    conn.endheaders()
    conn.send(b"2\r\n{}\r\n0\r\n\r\n")
    assert conn.getresponse().status == 411
    conn.close()
    assert _raw(server, "GET", "/trials")[0] == 200  # still serving


def test_runner_that_does_not_answer_gives_503(tmp_path, monkeypatch):
    monkeypatch.delenv("TUNECORE_SERVER_TOKEN", raising=False)
    runner = LoopRunner([_trial(0)], paused=True)
    server = TuneServer(runner, port=0, experiment_dir=str(tmp_path), verbose=False, request_timeout=0.3)
    with server:
        status, body = _raw(server, "PUT", f"/trials/{runner.get_trials()[0].trial_id}",
                            b'{"status": "TERMINATED"}')
        assert status == 503 and "try again" in body["message"]
        assert runner.get_trials()[0].status == TrialStatus.RUNNING  # cancelled, never applied
        runner.paused.clear()
        assert _raw(server, "GET", "/trials")[0] == 200
    runner.close()


def test_requests_waiting_when_the_experiment_ends_get_503_at_once(tmp_path):
    runner = LoopRunner([_trial(0)], paused=True)  # a loop that will never get to the request
    server = TuneServer(runner, port=0, token="t" * 32, verbose=False, request_timeout=60).start()
    answers: list = []
    trial_id = runner.get_trials()[0].trial_id
    waiter = threading.Thread(target=lambda: answers.append(
        _raw(server, "PUT", f"/trials/{trial_id}", b'{"status": "TERMINATED"}')))
    waiter.start()
    deadline = time.monotonic() + 10
    while runner._queue.empty() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not runner._queue.empty(), "the request never reached the runner"
    started = time.monotonic()
    server.shutdown()
    waiter.join(timeout=10)
    assert time.monotonic() - started < 5
    assert answers[0][0] == 503 and "finished" in answers[0][1]["message"]
    runner.close()


def test_port_taken_is_a_clear_error(served):
    runner, server = served
    other = TuneServer(runner, port=server.port, verbose=False, token="t" * 32)
    with pytest.raises(TuneError, match=r"port is already in use.*server_port"):
        other.start()


def test_other_host_only_with_a_warning(monkeypatch):
    with pytest.warns(UserWarning, match="reachable from other machines"):
        TuneServer(LoopRunner([]), port=0, host="0.0.0.0", token="t" * 32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        TuneServer(LoopRunner([]), port=0, token="t" * 32)


def test_shutdown_closes_the_port(tmp_path):
    runner = LoopRunner([])
    server = TuneServer(runner, port=0, token="t" * 32, verbose=False).start()
    port = server.port
    server.shutdown()
    server.shutdown()  # idempotent
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    runner.close()


def test_verbose_start_says_where_the_token_is(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("TUNECORE_SERVER_TOKEN", raising=False)
    runner = LoopRunner([])
    with TuneServer(runner, port=0, experiment_dir=str(tmp_path)) as server:
        out = capsys.readouterr().out
        assert str(tmp_path / "server_token") in out and server.token not in out
        assert f"127.0.0.1:{server.port}" in out
    runner.close()
