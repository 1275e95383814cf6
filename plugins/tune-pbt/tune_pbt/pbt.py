"""Population Based Training: copy the state of good trials into bad ones and perturb their config."""

from __future__ import annotations

import copy
import math
import random
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from tune_pbt.explore import explore, format_vars, mutated_values, normalize_mutations, validate_mutations
from tunecore.errors import TuneError
from tunecore.execution.trial import Checkpoint, Trial, TrialStatus
from tunecore.schedulers import Decision, SchedulerContext, TrialScheduler
from tunecore.util import as_float, dumps, from_jsonable, plain, to_jsonable

#: The ``event`` field of the records PBT appends to ``<trial logdir>/events.jsonl``.
EXPLOIT_EVENT = "pbt_exploit"


@dataclass
class _TrialState:
    """What PBT remembers of one trial."""

    orig_tag: str
    last_score: Optional[float] = None
    last_perturbation_time: float = 0.0
    last_iteration: Optional[int] = None
    #: The memory checkpoint taken at the last perturbation point while in the upper
    #: quantile, with the config and iteration it was taken at (None otherwise).
    last_checkpoint: Optional[Checkpoint] = None
    checkpoint_config: Optional[dict] = None
    checkpoint_iteration: Optional[int] = None
    checkpoint_timestamp: Optional[float] = None
    checkpoint_seq: Optional[int] = None
    finished: bool = False
    num_perturbations: int = 0
    #: The ``checkpoint_seq`` of every checkpoint this trial copied.
    copied: set = field(default_factory=set)


