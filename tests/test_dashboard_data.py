"""The dashboard's data and serving, without a browser: incremental history from an experiment
folder, the ``tune dashboard`` command, the page's self-contained assets and its protection."""

from __future__ import annotations

import http.client
import json
import os
import re
import stat
import subprocess
import sys

import pytest

from tunecore.endings import ending_label, error_headline, trial_ending
from tunecore.web.sources import FolderSource
from tunecore.web_server import DashboardServer, TuneClient

STATIC = os.path.join(os.path.dirname(__file__), "..", "tunecore", "web", "static")


def _write_state(folder, trials):
    tmp = os.path.join(folder, "experiment_state.json.tmp")
    with open(tmp, "w") as f:
        json.dump({"trials": trials, "finished": False}, f)
    os.replace(tmp, os.path.join(folder, "experiment_state.json"))


def _trial(folder, tid, status="RUNNING", last=None, events=()):
    logdir = os.path.join(folder, f"t_{tid}")
    os.makedirs(logdir, exist_ok=True)
    return {"trial_id": tid, "trainable_name": "f", "experiment_tag": f"0_lr={tid}", "config": {"lr": 0.1},
            "status": status, "last_result": last, "logdir": logdir, "num_failures": 0,
            "stopping_criterion": {"training_iteration": 100}, "events": list(events)}


def _append(folder, tid, name, lines, newline=True):
    with open(os.path.join(folder, f"t_{tid}", name), "a") as f:
        f.write("\n".join(json.dumps(x) for x in lines) + ("\n" if newline else ""))


def test_history_is_incremental_and_tracks_status(tmp_path, monkeypatch):
    monkeypatch.setattr("tunecore.web.history.MIN_SCAN_INTERVAL", 0.0)
    folder = str(tmp_path)
    exploit = {"event": "exploit", "iteration": 2, "source_trial": "b", "new_config": {"lr": 0.2}}
    _write_state(folder, [_trial(folder, "a", events=[exploit]), _trial(folder, "b")])
    _append(folder, "a", "result.json", [{"training_iteration": i, "loss": 1 / i, "config": {"lr": 0.1},
                                          "info": {"grad": i}, "hostname": "h"} for i in (1, 2)])
    _append(folder, "a", "events.jsonl", [exploit])  # also in the state: reported once
    source = FolderSource(folder)
    first = source.history(0, None)
    assert first["reset"] and first["live"] is False and first["experiment"] == os.path.basename(folder)
    assert [r["r"] for r in first["results"]] == [{"training_iteration": 1, "loss": 1.0, "info/grad": 1},
                                                  {"training_iteration": 2, "loss": 0.5, "info/grad": 2}]
    assert [e["event"] for e in first["events"]] == ["exploit"]
    gen, cursor = first["generation"], first["cursor"]

    _append(folder, "a", "result.json", [{"training_iteration": 3, "loss": 0.3}])
    _append(folder, "b", "result.json", [{"training_iteration": 1, "loss": 0.9}, {"training_iteration": 2}],
            newline=False)  # the last line is still being written
    second = source.history(cursor, gen)
    assert not second["reset"]
    assert [(r["t"], r["r"]["training_iteration"]) for r in second["results"]] == [("a", 3), ("b", 1)]
    assert second["events"] == []
    assert source.history(second["cursor"], gen)["results"] == []

    _append(folder, "b", "result.json", [], newline=True)  # completes the line
    _write_state(folder, [_trial(folder, "a", "TERMINATED", last={"training_iteration": 3, "loss": 0.3},
                                 events=[exploit]), _trial(folder, "b", "PAUSED")])
    third = source.history(second["cursor"], gen)
    assert [(r["t"], r["r"]["training_iteration"]) for r in third["results"]] == [("b", 2)]
    assert sorted((e["t"], e["to"]) for e in third["events"]) == [("a", "TERMINATED"), ("b", "PAUSED")]
    summary = {t["id"]: t for t in third["trials"]}
    # no recorded ending (a folder from before they were recorded): inferred, and said to be
    assert summary["a"]["ending"] == {"how": "early", "iteration": 3, "inferred": True, "s": None}
    assert summary["b"]["ending"] == {"how": "paused", "iteration": None, "scheduler": None, "inferred": False,
                                      "s": None}
    assert [t["ending"]["how"] for t in source.history(0, None)["trials"]] == ["early", "paused"]
    assert summary["a"]["metrics"] == {"training_iteration": 3, "loss": 0.3}

    # the runner's record of the end decides, and the ending points at it (its sequence number)
    ended = {"event": "ended", "how": "returned", "iteration": 3, "time": 5.0}
    _append(folder, "a", "events.jsonl", [ended])
    fourth = source.history(third["cursor"], gen)
    [event] = fourth["events"]
    assert event == dict(ended, t="a", s=event["s"])
    assert fourth["trials"][0]["ending"] == {"how": "returned", "iteration": 3, "time": 5.0, "inferred": False,
                                             "s": event["s"]}

    again = source.history(5, "another-generation")  # a page from before a restart starts over
    assert again["reset"] and len(again["results"]) == 5
    assert again["trials"][0]["ending"]["s"] == [e["s"] for e in again["events"] if e.get("event") == "ended"][0]


