"""Trial failures: the text a failure is reported with, and the ``error.txt`` it is appended to.

The TrialRunner calls these when a trial's actor raises or dies; recovery (restart from the
last checkpoint, up to ``max_failures``) stays in the runner.
"""

from __future__ import annotations

import datetime
import os
import traceback

from tunecore import result as R
from tunecore.errors import TrialError, TuneError
from tunecore.execution.trial import Trial


def failure_message(exc: BaseException) -> str:
    """A one-line message for tunecore's own errors, the traceback (and its cause) otherwise."""
    if isinstance(exc, TuneError) and not isinstance(exc, TrialError):
        return f"{type(exc).__name__}: {exc}"
    message = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    cause = getattr(exc, "cause", None)
    if cause is not None:
        message = f"{message}\nCaused by: {type(cause).__name__}: {cause}"
    return message


def record_failure(trial: Trial, message: str) -> None:
    """Count the failure on ``trial`` and append it to ``<trial dir>/error.txt`` (never truncated)."""
    trial.num_failures += 1
    trial.error_msg = message
    if trial.logdir:
        path = os.path.join(trial.logdir, R.ERROR_FILE)
        stamp = datetime.datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
        with open(path, "a", encoding="utf-8") as f:
            f.write(f"=== failure {trial.num_failures} at {stamp} ===\n{message}\n")
        trial.error_file = path
