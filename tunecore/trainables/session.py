"""What a function trainable calls while it runs: ``report``, ``get_checkpoint``, ``get_context``.

The names and semantics are Ray Tune 2.x's (``ray.tune.report``, ``ray.tune.get_checkpoint``,
``ray.tune.get_context``). Each running function trainable has a session: the thread that
runs the function sees its own (a thread-local), and a thread the function starts itself
sees the latest session started in its process.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Callable, Optional

from tunecore.errors import TuneError

if TYPE_CHECKING:
    from tunecore.execution.trial import Resources
    from tunecore.trainables.checkpoint import Checkpoint

__all__ = ["TrainContext", "get_checkpoint", "get_context", "report"]


class TrainContext:
    """Facts about the trial the calling function runs as (``ray.tune.get_context()``)."""

    def __init__(self, trial_id: str, trial_name: str, trial_dir: str, experiment_name: str,
                 resources: Optional[Resources] = None) -> None:
        self._trial_id = trial_id
        self._trial_name = trial_name
        self._trial_dir = trial_dir
        self._experiment_name = experiment_name
        self._resources = resources

    def get_trial_id(self) -> str:
        return self._trial_id

    def get_trial_name(self) -> str:
        return self._trial_name

    def get_trial_dir(self) -> str:
        """The trial's folder (results, checkpoints) as this worker sees it."""
        return self._trial_dir

    def get_experiment_name(self) -> str:
        return self._experiment_name

    def get_trial_resources(self) -> Optional[Resources]:
        """What the trial reserved (a :class:`tunecore.execution.trial.Resources`)."""
        return self._resources

    # one process per trial: the distributed-training ranks of Ray Train are trivial here
    def get_world_size(self) -> int:
        return 1

    def get_world_rank(self) -> int:
        return 0

    def get_local_rank(self) -> int:
        return 0

    def get_local_world_size(self) -> int:
        return 1

    def get_node_rank(self) -> int:
        return 0

    def __repr__(self) -> str:
        return f"TrainContext(trial_id={self._trial_id!r}, trial_name={self._trial_name!r})"


class Session:
    """The link between a running function and its :class:`FunctionRunner`.

    Args:
        context: what :func:`get_context` returns.
        report: called with ``(metrics, checkpoint)`` for every :func:`report`; it blocks
            until the checkpoint (if any) is persisted, and raises ``SystemExit`` when the
            trial was stopped.
        checkpoint: what :func:`get_checkpoint` returns (the checkpoint the trial resumes from).
    """

    def __init__(self, context: TrainContext, report: Callable[[dict, Optional[Checkpoint]], None],
                 checkpoint: Optional[Checkpoint] = None) -> None:
        self.context = context
        self.report = report
        self.checkpoint = checkpoint
        #: called as ``hook(error)`` when the function ends (``error``: what it raised, None when it
        #: returned or was stopped), before the driver hears of it; latest first, failures ignored.
        #: What an integration started for the trial (an MLflow run) is ended here.
        self.exit_hooks: list[Callable[[Optional[BaseException]], None]] = []


_local = threading.local()
_latest: Optional[Session] = None
_latest_lock = threading.Lock()


def enter(session: Session) -> None:
    """Make ``session`` the calling thread's, and the process's latest."""
    global _latest
    _local.session = session
    with _latest_lock:
        _latest = session


def leave(session: Session, error: Optional[BaseException] = None) -> None:
    """The function of ``session`` has ended (``error``: what it raised); its exit hooks run first."""
    global _latest
    for hook in reversed(session.exit_hooks):
        with contextlib.suppress(Exception):
            hook(error)
    if getattr(_local, "session", None) is session:
        _local.session = None
    with _latest_lock:
        if _latest is session:
            _latest = None


def current_session() -> Optional[Session]:
    """The calling thread's session, else the latest one started in this process."""
    return getattr(_local, "session", None) or _latest


def _outside(what: str) -> TuneError:
    return TuneError(f"tunecore.{what} was called outside a trial. Call it inside a function trainable, "
                     "def train(config): ... tunecore.report({'loss': loss}), run with tunecore.run(train) "
                     "or tunecore.Tuner(train).fit().")


def report(metrics: Optional[Mapping] = None, *, checkpoint: Optional[Checkpoint] = None, **kwargs: Any) -> None:
    """Report one result of the calling trial, and optionally a checkpoint taken with it.

    Every call reaches the driver, in order: it becomes the trial's next training
    iteration. With ``checkpoint``, its directory is copied into the trial's storage
    before ``report`` returns (so the directory may be reused or deleted after), and the
    trial can be paused, resumed, exploited and recovered from it.

    Args:
        metrics: a dict of metrics (``{"loss": 0.1}``). The 1.x form ``report(loss=0.1)``
            is accepted too.
        checkpoint: a :class:`tunecore.Checkpoint` of a local directory.

    Raises:
        TuneError: called outside a trial, or with something other than a dict of metrics.
    """
    session = current_session()
    if session is None:
        raise _outside("report")
    if metrics is None:
        metrics = {}
    if not isinstance(metrics, Mapping):
        raise TuneError(f"tunecore.report takes a dict of metrics, report({{'loss': 0.1}}), but got "
                        f"{type(metrics).__name__}: {metrics!r}")
    merged = dict(metrics)
    clash = sorted(set(merged) & set(kwargs))
    if clash:
        raise TuneError(f"tunecore.report got {', '.join(map(repr, clash))} both in the dict and as a keyword")
    merged.update(kwargs)
    bad = [k for k in merged if not isinstance(k, str)]
    if bad:
        raise TuneError(f"tunecore.report needs metric names that are str, but got {bad[0]!r}")
    if checkpoint is not None:
        from tunecore.trainables.checkpoint import Checkpoint

        if not isinstance(checkpoint, Checkpoint):
            raise TuneError("tunecore.report(checkpoint=...) takes a tunecore.Checkpoint, "
                            f"Checkpoint.from_directory(path), but got {type(checkpoint).__name__}")
    session.report(merged, checkpoint)


def get_checkpoint() -> Optional[Checkpoint]:
    """The checkpoint the calling trial resumes from, or None when it starts from scratch.

    Outside a trial: None.
    """
    session = current_session()
    return session.checkpoint if session is not None else None


def get_context() -> TrainContext:
    """The calling trial's :class:`TrainContext`.

    Raises:
        TuneError: called outside a trial.
    """
    session = current_session()
    if session is None:
        raise _outside("get_context")
    return session.context
