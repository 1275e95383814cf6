"""A stopper the trials of an experiment share is still one object, with its latest state, after a resume."""

from __future__ import annotations

from tunecore.execution.state import ExperimentState, load_experiment_state, restored_trials
from tunecore.execution.trial import TrialStatus
from tunecore.searchers.basic_variant import BasicVariantGenerator
from tunecore.stopper import ExperimentPlateauStopper
from tunecore.testing import make_trial


def _save(folder, trials):
    search = BasicVariantGenerator()
    ExperimentState().save([folder], trials, search, scheduler=object())
    return load_experiment_state(folder)


def test_a_shared_stopper_comes_back_as_one_object_with_its_latest_state(tmp_path):
    folder = str(tmp_path)
    stopper = ExperimentPlateauStopper("loss", top=3, mode="min")
    trials = [make_trial({"x": i}, local_dir=folder, stopping_criterion=stopper) for i in range(3)]
    trials[0].status = TrialStatus.TERMINATED
    state = ExperimentState()
    state.save([folder], trials, BasicVariantGenerator(), scheduler=object())  # the first trial's record is cached
    for i, t in enumerate(trials):
        stopper(t.trial_id, {"loss": float(i)})
    state.save([folder], trials, BasicVariantGenerator(), scheduler=object())

    back = restored_trials(load_experiment_state(folder), folder)
    assert len({id(t.stopping_criterion) for t in back}) == 1
    assert isinstance(back[0].stopping_criterion, ExperimentPlateauStopper)
    # the state as of the last save: a copy taken with the cached record would have seen no result
    seen = back[0].stopping_criterion
    assert seen.__dict__ == stopper.__dict__


def test_trials_with_dict_or_different_stoppers_keep_their_own(tmp_path):
    folder = str(tmp_path)
    a, b = ExperimentPlateauStopper("loss"), ExperimentPlateauStopper("acc", mode="max")
    trials = [make_trial({}, local_dir=folder, stopping_criterion=a),
              make_trial({}, local_dir=folder, stopping_criterion=b),
              make_trial({}, local_dir=folder, stopping_criterion={"training_iteration": 3})]
    state = _save(folder, trials)
    assert "stopper_pickle" not in state
    back = restored_trials(state, folder)
    assert [t.stopping_criterion._metric for t in back[:2]] == ["loss", "acc"]
    assert back[2].stopping_criterion == {"training_iteration": 3}
