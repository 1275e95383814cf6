"""``SearcherContract``: the conformance suite every search algorithm subclasses."""

from __future__ import annotations

import json
from typing import Callable

import pytest

from tunecore.execution.trial import Trial
from tunecore.searchers import SearchAlgorithm
from tunecore.testing._fakes import make_result


class SearcherContract:
    """Tests every :class:`~tunecore.searchers.SearchAlgorithm` must pass.

    Subclass it in a ``Test...`` class and provide a ``make_searcher`` fixture that
    returns a *factory*: calling it returns a fresh searcher that already has its
    experiments (``add_configurations`` called) and produces a finite number of
    trials (e.g. ``num_samples=4``)::

        class TestMySearcher(SearcherContract):
            @pytest.fixture
            def make_searcher(self):
                def make():
                    searcher = MySearcher(metric="episode_reward_mean", mode="max")
                    searcher.add_configurations({"exp": {"run": "my_trainable", "num_samples": 4,
                                                         "config": {"x": tune.uniform(0, 1)}}})
                    return searcher
                return make

    The trainable the experiments name must be registered (``register_trainable``).
    Results come from :meth:`make_result`; override it if the searcher needs other keys.
    """

    #: ``next_trials`` rounds allowed before the searcher must report finished.
    max_rounds: int = 200
    #: Results each produced trial reports before it completes.
    results_per_trial: int = 3

    @pytest.fixture
    def make_searcher(self) -> Callable[[], SearchAlgorithm]:
        raise NotImplementedError(
            f"{type(self).__name__} subclasses SearcherContract: define a make_searcher fixture "
            "that returns a zero-argument factory of the searcher, with experiments added")

    def make_result(self, trial: Trial, iteration: int) -> dict:
        """The result ``trial`` reports at ``iteration``; override for other metrics."""
        return make_result(trial, iteration)

    def drive(self, searcher: SearchAlgorithm, how: str = "complete") -> list[Trial]:
        """Ask for trials until the searcher is finished; end each one as ``how`` says.

        ``how`` is ``"complete"`` (results, then ``on_trial_complete(result=...)``),
        ``"error"`` (``error=True``), ``"early"`` (``early_terminated=True``) or
        ``"mixed"`` (the three in turn).
        """
        produced: list[Trial] = []
        for _ in range(self.max_rounds):
            new = searcher.next_trials()
            assert isinstance(new, list), f"next_trials must return a list, got {type(new).__name__}"
            for trial in new:
                assert isinstance(trial, Trial), f"next_trials returned {trial!r}, not a Trial"
            produced.extend(new)
            for i, trial in enumerate(new):
                mode = how if how != "mixed" else ("complete", "error", "early")[(len(produced) + i) % 3]
                result = None
                for it in range(1, self.results_per_trial + 1):
                    result = self.make_result(trial, it)
                    searcher.on_trial_result(trial.trial_id, result)
                if mode == "complete":
                    searcher.on_trial_complete(trial.trial_id, result=result)
                elif mode == "error":
                    searcher.on_trial_complete(trial.trial_id, error=True)
                else:
                    searcher.on_trial_complete(trial.trial_id, early_terminated=True)
            if searcher.is_finished():
                return produced
        raise AssertionError(f"searcher not finished after {self.max_rounds} rounds of next_trials")

    # -- the contract ------------------------------------------------------------------
    def test_factory_returns_a_search_algorithm(self, make_searcher):
        searcher = make_searcher()
        assert isinstance(searcher, SearchAlgorithm), f"{searcher!r} is not a SearchAlgorithm"
        assert make_searcher() is not searcher

    def test_produces_trials_and_finishes(self, make_searcher):
        searcher = make_searcher()
        trials = self.drive(searcher)
        assert trials, "the searcher finished without producing a trial"
        ids = [t.trial_id for t in trials]
        assert len(set(ids)) == len(ids), f"trial ids are not unique: {ids}"
        assert searcher.is_finished()
        assert searcher.next_trials() == [], "a finished searcher produced more trials"

    def test_trials_have_configs(self, make_searcher):
        for trial in self.drive(make_searcher()):
            assert isinstance(trial.config, dict)
            assert isinstance(trial.trainable_name, str) and trial.trainable_name

    def test_ignores_unknown_trial_ids(self, make_searcher):
        searcher = make_searcher()
        stranger = Trial("api_added_trial", {"quality": 1.0}, trial_id="not-mine")
        result = self.make_result(stranger, 1)
        searcher.on_trial_result("not-mine", result)
        searcher.on_trial_complete("not-mine", result=result)
        searcher.on_trial_complete("not-mine", error=True)
        searcher.on_trial_complete("not-mine", early_terminated=True)
        assert self.drive(searcher), "after unknown ids the searcher produced nothing"

    def test_errors_and_early_termination(self, make_searcher):
        assert self.drive(make_searcher(), how="mixed")

    def test_set_search_properties_is_accepted(self, make_searcher):
        searcher = make_searcher()
        searcher.set_search_properties("episode_reward_mean", "max")
        assert self.drive(searcher)

    def test_save_and_restore_state_round_trip_through_json(self, make_searcher):
        searcher = make_searcher()
        first = searcher.next_trials()
        for trial in first[:1]:
            searcher.on_trial_result(trial.trial_id, self.make_result(trial, 1))
            searcher.on_trial_complete(trial.trial_id, result=self.make_result(trial, 2))
        state = searcher.save_state()
        text = json.dumps(state, sort_keys=True)  # must be JSON-able as is
        restored = make_searcher()
        restored.restore_state(json.loads(text))
        again = json.dumps(restored.save_state(), sort_keys=True)
        assert again == text, (
            f"save_state -> restore_state -> save_state changed the state:\n  saved:    {text}\n"
            f"  restored: {again}")
        # the restored searcher still works to the end
        self.drive(restored)
        assert restored.is_finished(), "the restored searcher did not finish"
