"""tunecore.testing itself: the suites pass good components and catch broken ones."""

import json
import os

import pytest

from tunecore.loggers import Logger
from tunecore.schedulers import FIFOScheduler, TrialScheduler
from tunecore.syncers.local import LocalSyncer
from tunecore.testing import FakeRunner, LoggerContract, SchedulerContract, SyncerContract, make_result, make_trial
from tunecore.trial import TrialStatus


class TestLocalSyncerContract(SyncerContract):
    """The core's file:// syncer is the reference the syncer suite is checked against."""

    @pytest.fixture
    def remote_uri(self, tmp_path):
        return (tmp_path / "mirror").as_uri()

    @pytest.fixture
    def make_syncer(self):
        return LocalSyncer

    @pytest.fixture
    def remote_listing(self, tmp_path):
        def listing():
            return SyncerContract.local_listing(str(tmp_path / "mirror"))
        return listing

    @pytest.fixture
    def broken_remote_uri(self, tmp_path):
        blocker = tmp_path / "not_a_folder"
        blocker.write_text("a file where the mirror's parent folder should be")
        return (blocker / "mirror").as_uri()


# -- broken components the suites must reject ------------------------------------------

class StringDecisions(FIFOScheduler):
    def on_trial_result(self, runner, trial, result):
        return "CONTINUE"


class ChoosesRunning(FIFOScheduler):
    def choose_trial_to_run(self, runner):
        for trial in runner.get_trials():
            if trial.status in (TrialStatus.RUNNING, TrialStatus.PENDING):
                return trial
        return None


class IgnoresResources(FIFOScheduler):
    def choose_trial_to_run(self, runner):
        return next((t for t in runner.get_trials() if t.status == TrialStatus.PENDING), None)


class NeverResumes(TrialScheduler):
    requires_checkpointing = True

    def on_trial_result(self, runner, trial, result):
        return self.PAUSE

    def choose_trial_to_run(self, runner):
        return next((t for t in runner.get_trials() if t.status == TrialStatus.PENDING
                     and runner.has_resources(t.resources)), None)


class PausesWithoutCheckpointing(FIFOScheduler):
    def on_trial_result(self, runner, trial, result):
        return self.PAUSE if result["training_iteration"] == 1 else self.CONTINUE


class ForgetsOnRestore(FIFOScheduler):
    def __init__(self):
        self.seen = 0

    def on_trial_result(self, runner, trial, result):
        self.seen += 1
        return self.CONTINUE

    def save_state(self):
        return {"seen": self.seen}


class CrashesOnUnknownTrial(FIFOScheduler):
    def __init__(self):
        self.known = {}

    def on_trial_add(self, runner, trial):
        self.known[trial.trial_id] = trial

    def on_trial_error(self, runner, trial):
        del self.known[trial.trial_id]


def run_contract_test(contract_cls, name, factory):
    """Run one contract test against ``factory`` outside pytest's collection."""
    suite = contract_cls()
    getattr(suite, name)(factory)


@pytest.mark.parametrize("factory, test, message", [
    (StringDecisions, "test_full_experiment_finishes_with_decision_values", "return TrialScheduler"),
    (ChoosesRunning, "test_choose_returns_only_pending_or_paused_trials_that_fit", "only PENDING or PAUSED"),
    (IgnoresResources, "test_choose_returns_none_when_nothing_fits", "does not fit"),
    (NeverResumes, "test_full_experiment_finishes_with_decision_values", "scheduler stalled"),
    (PausesWithoutCheckpointing, "test_pause_only_when_requires_checkpointing", "requires_checkpointing"),
    (ForgetsOnRestore, "test_save_and_restore_state_round_trip_through_json", "changed the state"),
    (CrashesOnUnknownTrial, "test_callbacks_tolerate_unknown_trials", ""),
])
def test_scheduler_contract_rejects_broken_schedulers(factory, test, message):
    with pytest.raises((AssertionError, KeyError)) as info:
        run_contract_test(SchedulerContract, test, factory)
    assert message in str(info.value)


def test_scheduler_contract_passes_fifo():
    for name in dir(SchedulerContract):
        if name.startswith("test_"):
            run_contract_test(SchedulerContract, name, FIFOScheduler)


class DropsLateMetricRows(Logger):
    """Writes JSON lines, but silently drops results with keys the first one lacked."""

    def _init(self):
        self.keys = None
        self.file = open(os.path.join(self.logdir, "out.jsonl"), "a")

    def on_result(self, result):
        if self.keys is None:
            self.keys = set(result)
        if set(result) <= self.keys:
            self.file.write(json.dumps({"training_iteration": result["training_iteration"]}) + "\n")

    def close(self):
        self.file.close()


