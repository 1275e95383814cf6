"""run_experiments end to end on the session's Ray: specs, stopping, results on disk."""

from __future__ import annotations

import json
import os

import pytest
from trainables import Counter, LegacySetup

import tunecore as tune
from tunecore import Experiment, TuneError, run_experiments
from tunecore.errors import TrialsDidNotComplete
from tunecore.trial import TrialStatus


def train_func(config, reporter):
    for i in range(config.get("iters", 5)):
        reporter(mean_accuracy=config["lr"] * i, timesteps_total=i)


def read_rows(trial):
    with open(os.path.join(trial.logdir, "result.json")) as f:
        return [json.loads(line) for line in f]


def test_guide_dict_spec_runs_grid_and_writes_results(ray_session, results_dir):
    trials = run_experiments({
        "my_experiment": {
            "run": train_func,
            "stop": {"mean_accuracy": 100},
            "config": {"lr": tune.grid_search([0.2, 0.4]), "iters": tune.grid_search([3, 4])},
            "trial_resources": {"cpu": 1, "gpu": 0},
            "repeat": 1,
            "local_dir": results_dir,
            "max_failures": 2,
        }
    }, verbose=False)
    # the first path in sorted order ("iters") changes fastest
    assert [str(t) for t in trials] == ["train_func_0_iters=3,lr=0.2", "train_func_1_iters=4,lr=0.2",
                                        "train_func_2_iters=3,lr=0.4", "train_func_3_iters=4,lr=0.4"]
    for t in trials:
        assert t.status == TrialStatus.TERMINATED
        rows = read_rows(t)
        # every reported result reaches the driver, in order, no duplicate final row
        assert [r["training_iteration"] for r in rows] == list(range(1, t.config["iters"] + 1))
        assert [r["timesteps_total"] for r in rows] == list(range(t.config["iters"]))
        assert t.last_result["done"] is True
        with open(os.path.join(t.logdir, "params.json")) as f:
            assert json.load(f) == t.config
        assert os.path.dirname(t.logdir) == os.path.join(results_dir, "my_experiment")
    state = json.load(open(os.path.join(results_dir, "my_experiment", "experiment_state.json")))
    assert {r["trial_id"] for r in state["trials"]} == {t.trial_id for t in trials}
    assert all(r["status"] == "TERMINATED" for r in state["trials"])


def test_function_results_are_queued_not_sampled(ray_session, results_dir):
    def fast(config, reporter):
        for i in range(300):
            reporter(i=i)

    [trial] = run_experiments(Experiment("fast", fast, local_dir=results_dir), verbose=False)
    rows = read_rows(trial)
    assert [r["i"] for r in rows] == list(range(300))
    assert [r["training_iteration"] for r in rows] == list(range(1, 301))


def test_class_trainable_stop_dict_and_auto_fields(ray_session, results_dir):
    [trial] = run_experiments(Experiment("cls", Counter, stop={"training_iteration": 3},
                                         config={"scale": 2}, local_dir=results_dir), verbose=False)
    rows = read_rows(trial)
    assert [r["episode_reward_mean"] for r in rows] == [2, 4, 6]
    assert [r["timesteps_total"] for r in rows] == [10, 20, 30]
    last = rows[-1]
    for key in ("experiment_id", "date", "timestamp", "training_iteration", "time_this_iter_s",
                "time_total_s", "pid", "hostname", "node_ip", "done", "time_since_restore",
                "iterations_since_restore", "timesteps_since_restore"):
        assert key in last, key
    assert last["done"] is True and not any(r["done"] for r in rows[:-1])


def test_stop_callable_and_done(ray_session, results_dir):
    seen = []

    def stopper(trial_id, result):
        seen.append(trial_id)
        return result["step"] >= 2

    [trial] = run_experiments(Experiment("callable", Counter, stop=stopper, local_dir=results_dir), verbose=False)
    assert trial.last_result["step"] == 2 and seen


