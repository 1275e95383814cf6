"""BasicVariantGenerator: the default search algorithm, the spec's grids, lambdas and samples.

Every experiment is expanded by :func:`tunecore.search.variants.generate_variants`, repeated
``num_samples`` times (outer loop = repetition, inner loop = variants). Tags are
``<counter>_<formatted vars>`` with one counter shared by all experiments of the generator.
Trial ids are ``<run token>_<counter>``, so a resumed experiment gives the trials it had
not produced yet the same ids and tags they would have had.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any, Optional

import numpy as np

from tunecore.errors import TuneError
from tunecore.execution.trial import Trial
from tunecore.searchers._base import SearchAlgorithm

__all__ = ["BasicVariantGenerator"]


def _check_seed(seed: Any) -> Optional[int]:
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
        raise TuneError(f"seed must be None or an int >= 0, but got seed={seed!r}")
    return None if seed is None else int(seed)


class TrialCounter:
    """The tag counter and trial-id scheme shared by the core's search algorithms.

    Attributes:
        token: 8 hex chars naming this run; saved so a resumed run keeps its ids.
        count: how many trials were produced (the next tag number).
        produced: trials produced per experiment name.
    """

    def __init__(self) -> None:
        self.token = uuid.uuid4().hex[:8]
        self.count = 0
        self.produced: dict[str, int] = {}

    def trial_id(self) -> str:
        """The id of the next trial: ``<token>_<counter, 5 digits>``."""
        return f"{self.token}_{self.count:05d}"

    def tag(self, formatted_vars: str) -> str:
        return f"{self.count}_{formatted_vars}" if formatted_vars else str(self.count)

    def advance(self, experiment_name: str) -> None:
        self.count += 1
        self.produced[experiment_name] = self.produced.get(experiment_name, 0) + 1

    def to_json(self) -> dict:
        return {"token": self.token, "count": self.count, "produced": dict(self.produced)}

    def load(self, state: dict) -> None:
        self.token = str(state.get("token", self.token))
        self.count = int(state.get("count", 0))
        self.produced = {str(k): int(v) for k, v in (state.get("produced") or {}).items()}


class BasicVariantGenerator(SearchAlgorithm):
    """Runs every variant of every experiment (grid points x ``num_samples``).

    Args:
        seed: seeds sample domains and the lambdas' ``np.random``/``random`` so the
            generated configs are identical from run to run. An experiment's own
            ``seed`` key takes precedence.
        max_trials_per_step: produce at most this many trials per :meth:`next_trials`
            call; None (the default, as in the 2018 Tune) produces all of them at once.
    """

    def __init__(self, seed: Optional[int] = None, max_trials_per_step: Optional[int] = None) -> None:
        self._seed = _check_seed(seed)
        if max_trials_per_step is not None and (isinstance(max_trials_per_step, bool) or not isinstance(
                max_trials_per_step, int) or max_trials_per_step < 1):
            raise TuneError(f"max_trials_per_step must be None or an int >= 1, but got "
                            f"max_trials_per_step={max_trials_per_step!r}")
        self._max_per_step = max_trials_per_step
        self._experiments: list = []
        self._generator: Optional[Iterator[Trial]] = None
        self._counter = TrialCounter()
        self._skip: dict[str, int] = {}
        self._finished = False
        self._started = False

    def add_configurations(self, experiments: Any) -> None:
        """Queue every variant of ``experiments`` (an Experiment, a list, or ``{name: spec}``)."""
        from tunecore.experiment import convert_to_experiment_list

        new = convert_to_experiment_list(experiments)
        if len(self._experiments) + len(new) > 1 and new:
            import warnings

            warnings.warn("Several experiments share one search algorithm: tags are numbered across all "
                          "of them.", stacklevel=2)
        self._experiments.extend(new)
        self._finished = False
        if self._generator is None:
            self._generator = self._all_trials()

    def _all_trials(self) -> Iterator[Trial]:
        index = 0
        while index < len(self._experiments):  # experiments added later are picked up too
            yield from self._experiment_trials(self._experiments[index])
            index += 1

    def _experiment_trials(self, experiment: Any) -> Iterator[Trial]:
        from tunecore.experiment import create_trial_from_spec
        from tunecore.search.variants import format_vars, generate_variants

        spec = experiment.spec
        seed = spec.get("seed") if spec.get("seed") is not None else self._seed
        rng = None if seed is None else np.random.default_rng(_check_seed(seed))
        num_samples = spec.get("num_samples", 1)
        if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples < 1:
            raise TuneError(f"{experiment.name}.num_samples must be an int >= 1, but got num_samples={num_samples!r}")
        skip = self._skip.pop(experiment.name, 0)
        for _ in range(num_samples):
            for resolved_vars, resolved_spec in generate_variants(spec, rng=rng):
                if skip > 0:  # produced before the resume; the restored counter already counts it
                    skip -= 1
                    continue
                tag = self._counter.tag(format_vars(resolved_vars))
                trial = create_trial_from_spec(resolved_spec, experiment, tag, trial_id=self._counter.trial_id())
                self._counter.advance(experiment.name)
                yield trial

    def next_trials(self) -> list[Trial]:
        """Every remaining trial (or ``max_trials_per_step`` of them); then finished."""
        self._started = True
        trials: list[Trial] = []
        if self._generator is not None:
            for trial in self._generator:
                trials.append(trial)
                if self._max_per_step is not None and len(trials) >= self._max_per_step:
                    return trials
            self._generator = None
        self._finished = True
        return trials

    def is_finished(self) -> bool:
        """False until the first :meth:`next_trials`, then True once everything is produced."""
        return self._finished

    def save_state(self) -> dict:
        """Counters and ids, enough for a resumed run to produce only the trials still missing."""
        return {"counter": self._counter.to_json()}

    def restore_state(self, state: Any) -> None:
        """Continue a saved run: the trials it produced are skipped, the rest keep their ids/tags.

        Call before the first :meth:`next_trials`; :meth:`add_configurations` may come
        before or after.
        """
        if not state:
            return
        if self._started:
            raise TuneError("BasicVariantGenerator.restore_state must be called before next_trials()")
        # Trials are produced experiment after experiment, so after skipping what each one
        # produced, the restored counter is exactly the next tag number.
        self._counter.load(state.get("counter") or {})
        self._skip = dict(self._counter.produced)

    def debug_string(self) -> str:
        return f"BasicVariantGenerator: {self._counter.count} trials produced."