class PopulationBasedTraining(TrialScheduler):
    """Population Based Training (Jaderberg et al. 2017)

    Every ``perturbation_interval`` (in units of ``time_attr``) a trial's score is
    ranked among the live population. A trial in the top ``quantile_fraction`` gets an
    in-memory checkpoint (through Ray's object store, so it works across nodes). A
    trial in the bottom ``quantile_fraction`` *exploits* a random top trial: it
    continues from that trial's checkpoint with a perturbed copy of its config
    (*explore*). Each exploit is appended to the trial's ``events.jsonl`` (read it back
    with :func:`tune_pbt.load_schedule`). When other trials wait (PENDING or PAUSED)
    the reporting trial is paused so the population advances evenly; the trial that
    is furthest behind runs next.

    Metrics and times may be Python or numpy numbers of any dtype (or 0-d arrays).
    A NaN metric (a diverged trial) scores ``-inf``: it ranks below every other trial,
    so it is in the bottom quantile and exploits a top trial, and it is never a donor
    (nor is any trial whose score is ``-inf``). A trial scoring ``-inf`` copies each
    checkpoint once: if it diverges again from a copied state, it goes on with its own
    until a top trial has a newer checkpoint (else a trial that diverges whatever its
    config would replay the same iterations forever). A result whose metric is missing or
    not a number (None, text, an array) is not ranked: the trial keeps its last
    score and is ranked at its next result that has one. A result whose
    ``time_attr`` is None, NaN or not a number is not a perturbation point (a
    missing ``time_attr`` is an error, see above). ±inf rank as the extremes they are.

    Args:
        time_attr: the result key measuring progress (``training_iteration``,
            ``time_total_s``, ``timesteps_total``...). Should increase monotonically.
        reward_attr: the 2018 Tune's name for the metric (always maximised).
        metric, mode: what to rank by; ``mode`` is ``"max"`` or ``"min"``.
        perturbation_interval: how much ``time_attr`` must pass between two
            perturbation points of a trial.
        hyperparam_mutations: ``{key: values}`` where values is a list of allowed
            values, a sample domain (``tunecore.uniform(0, 20)``), a function returning
            a new value, or a nested dict of these for a nested config.
        resample_probability: chance that explore draws a fresh value instead of
            perturbing the current one (x0.8 / x1.2, or a neighbouring list value).
        custom_explore_fn: ``f(config) -> config`` applied after the built-in explore.
        quantile_fraction: the share of the population that is "top" and "bottom";
            between 0 and 0.5.
        seed: seeds the scheduler's random choices (donor, explore).
        verbose: print each exploit.
    """

    requires_checkpointing = True

    def __init__(self, time_attr: str = "time_total_s", reward_attr: Optional[str] = None,
                 perturbation_interval: float = 60.0, hyperparam_mutations: Optional[dict] = None,
                 resample_probability: float = 0.25,
                 custom_explore_fn: Optional[Callable[[dict], dict]] = None,
                 metric: Optional[str] = None, mode: Optional[str] = None,
                 quantile_fraction: float = 0.25, seed: Optional[int] = None,
                 verbose: bool = True) -> None:
        if hyperparam_mutations is None:
            hyperparam_mutations = {}
        hyperparam_mutations = normalize_mutations(hyperparam_mutations)
        validate_mutations(hyperparam_mutations)
        if not hyperparam_mutations and custom_explore_fn is None:
            raise TuneError(
                "hyperparam_mutations must name at least one hyperparameter when there is no "
                "custom_explore_fn, but got hyperparam_mutations={} and custom_explore_fn=None"
            )
        if custom_explore_fn is not None and not callable(custom_explore_fn):
            raise TuneError(
                f"custom_explore_fn must be a function config -> config, but got "
                f"custom_explore_fn={custom_explore_fn!r}"
            )
        if not _is_real(perturbation_interval) or perturbation_interval <= 0:
            raise TuneError(
                f"perturbation_interval must be > 0, but got perturbation_interval={perturbation_interval!r}"
            )
        if not _is_real(resample_probability) or not 0 <= resample_probability <= 1:
            raise TuneError(
                f"resample_probability must be between 0 and 1, but got "
                f"resample_probability={resample_probability!r}"
            )
        if not _is_real(quantile_fraction) or not 0 < quantile_fraction <= 0.5:
            raise TuneError(
                f"quantile_fraction must be > 0 and <= 0.5, but got quantile_fraction={quantile_fraction!r}"
            )
        if not isinstance(time_attr, str) or not time_attr:
            raise TuneError(f"time_attr must be a result key (a string), but got time_attr={time_attr!r}")
        self._init_metric(metric, mode, reward_attr)
        self._metric_given = metric is not None or reward_attr is not None
        self._time_attr = time_attr
        self._perturbation_interval = perturbation_interval
        self._hyperparam_mutations = hyperparam_mutations
        self._resample_probability = resample_probability
        self._custom_explore_fn = custom_explore_fn
        self._quantile_fraction = quantile_fraction
        self._verbose = verbose
        self._rng = random.Random(seed)
        self._trial_state: dict[str, _TrialState] = {}
        self._num_checkpoints = 0
        self._num_perturbations = 0
        self._warned_metric = False
        self._warned_time = False
        self._seq = 0  # orders checkpoints and exploits, for lineage reconstruction

    # -- callbacks ------------------------------------------------------------------
    def on_trial_add(self, runner: SchedulerContext, trial: Trial) -> None:
        self._trial_state[trial.trial_id] = _TrialState(orig_tag=trial.experiment_tag)

    def on_trial_result(self, runner: SchedulerContext, trial: Trial, result: dict) -> Decision:
        state = self._state(trial)
        if self._time_attr not in result:
            raise TuneError(
                f"PopulationBasedTraining: time_attr {self._time_attr!r} is not in the result of "
                f"trial {trial}; the result had {sorted(k for k in result if k != 'config')}. "
                "Report it from the trainable or pass another time_attr."
            )
        t = _time(result[self._time_attr])
        if t is None:
            if not self._warned_time:
                print(f"PopulationBasedTraining: time_attr {self._time_attr!r} of trial {trial} is "
                      f"{result[self._time_attr]!r:.80}, not a number; that result is not a perturbation "
                      "point.", file=sys.stderr)
                self._warned_time = True
            return Decision.CONTINUE
        if t - state.last_perturbation_time < self._perturbation_interval:
            return Decision.CONTINUE  # not a perturbation point: no checkpoint overhead
        score = self.score(result)  # None when not a number, -inf for NaN
        if score is None:
            if not self._warned_metric:
                print(f"PopulationBasedTraining: metric {self.metric!r} is not a number in the result of "
                      f"trial {trial} (got {result.get(self.metric)!r:.80}); it cannot be ranked.",
                      file=sys.stderr)
                self._warned_metric = True
            return self._yield_if_others_wait(runner, trial)
        state.last_score = score
        state.last_perturbation_time = t
        state.last_iteration = plain(result.get("training_iteration"))

        lower, upper = self._quantiles(runner)
        if trial in upper:
            state.last_checkpoint = runner.save_trial(trial)
            state.checkpoint_config = copy.deepcopy(trial.config)
            state.checkpoint_iteration = state.last_iteration
            state.checkpoint_timestamp = time.time()
            state.checkpoint_seq = self._next_seq()
            self._num_checkpoints += 1
        else:
            state.last_checkpoint = state.checkpoint_config = None
            state.checkpoint_iteration = state.checkpoint_timestamp = state.checkpoint_seq = None

        if trial in lower:
            # A random top trial; among them only those with a checkpoint can be copied
            # (a trial that rose to the top while others fell has none until its next
            # perturbation point).
            donors = [t for t in upper if self._trial_state[t.trial_id].last_checkpoint is not None]
            if score == -math.inf:
                # A diverged trial copies each checkpoint once: one that diverges again from the
                # same state would otherwise replay the same iterations forever.
                donors = [t for t in donors if self._trial_state[t.trial_id].checkpoint_seq not in state.copied]
            if donors:
                self._exploit(runner, trial, self._rng.choice(donors), result)
            elif score == -math.inf and upper:
                print(f"PopulationBasedTraining: [exploit] {trial} scores -inf (NaN) again after copying "
                      "the current checkpoint of every top trial; it goes on with its own state.",
                      file=sys.stderr)
            else:
                print(f"PopulationBasedTraining: [exploit] no top trial of {[str(t) for t in upper]} has a "
                      f"checkpoint yet; {trial} goes on with its own state.", file=sys.stderr)
        return self._yield_if_others_wait(runner, trial)

    def on_trial_complete(self, runner: SchedulerContext, trial: Trial, result: Optional[dict]) -> None:
        self._forget(trial)

    def on_trial_error(self, runner: SchedulerContext, trial: Trial) -> None:
        self._forget(trial)

    def on_trial_remove(self, runner: SchedulerContext, trial: Trial) -> None:
        self._forget(trial)

    def choose_trial_to_run(self, runner: SchedulerContext) -> Optional[Trial]:
        """The waiting trial (PENDING or PAUSED) that is furthest behind and fits, or None."""
        best, best_time = None, math.inf
        for trial in runner.get_trials():
            if trial.status not in (TrialStatus.PENDING, TrialStatus.PAUSED):
                continue
            if not runner.has_resources(trial.resources):
                continue
            state = self._trial_state.get(trial.trial_id)
            t = state.last_perturbation_time if state is not None else 0.0
            if t < best_time:
                best, best_time = trial, t
        return best

    def debug_string(self) -> str:
        return f"PopulationBasedTraining: {self._num_checkpoints} checkpoints, {self._num_perturbations} perturbs"

    # -- experiment state -------------------------------------------------------------
    def save_state(self) -> dict:
        """Counters and per-trial scores/times (checkpoints live in memory and are not kept).

        Plain JSON: a ``-inf`` score (a NaN metric) is written as ``"-Infinity"``.
        """
        return to_jsonable({
            "num_checkpoints": self._num_checkpoints,
            "num_perturbations": self._num_perturbations,
            "seq": self._seq,
            "trials": {
                tid: {"orig_tag": s.orig_tag, "last_score": s.last_score,
                      "last_perturbation_time": s.last_perturbation_time,
                      "last_iteration": s.last_iteration, "finished": s.finished,
                      "num_perturbations": s.num_perturbations}
                for tid, s in self._trial_state.items()
            },
        })

    def restore_state(self, state: dict) -> None:
        self._num_checkpoints = int(state.get("num_checkpoints", 0))
        self._num_perturbations = int(state.get("num_perturbations", 0))
        self._seq = int(state.get("seq", 0))
        self._trial_state = {
            tid: _TrialState(orig_tag=s.get("orig_tag", ""), last_score=from_jsonable(s.get("last_score")),
                             last_perturbation_time=from_jsonable(s.get("last_perturbation_time", 0.0)),
                             last_iteration=s.get("last_iteration"), finished=bool(s.get("finished")),
                             num_perturbations=int(s.get("num_perturbations", 0)))
            for tid, s in state.get("trials", {}).items()
        }

    # -- internals ------------------------------------------------------------------
    def _state(self, trial: Trial) -> _TrialState:
        state = self._trial_state.get(trial.trial_id)
        if state is None:  # added before a restore, or by a runner that skipped on_trial_add
            state = self._trial_state[trial.trial_id] = _TrialState(orig_tag=trial.experiment_tag)
        return state

    def _forget(self, trial: Trial) -> None:
        state = self._trial_state.get(trial.trial_id)
        if state is not None:
            state.finished = True
            # Free the object-store copy: a finished trial is never a donor.
            state.last_checkpoint = state.checkpoint_config = None

    def _quantiles(self, runner: SchedulerContext) -> tuple[list[Trial], list[Trial]]:
        """(bottom, top) of the live trials that have a score, each ``ceil(n * fraction)`` long.

        A trial scoring ``-inf`` (a NaN metric) is never in the top: it may not be copied.
        """
        ranked = []
        for trial in runner.get_trials():
            state = self._trial_state.get(trial.trial_id)
            if state is None or state.finished or state.last_score is None or trial.is_finished():
                continue
            ranked.append((state.last_score, trial))
        if len(ranked) <= 1:
            return [], []
        ranked.sort(key=lambda pair: pair[0])  # stable: ties keep the runner's order
        trials = [t for _, t in ranked]
        k = min(int(math.ceil(len(trials) * self._quantile_fraction)), len(trials) // 2)
        top = [t for score, t in ranked[-k:] if score > -math.inf]
        return trials[:k], top

    def _exploit(self, runner: SchedulerContext, trial: Trial, donor: Trial, result: dict) -> None:
        """Ask the runner to continue ``trial`` from ``donor``'s checkpoint with an explored config."""
        donor_state = self._trial_state[donor.trial_id]
        checkpoint = donor_state.last_checkpoint
        if checkpoint is None:  # donors are chosen among trials with a checkpoint
            return
        state = self._trial_state[trial.trial_id]
        donor_config = donor_state.checkpoint_config if donor_state.checkpoint_config is not None \
            else donor.config
        operations: dict = {}
        new_config = explore(donor_config, self._hyperparam_mutations, self._resample_probability,
                             self._custom_explore_fn, self._rng, operations)
        mutated = mutated_values(new_config, self._hyperparam_mutations)
        tag = f"{state.orig_tag}@perturbed[{format_vars(mutated)}]"
        record = _jsonable({
            "event": EXPLOIT_EVENT,
            "trial_id": trial.trial_id,
            "iteration": result.get("training_iteration"),
            "time_attr": self._time_attr,
            "time": result.get(self._time_attr),
            "score": state.last_score,
            "source_trial": donor.trial_id,
            "source_iteration": donor_state.checkpoint_iteration,
            "source_checkpoint_timestamp": donor_state.checkpoint_timestamp,
            "source_checkpoint_seq": donor_state.checkpoint_seq,
            "source_time": donor_state.last_perturbation_time,
            "source_score": donor_state.last_score,
            "old_config": trial.config,
            "new_config": new_config,
            "operations": operations,
            "experiment_tag": tag,
            "timestamp": time.time(),
            "seq": self._next_seq(),
        })
        if self._verbose:
            print(f"PopulationBasedTraining: [exploit] {trial} (score {state.last_score:.4g}) <- {donor} "
                  f"(score {donor_state.last_score:.4g}); config {_short(trial.config)} -> {_short(new_config)}")
        runner.exploit_trial(trial, checkpoint, new_config, experiment_tag=tag,
                             record=record)
        state.copied.add(donor_state.checkpoint_seq)
        self._num_perturbations += 1
        state.num_perturbations += 1
        # The trial now holds the donor's state: it is as far along as the donor was.
        state.last_perturbation_time = donor_state.last_perturbation_time
        state.last_iteration = donor_state.checkpoint_iteration

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _yield_if_others_wait(self, runner: SchedulerContext, trial: Trial) -> Decision:
        for other in runner.get_trials():
            if other is not trial and other.status in (TrialStatus.PENDING, TrialStatus.PAUSED):
                return Decision.PAUSE
        return Decision.CONTINUE


def _is_real(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _time(value: Any) -> Optional[float]:
    """A ``time_attr`` value as a float (numpy numbers and 0-d arrays too); None if not a number or NaN."""
    number = as_float(value)
    return None if number is None or number != number else number


def _jsonable(value: Any) -> Any:
    """A copy of ``value`` as the events file keeps it: plain JSON values, numpy numbers as Python
    ones, arrays as lists, NaN and ±inf as floats, anything else (a function) as its text."""
    return from_jsonable(to_jsonable(value))


def _short(config: dict, limit: int = 200) -> str:
    text = dumps(config, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 3] + "..."