def test_legacy_setup_without_config(ray_session, results_dir):
    [trial] = run_experiments(Experiment("legacy", LegacySetup, config={"value": 7}, local_dir=results_dir),
                              verbose=False)
    assert trial.last_result["value"] == 7


def test_failing_trial_goes_to_error_with_traceback_others_continue(ray_session, results_dir):
    def sometimes(config, reporter):
        if config["bad"]:
            raise ValueError("boom from the trainable")
        reporter(ok=1)

    with pytest.raises(TrialsDidNotComplete) as info:
        run_experiments({"err": {"run": sometimes, "config": {"bad": tune.grid_search([True, False])},
                                 "local_dir": results_dir}}, verbose=False)
    [bad] = info.value.trials
    assert bad.status == TrialStatus.ERROR
    text = open(os.path.join(bad.logdir, "error.txt")).read()
    assert "boom from the trainable" in text and "Traceback" in text
    trials = run_experiments({"err2": {"run": sometimes, "config": {"bad": tune.grid_search([True, False])},
                                       "local_dir": results_dir}}, verbose=False, raise_on_failed_trial=False)
    assert sorted(t.status.value for t in trials) == ["ERROR", "TERMINATED"]


def test_missing_stop_key_errors_the_trial(ray_session, results_dir):
    with pytest.raises(TrialsDidNotComplete):
        run_experiments({"nokey": {"run": Counter, "stop": {"time": 10}, "local_dir": results_dir}}, verbose=False)


@pytest.mark.parametrize("spec, message", [
    ({"run": "no_such_trainable"}, "Unknown trainable 'no_such_trainable'"),
    ({"run": Counter, "stopp": {}}, "unknown key(s) 'stopp'"),
    ({"run": Counter, "num_samples": "ten"}, "num_samples must be an int"),
    ({"run": Counter, "trial_resources": {"cpu": 1, "tpu": 1}}, "Unknown resource type 'tpu'"),
    ({"run": Counter, "trial_resources": {"cpu": 64}}, "Insufficient cluster resources"),
    ({"run": Counter, "checkpoint_freq": -1}, "checkpoint_freq must be >= 0"),
    ({"run": train_func, "checkpoint_freq": 2}, "cannot be checkpointed"),
    ({"config": {}}, "no trainable specified"),
    ({"run": Counter, "loggers": ["nope"]}, "Unknown logger 'nope'"),
])
def test_bad_input_fails_before_any_trial_starts(ray_session, results_dir, spec, message):
    spec = dict(spec, local_dir=results_dir)
    with pytest.raises(TuneError) as info:
        run_experiments({"bad": spec}, verbose=False)
    assert message in str(info.value)
    exp_dir = os.path.join(results_dir, "bad")
    assert not os.path.exists(exp_dir) or not [
        d for d in os.listdir(exp_dir) if os.path.isdir(os.path.join(exp_dir, d))]


def test_unknown_scheduler_name_hints_distribution(ray_session, results_dir):
    from tunecore.plugins import get_plugin_manager

    pbt_missing = "pbt" not in get_plugin_manager().schedulers
    name, message = ("pbt", "pip install tune-pbt") if pbt_missing else ("nosuch", "Unknown scheduler 'nosuch'")
    with pytest.raises(TuneError, match=message):
        run_experiments({"x": {"run": Counter, "local_dir": results_dir}}, scheduler=name, verbose=False)


def test_accepts_experiment_list_and_registered_name(ray_session, results_dir):
    tune.register_trainable("counter_alias", Counter)
    with pytest.warns(UserWarning, match="Several experiments share one search algorithm"):
        trials = run_experiments([Experiment("a", "counter_alias", stop={"training_iteration": 1},
                                             local_dir=results_dir),
                                  Experiment("b", Counter, stop={"training_iteration": 1}, local_dir=results_dir)],
                                 verbose=False)
    assert [t.trainable_name for t in trials] == ["counter_alias", "Counter"]


