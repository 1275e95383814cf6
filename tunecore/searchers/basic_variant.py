"""BasicVariantGenerator: the default search algorithm, the spec's grids, lambdas and samples.

Every experiment is expanded by :func:`tunecore.search.variants.generate_variants`, repeated
``num_samples`` times (outer loop = repetition, inner loop = variants); Ray Tune 2.x's
``points_to_evaluate`` take the place of the first repetitions. Tags are
``<counter>_<formatted vars>`` with one counter shared by all experiments of the generator.
Trial ids are ``<run token>_<counter>``, so a resumed experiment gives the trials it had
not produced yet the same ids and tags they would have had.
"""

from __future__ import annotations

import copy
import uuid
import warnings
from collections.abc import Iterator
from typing import Any, Optional, Union

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

    The arguments are Ray Tune 2.x's (``ray.tune.search.basic_variant.BasicVariantGenerator``),
    then tunecore's own, by keyword.

    Args:
        points_to_evaluate: configs (dicts, possibly partial and nested) to run first. Each
            one takes the place of one of an experiment's ``num_samples`` repetitions (all of
            them run even if there are more points than ``num_samples``): its values replace
            the matching values of the config, whatever the config does not get from the
            point is resolved as usual, so a grid the point leaves out still gives one trial
            per grid value and unset domains are sampled. A key that is not in the config is
            an error; a value the config's domain (or grid, or constant) could not have
            produced is run, with a warning. Every experiment of the generator gets them.
        max_concurrent: at most this many of the generator's trials live (produced and not
            yet ended) at once; 0 (the default): no limit.
        constant_grid_search: sample the config's domains (``tune.uniform(...)``...) once per
            repetition and keep them over its grid points, instead of sampling them again at
            every grid point. Lambdas and ``sample_from`` are still resolved per grid point
            (they may read grid values).
        random_state: Ray's name for the seed: an int, a :class:`numpy.random.Generator`
            (used as is, shared by all experiments) or a :class:`numpy.random.RandomState`
            (a generator is seeded from it). Do not pass it together with ``seed``.
        seed: seeds sample domains and the lambdas' ``np.random``/``random`` so the
            generated configs are identical from run to run. An experiment's own
            ``seed`` key takes precedence.
        max_trials_per_step: produce at most this many trials per :meth:`next_trials`
            call; None (the default, as in the 2018 Tune) produces all of them at once.
    """

    #: Random and grid search use no objective, so several metrics are fine.
    multi_objective = True

    def __init__(self, points_to_evaluate: Optional[list[dict]] = None, max_concurrent: int = 0,
                 constant_grid_search: bool = False,
                 random_state: Union[None, int, np.random.Generator, np.random.RandomState] = None, *,
                 seed: Optional[int] = None, max_trials_per_step: Optional[int] = None) -> None:
        self._seed = _check_seed(seed)
        if max_trials_per_step is not None and (isinstance(max_trials_per_step, bool) or not isinstance(
                max_trials_per_step, int) or max_trials_per_step < 1):
            raise TuneError(f"max_trials_per_step must be None or an int >= 1, but got "
                            f"max_trials_per_step={max_trials_per_step!r}")
        if isinstance(max_concurrent, bool) or not isinstance(max_concurrent, (int, np.integer)) \
                or max_concurrent < 0:
            raise TuneError(f"max_concurrent must be an int >= 0 (0: no limit), but got "
                            f"max_concurrent={max_concurrent!r}")
        if not isinstance(constant_grid_search, bool):
            raise TuneError(f"constant_grid_search must be True or False, but got "
                            f"constant_grid_search={constant_grid_search!r}")
        self._points = _check_points(points_to_evaluate)
        self._random_state = self._check_random_state(random_state)
        self._max_per_step = max_trials_per_step
        self.max_concurrent = int(max_concurrent)
        self._constant_grid_search = constant_grid_search
        self._experiments: list = []
        self._prepared: list[list[tuple[dict, dict]]] = []  # per experiment: its points, applied
        self._generator: Optional[Iterator[Trial]] = None
        self._counter = TrialCounter()
        self._skip: dict[str, int] = {}
        self._live: set[str] = set()
        self._finished = False
        self._started = False
        self._fallback_rng: Optional[np.random.Generator] = None

    def _check_random_state(self, random_state: Any) -> Optional[np.random.Generator]:
        if random_state is None:
            return None
        if self._seed is not None:
            raise TuneError(f"BasicVariantGenerator got seed={self._seed!r} and random_state={random_state!r}, which "
                            "are the same thing: give one")
        if isinstance(random_state, np.random.Generator):
            return random_state
        if isinstance(random_state, np.random.RandomState):
            return np.random.default_rng(int(random_state.randint(0, 2 ** 63 - 1, dtype=np.int64)))
        try:
            self._seed = _check_seed(random_state)
        except TuneError:
            raise TuneError(f"random_state must be None, an int >= 0, a numpy Generator or a numpy RandomState, "
                            f"but got random_state={random_state!r}") from None
        return None

    @property
    def points_to_evaluate(self) -> list[dict]:
        """The configs run first (a copy)."""
        return copy.deepcopy(self._points)

    def add_configurations(self, experiments: Any) -> None:
        """Queue every variant of ``experiments`` (an Experiment, a list, or ``{name: spec}``).

        Raises:
            TuneError: a point of ``points_to_evaluate`` sets a key the config does not have.
        """
        from tunecore.experiment import convert_to_experiment_list

        new = convert_to_experiment_list(experiments)
        prepared = [[_apply_point(exp, index, point) for index, point in enumerate(self._points)] for exp in new]
        if len(self._experiments) + len(new) > 1 and new:
            warnings.warn("Several experiments share one search algorithm: tags are numbered across all "
                          "of them.", stacklevel=2)
        self._experiments.extend(new)
        self._prepared.extend(prepared)
        self._finished = False
        if self._generator is None:
            self._generator = self._all_trials()

    def _all_trials(self) -> Iterator[Trial]:
        index = 0
        while index < len(self._experiments):  # experiments added later are picked up too
            yield from self._experiment_trials(self._experiments[index], self._prepared[index])
            index += 1

    def _rng(self, spec: dict) -> Optional[np.random.Generator]:
        if spec.get("seed") is not None:
            return np.random.default_rng(_check_seed(spec["seed"]))
        if self._random_state is not None:
            return self._random_state
        return None if self._seed is None else np.random.default_rng(self._seed)

    def _experiment_trials(self, experiment: Any, points: list[tuple[dict, dict]]) -> Iterator[Trial]:
        from tunecore.experiment import create_trial_from_spec
        from tunecore.search.variants import format_vars, generate_variants

        spec = experiment.spec
        rng = self._rng(spec)
        num_samples = spec.get("num_samples", 1)
        if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples < 1:
            raise TuneError(f"{experiment.name}.num_samples must be an int >= 1, but got num_samples={num_samples!r}")
        skip = self._skip.pop(experiment.name, 0)
        # The points replace the first repetitions (Ray's order); all of them run.
        repetitions = list(points) + [(spec, {})] * max(0, num_samples - len(points))
        for rep_spec, preset_vars in repetitions:
            constant_vars: dict = {}
            if self._constant_grid_search:
                rep_spec, constant_vars = self._sample_domains(rep_spec, rng)
            for resolved_vars, resolved_spec in generate_variants(rep_spec, rng=rng):
                if skip > 0:  # produced before the resume; the restored counter already counts it
                    skip -= 1
                    continue
                tag = self._counter.tag(format_vars({**preset_vars, **constant_vars, **resolved_vars}))
                trial = create_trial_from_spec(resolved_spec, experiment, tag, trial_id=self._counter.trial_id())
                self._counter.advance(experiment.name)
                yield trial

    def _sample_domains(self, spec: dict, rng: Optional[np.random.Generator]) -> tuple[dict, dict]:
        """``spec`` with its sample domains drawn (once), and the drawn values by path."""
        from tunecore.search.resolve import collect, copy_spec, set_at
        from tunecore.search.variants import resolve_domain

        if rng is None:
            if self._fallback_rng is None:
                self._fallback_rng = np.random.default_rng()
            rng = self._fallback_rng
        spec = copy_spec(spec)
        drawn: dict = {}
        for path, value in list(collect(spec)):
            domain = resolve_domain(value, where=".".join(map(str, path)))
            if domain is None or domain.json_key == "sample_from":
                continue
            drawn[path] = domain.sample(rng)
            set_at(spec, path, drawn[path])
        return spec, drawn

    def next_trials(self) -> list[Trial]:
        """The remaining trials (at most ``max_trials_per_step`` of them, and only while fewer than
        ``max_concurrent`` are live); finished once everything is produced."""
        self._started = True
        trials: list[Trial] = []
        if self._generator is not None:
            while True:
                if self._max_per_step is not None and len(trials) >= self._max_per_step:
                    return trials
                if self.max_concurrent and len(self._live) >= self.max_concurrent:
                    return trials
                trial = next(self._generator, None)
                if trial is None:
                    break
                if self.max_concurrent:  # only then: a huge grid's ids stay out of the saved state
                    self._live.add(trial.trial_id)
                trials.append(trial)
            self._generator = None
        self._finished = True
        return trials

    def on_trial_complete(self, trial_id: str, result: Optional[dict] = None, error: bool = False,
                          early_terminated: bool = False) -> None:
        """A trial ended: its ``max_concurrent`` slot is free."""
        self._live.discard(trial_id)

    def is_finished(self) -> bool:
        """False until the first :meth:`next_trials`, then True once everything is produced."""
        return self._finished

    def save_state(self) -> dict:
        """Counters, ids and live trials, enough for a resumed run to produce only the trials still missing."""
        state: dict = {"counter": self._counter.to_json()}
        if self._live:
            state["live"] = sorted(self._live)
        return state

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
        self._live = {str(t) for t in state.get("live") or []}

    def debug_string(self) -> str:
        return f"BasicVariantGenerator: {self._counter.count} trials produced."


def _check_points(points: Any) -> list[dict]:
    if points is None:
        return []
    if isinstance(points, dict) or not isinstance(points, (list, tuple)) \
            or not all(isinstance(p, dict) for p in points):
        raise TuneError(f"BasicVariantGenerator's first argument is points_to_evaluate, a list of config dicts "
                        f"(Ray's order; seed= is a keyword argument), but got points_to_evaluate={points!r}")
    return copy.deepcopy(list(points))


def _apply_point(experiment: Any, index: int, point: dict) -> tuple[dict, dict]:
    """The experiment's spec with ``point``'s values in its config, and those values by spec path.

    A point's nested dict sets keys one by one where the config has a plain dict too;
    otherwise it is one value (e.g. one of a ``tune.choice`` of dicts).
    """
    from tunecore.search.resolve import copy_spec, dotted, is_unresolved, set_at

    spec = copy_spec(experiment.spec)
    if not isinstance(spec.get("config"), dict):
        spec["config"] = {}
    preset: dict = {}

    def walk(values: dict, node: dict, path: tuple) -> None:
        for key, value in values.items():
            where = path + (key,)
            if key not in node:
                raise TuneError(
                    f"Experiment {experiment.name!r}: points_to_evaluate[{index}] sets {dotted(where)}, which is "
                    f"not in the experiment's config (the Tuner's param_space). Add it there, e.g. as a "
                    "sample domain.")
            current = node[key]
            if isinstance(value, dict) and not is_unresolved(value) and isinstance(current, dict) \
                    and not is_unresolved(current):
                walk(value, current, where)
                continue
            if is_unresolved(value):
                warnings.warn(f"Experiment {experiment.name!r}: points_to_evaluate[{index}] gives {dotted(where)} "
                              f"the unresolved value {value!r}; points hold plain values, so it is left out "
                              "(as Ray does).", stacklevel=2)
                continue
            problem = _point_mismatch(current, value)
            if problem:
                warnings.warn(f"Experiment {experiment.name!r}: points_to_evaluate[{index}] sets {dotted(where)}"
                              f"={value!r}, {problem}; it is run as given.", stacklevel=2)
            set_at(spec, where, copy.deepcopy(value))
            preset[where] = value

    walk(point, spec["config"], ("config",))
    return spec, preset


def _point_mismatch(current: Any, value: Any) -> str:
    """Why ``value`` is not one the config's ``current`` value could produce ("" if it could)."""
    from tunecore.search.resolve import collect, is_grid, is_unresolved
    from tunecore.search.sample import _same
    from tunecore.search.variants import resolve_domain

    domain = resolve_domain(current)
    if domain is not None:
        return "" if domain.json_key == "sample_from" or domain.is_valid(value) else \
            f"which {domain!r} cannot produce"
    if is_grid(current):
        values = current["grid_search"]
        if isinstance(values, (list, tuple)) and any(_same(value, v) for v in values):
            return ""
        return f"which is not one of the grid_search values {values!r}"
    if is_unresolved(current) or (isinstance(current, (dict, list)) and any(True for _ in collect(current))):
        return ""  # a lambda, an eval, or a structure holding grids: nothing to compare with
    try:
        equal = bool(current == value)
    except Exception:  # e.g. arrays, whose == is elementwise
        equal = current is value
    return "" if equal else f"but the config's value there is the constant {current!r}"