class NeverWrites(Logger):
    def on_result(self, result):
        self.buffer = result


def test_logger_contract_rejects_broken_loggers(tmp_path):
    class Suite(LoggerContract):
        def read_back(self, logdir):
            with open(os.path.join(logdir, "out.jsonl")) as f:
                return [json.loads(line) for line in f]

    trial = make_trial({}, logdir=str(tmp_path))
    with pytest.raises(AssertionError, match=r"read back iterations \[1, 3\], wrote \[1, 2, 3\]"):
        Suite().test_metric_appearing_late(DropsLateMetricRows, (trial, str(tmp_path)))
    other = tmp_path / "other"
    other.mkdir()
    with pytest.raises(AssertionError, match="nothing reached the disk"):
        LoggerContract().test_writes_and_flushes(NeverWrites, (trial, str(other)))


def test_fake_runner_carries_out_queued_requests():
    class StopsOthers(FIFOScheduler):
        def on_trial_result(self, runner, trial, result):
            for other in runner.get_trials():
                if other is not trial and other.status == TrialStatus.PENDING:
                    runner.stop_trial(other)
            return self.CONTINUE

    removed = []

    class Recorder(StopsOthers):
        def on_trial_remove(self, runner, trial):
            assert trial.status == TrialStatus.PENDING
            removed.append(trial.trial_id)

    runner = FakeRunner(Recorder(), cpus=1)
    a, b, c = runner.add_trials(3)
    runner.start_trial(runner.choose())
    assert runner.report(a) == TrialScheduler.CONTINUE
    assert removed == [b.trial_id, c.trial_id]
    assert b.status == c.status == TrialStatus.TERMINATED
    assert runner.requests == [("stop", b.trial_id), ("stop", c.trial_id)]


def test_fake_runner_exploit_and_save():
    class Exploits(FIFOScheduler):
        def on_trial_result(self, runner, trial, result):
            if result["training_iteration"] == 2:
                ckpt = runner.save_trial(trial)
                runner.exploit_trial(trial, ckpt, dict(trial.config, lr=0.5), "tag@perturbed",
                                     record={"event": "exploit"})
            return self.CONTINUE

    runner = FakeRunner(Exploits(), cpus=1)
    (trial,) = runner.add_trials(1)
    runner.start_trial(runner.choose())
    runner.report(trial)
    runner.report(trial)
    assert trial.config["lr"] == 0.5 and trial.experiment_tag == "tag@perturbed"
    assert trial.events == [{"event": "exploit"}] and trial.checkpoint.iteration == 2
    assert runner.next_result(trial)["training_iteration"] == 3
    assert make_result(trial, 4)["config"]["lr"] == 0.5


# -- the core's searcher -----------------------------------------------------------------

from tunecore.searchers.basic_variant import BasicVariantGenerator  # noqa: E402
from tunecore.testing import SearcherContract  # noqa: E402


def _contract_trainable(config, reporter):
    reporter(mean_accuracy=config["x"])


class TestBasicVariantContract(SearcherContract):
    @pytest.fixture
    def make_searcher(self):
        import tunecore
        tunecore.register_trainable("contract_trainable", _contract_trainable)

        def make():
            searcher = BasicVariantGenerator(seed=7)
            searcher.add_configurations({"contract": {
                "run": "contract_trainable", "num_samples": 2,
                "config": {"x": tunecore.grid_search([1, 2, 3]), "y": tunecore.uniform(0, 1)}}})
            return searcher
        return make


class TestBasicVariantStepwiseContract(TestBasicVariantContract):
    """With max_trials_per_step the searcher needs several rounds and a mid-run resume."""

    @pytest.fixture
    def make_searcher(self):
        import tunecore

        tunecore.register_trainable("contract_trainable", _contract_trainable)

        def make():
            searcher = BasicVariantGenerator(seed=3, max_trials_per_step=2)
            searcher.add_configurations({"contract": {
                "run": "contract_trainable", "num_samples": 5, "config": {"x": tunecore.randint(0, 9)}}})
            return searcher
        return make


class SilentlyLosesProgress(BasicVariantGenerator):
    def restore_state(self, state):
        pass


def test_searcher_contract_rejects_a_searcher_that_forgets_on_restore():
    import tunecore

    tunecore.register_trainable("contract_trainable", _contract_trainable)

    def make():
        searcher = SilentlyLosesProgress(max_trials_per_step=1)
        searcher.add_configurations({"c": {"run": "contract_trainable", "num_samples": 3, "config": {"x": 1}}})
        return searcher

    with pytest.raises(AssertionError, match="changed the state"):
        SearcherContract().test_save_and_restore_state_round_trip_through_json(make)