def test_trial_ending_from_records_status_or_results():
    crit = {"acc": 0.9}
    stopped = {"event": "stopped", "by": "scheduler", "scheduler": "MedianStoppingRule", "iteration": 4}
    pause = {"event": "paused", "by": "scheduler", "scheduler": "HyperBand", "iteration": 2}
    err = {"event": "ended", "how": "error", "iteration": 2, "error": "ValueError: boom", "failures": 1}
    done = {"event": "ended", "how": "returned", "iteration": 7}
    last = {"training_iteration": 7, "acc": 0.5}

    def how(status, events, last=last, error=None):
        e = trial_ending(status, events, last, crit, error)
        return e and (e["how"], e["iteration"], e["inferred"], e["index"])

    assert how("RUNNING", [done]) is None and how("PENDING", []) is None
    assert how("TERMINATED", [pause, done]) == ("returned", 7, False, 1)
    assert how("TERMINATED", [stopped]) == ("scheduler", 4, False, 0)  # written before "ended" records
    assert trial_ending("TERMINATED", [stopped])["scheduler"] == "MedianStoppingRule"
    # restarted after an error (resume) and then returned: the last end counts; an ERROR status wins
    assert how("TERMINATED", [err, done]) == ("returned", 7, False, 1)
    assert how("ERROR", [done]) == ("error", 7, False, None)
    assert trial_ending("ERROR", [err])["error"] == "ValueError: boom"
    assert trial_ending("ERROR", [], error="Traceback (most recent call last):\n  File x\nKeyError: 'k'")["error"] \
        == "KeyError: 'k'"
    # nothing recorded: inferred from the last result against the criterion
    assert how("TERMINATED", []) == ("early", 7, True, None)
    assert how("TERMINATED", [], last={"training_iteration": 3, "acc": 0.95}) == ("stop_criterion", 3, True, None)
    assert trial_ending("TERMINATED", [], {"acc": 0.95}, crit)["criterion"] == {"acc": 0.9}
    assert trial_ending("TERMINATED", [], last, None)["how"] == "unknown"
    # paused: by the scheduler when its last pause is where the trial stands, else by something else
    assert how("PAUSED", [pause], last={"training_iteration": 2}) == ("paused", 2, False, 0)
    assert trial_ending("PAUSED", [pause], {"training_iteration": 5})["scheduler"] is None
    label = ending_label(trial_ending("TERMINATED", [stopped]), exploits=2)
    assert label == "stopped by MedianStoppingRule @4, exploited x2"
    assert ending_label(trial_ending("TERMINATED", [], last, crit)) == "stopped early? @7 (inferred)"
    assert ending_label(None) == "-"