def test_register_trainable_rejects_non_trainables():
    with pytest.raises(TypeError):
        tune.register_trainable("x", object())
    with pytest.raises(TypeError):
        tune.register_trainable("x", dict)
    import functools

    with pytest.raises(TypeError):
        tune.register_trainable("x", functools.partial(train_func, {}))


def test_working_directory_is_trial_dir_and_tilde_expanded(ray_session, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))

    def where(config, reporter):
        reporter(cwd=os.getcwd())

    [trial] = run_experiments({"cwd": {"run": where, "local_dir": "~/res"}}, verbose=False)
    assert trial.last_result["cwd"] == trial.logdir
    assert trial.logdir.startswith(os.path.join(str(tmp_path), "res", "cwd"))


def test_long_names_give_valid_dirs(ray_session, results_dir):
    [trial] = run_experiments({"long": {"run": Counter, "stop": {"training_iteration": 1},
                                        "config": {"a" * 150: 1, "b" * 150: 2}, "local_dir": results_dir}},
                              verbose=False)
    assert len(os.path.basename(trial.logdir)) <= 200 and os.path.isdir(trial.logdir)


def test_status_table_and_best_trial_summary(ray_session, results_dir, capsys):
    run_experiments({"st": {"run": Counter, "stop": {"training_iteration": 2},
                            "config": {"scale": tune.grid_search([1, 3])}, "local_dir": results_dir}},
                    verbose=1)
    out = capsys.readouterr().out
    assert "== Status ==" in out and "Using FIFO scheduling algorithm." in out
    assert "Resources requested:" in out and f"Result logdir: {results_dir}/st" in out
    assert "TERMINATED trials:" in out and " - Counter_1_scale=3:\tTERMINATED" in out
    assert "Best trial: Counter_1_scale=3 with episode_reward_mean=6" in out


def test_pinned_object_reaches_trials(ray_session, results_dir):
    import numpy as np

    pinned = tune.pin_in_object_store(np.arange(1000))

    def uses_pinned(config, reporter):
        from tunecore.util import get_pinned_object

        reporter(total=int(get_pinned_object(pinned).sum()), timesteps_total=100, done=True)

    [trial] = run_experiments({"pin": {"run": uses_pinned, "local_dir": results_dir}}, verbose=False)
    assert trial.last_result["total"] == 499500 and trial.status == TrialStatus.TERMINATED

    import ray

    @ray.remote
    def fetch(pid):
        from tunecore.util import get_pinned_object

        return get_pinned_object(pid)

    assert ray.get(fetch.remote(tune.pin_in_object_store("hello"))) == "hello"


def test_done_then_sleep_forever_terminates(ray_session, results_dir):
    def done_then_hang(config, reporter):
        import time

        reporter(timesteps_total=100, done=True)
        time.sleep(3600)

    [trial] = run_experiments({"hang": {"run": done_then_hang, "local_dir": results_dir}}, verbose=False)
    assert trial.status == TrialStatus.TERMINATED and trial.last_result["timesteps_total"] == 100


def test_analysis_reads_experiment_back(ray_session, results_dir):
    run_experiments({"ana": {"run": Counter, "stop": {"training_iteration": 3},
                             "config": {"scale": tune.grid_search([1, 5, 2])}, "local_dir": results_dir}},
                    verbose=False)
    analysis = tune.Analysis(os.path.join(results_dir, "ana"))
    assert len(analysis.trials) == 3
    assert analysis.get_best_config("episode_reward_mean", "max") == {"scale": 5}
    assert analysis.get_best_config("episode_reward_mean", "min") == {"scale": 1}
    df = analysis.dataframe()
    assert sorted(df["config/scale"]) == [1, 2, 5] and set(df["episode_reward_mean"]) == {3, 15, 6}