def test_error_headline():
    ray_style = ("Traceback (most recent call last):\n  File \"executor.py\", line 1, in wait\n"
                 "ray.exceptions.RayTaskError(RuntimeError): \x1b[36mray::_Worker.fetch()\x1b[39m (pid=1)\n"
                 "  File \"t.py\", line 3, in _train\nRuntimeError: planned failure\n\n"
                 "Caused by: RuntimeError: planned failure")
    assert error_headline(ray_style) == "RuntimeError: planned failure"
    assert error_headline("Traceback...\nCaused by: TrialError: Error running trial: ValueError: bad\nmore") \
        == "ValueError: bad"
    assert error_headline("TuneError: Trial finished without reporting a result.\nmore") \
        == "TuneError: Trial finished without reporting a result."
    assert error_headline("") is None and error_headline(None) is None


def test_tune_dashboard_command(tmp_path, monkeypatch):
    monkeypatch.delenv("TUNECORE_SERVER_TOKEN", raising=False)
    folder = str(tmp_path / "exp")
    os.makedirs(folder)
    _write_state(folder, [_trial(folder, "a", "TERMINATED", last={"training_iteration": 1, "loss": 0.5})])
    _append(folder, "a", "result.json", [{"training_iteration": 1, "loss": 0.5}])
    env = {k: v for k, v in os.environ.items() if k != "TUNECORE_SERVER_TOKEN"}
    proc = subprocess.Popen([sys.executable, "-m", "tunecore", "dashboard", folder, "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        banner = proc.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", banner)
        assert match, (banner, proc.stderr.read() if proc.poll() is not None else "")
        token_file = os.path.join(folder, "dashboard_token")
        assert token_file in banner
        assert stat.S_IMODE(os.stat(token_file).st_mode) == 0o600
        with open(token_file) as f:
            token = f.read().strip()
        assert token not in banner
        client = TuneClient(f"127.0.0.1:{match.group(1)}", token=token)
        assert [t["id"] for t in client.get_all_trials()["trials"]] == ["a"]
        with pytest.raises(Exception, match="405"):
            client.stop_trial("a")  # read-only: an experiment on disk
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_dashboard_command_needs_an_experiment_folder(tmp_path):
    out = subprocess.run([sys.executable, "-m", "tunecore", "dashboard", str(tmp_path), "--port", "0"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "experiment_state.json" in out.stderr


def test_page_is_self_contained():
    """No CDN: every script, style, font and image the page uses ships in the package."""
    names = os.listdir(STATIC)
    assert {"index.html", "app.js", "style.css"} <= set(names)
    for name in names:
        with open(os.path.join(STATIC, name), encoding="utf-8") as f:
            text = f.read()
        urls = re.findall(r"(?:https?:)?//[\w.-]+\.[a-z]{2,}[^\s\"')]*", text)
        assert [u for u in urls if u != "http://www.w3.org/2000/svg"] == [], (name, urls)
    with open(os.path.join(STATIC, "index.html"), encoding="utf-8") as f:
        html = f.read()
    for ref in re.findall(r'(?:src|href)="([^"]+)"', html):
        assert ref.startswith("/static/") and ref[len("/static/"):] in names, ref
    assert "<script>" not in html and "style=" not in html  # nothing inline: the CSP forbids it


def test_page_is_public_but_data_needs_the_token(tmp_path):
    folder = str(tmp_path)
    _write_state(folder, [_trial(folder, "secret_trial_id")])
    with DashboardServer(folder, port=0, token="t" * 40, verbose=False) as server:
        def get(path, token=None):
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
            conn.request("GET", path, headers={"Authorization": f"Bearer {token}"} if token else {})
            resp = conn.getresponse()
            body = resp.read()
            conn.close()
            return resp, body

        resp, body = get("/")
        assert resp.status == 200 and b"secret_trial_id" not in body
        assert "script-src 'self'" in resp.getheader("Content-Security-Policy")
        assert resp.getheader("X-Frame-Options") == "DENY"
        assert get("/static/app.js")[0].getheader("Content-Type").startswith("text/javascript")
        assert get("/static/..%2Fservice.py")[0].status == 401  # not a static file: needs the token...
        assert get("/static/..%2Fservice.py", "t" * 40)[0].status == 404  # ...and is not served
        assert get("/api/history?since=0")[0].status == 401
        resp, body = get("/api/history?since=0", "t" * 40)
        assert resp.status == 200 and json.loads(body)["trials"][0]["id"] == "secret_trial_id"
        assert get("/api/history?since=zero", "t" * 40)[0].status == 400