def test_modern_run_form_returns_analysis(ray_session, results_dir):
    analysis = tune.run(Counter, name="modern", stop={"training_iteration": 2},
                        config={"scale": tune.grid_search([1, 4])}, local_dir=results_dir, verbose=False,
                        metric="episode_reward_mean", mode="max")
    assert len(analysis.trials_run) == 2
    assert analysis.get_best_config("episode_reward_mean", "max") == {"scale": 4}


def test_each_way_a_trial_ends_is_recorded_once(ray_session, results_dir):
    """One ``{"event": "ended"}`` record per trial, in ``trial.events`` and in ``events.jsonl``: its
    stop criterion met, the trainable done or returned, the scheduler's STOP decision, the scheduler
    stopping a paused trial, an error."""
    from trainables import EndsAs

    from tunecore.schedulers import FIFOScheduler
    from tunecore.util import read_json_lines

    class EveryEnding(FIFOScheduler):
        """Pauses "pause" at 1 and later stops it (a request, like HyperBand's); stops "sched" when
        every other trial has ended."""

        def on_trial_result(self, runner, trial, result):
            if trial.config.get("role") == "pause":
                return self.PAUSE
            if trial.config.get("role") == "sched":
                others = [t for t in runner.get_trials() if t is not trial]
                for t in others:
                    if t.status == TrialStatus.PAUSED:
                        runner.stop_trial(t)
                if len(others) == 5 and all(t.is_finished() for t in others):
                    return self.STOP
            return self.CONTINUE

        def choose_trial_to_run(self, runner):
            return next((t for t in runner.get_trials()
                         if t.status == TrialStatus.PENDING and runner.has_resources(t.resources)), None)

    def returns(config, reporter):
        for i in range(3):
            reporter(score=i, goal=0)

    trials = run_experiments({
        "ends": {"run": EndsAs, "stop": {"goal": 1, "training_iteration": 500}, "local_dir": results_dir,
                 "config": {"role": tune.grid_search(["sched", "pause", "criterion", "returned", "error"]),
                            "sleep": 0.02}},
        "ends_fn": {"run": returns, "stop": {"goal": 1}, "local_dir": results_dir},
    }, scheduler=EveryEnding(), verbose=False, raise_on_failed_trial=False)
    by_role = {t.config.get("role", "function"): t for t in trials}
    expected = {
        "criterion": ("TERMINATED", {"how": "stop_criterion", "iteration": 3, "criterion": {"goal": 1}}),
        "returned": ("TERMINATED", {"how": "returned", "iteration": 3}),
        "function": ("TERMINATED", {"how": "returned", "iteration": 3}),
        "pause": ("TERMINATED", {"how": "scheduler", "iteration": 1, "scheduler": "EveryEnding"}),
        # retried from scratch (no checkpoint) max_failures=3 times, then ERROR
        "error": ("ERROR", {"how": "error", "iteration": 1, "error": "RuntimeError: planned failure at step 2",
                            "failures": 4}),
    }
    for role, trial in by_role.items():
        ended = [e for e in trial.events if e.get("event") == "ended"]
        on_disk = [e for e in read_json_lines(os.path.join(trial.logdir, "events.jsonl")) if e.get("event") == "ended"]
        assert len(ended) == 1 and on_disk == ended, (role, trial.events, on_disk)
        record = {k: v for k, v in ended[0].items() if k not in ("event", "time")}
        if role == "sched":
            assert trial.status == TrialStatus.TERMINATED
            assert record == {"how": "scheduler", "scheduler": "EveryEnding",
                              "iteration": trial.last_result["training_iteration"]}
            continue
        status, want = expected[role]
        assert (trial.status.value, record) == (status, want), role
    pauses = [e for e in by_role["pause"].events if e.get("event") == "paused"]
    assert [(p["by"], p["scheduler"], p["iteration"]) for p in pauses] == [("scheduler", "EveryEnding", 1)]
    assert by_role["pause"].events.index(pauses[0]) < by_role["pause"].events.index(
        next(e for e in by_role["pause"].events if e.get("event") == "ended"))
