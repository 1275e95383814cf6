"""The error taxonomy: what ended a trial versus what ends the experiment."""

from __future__ import annotations


class TuneError(Exception):
    """Root of every error tunecore raises on purpose.

    Raised directly for bad input (a spec, a name, a resource request): these are
    found before any trial starts and end the experiment with a message that says
    what was wrong and how to fix it.
    """


class TrialError(TuneError):
    """A single trial failed (its trainable raised, its worker died).

    Kept apart from the errors that end the experiment: the runner records it on
    the trial (``error.txt``), may recover the trial from a checkpoint, and goes on
    with the other trials.
    """


class TrialsDidNotComplete(TuneError):
    """Raised by ``run_experiments`` when trials ended in ERROR.

    Attributes:
        trials: the trials that did not end TERMINATED.
    """

    def __init__(self, trials: list) -> None:
        self.trials = list(trials)
        names = ", ".join(str(t) for t in self.trials[:10])
        more = "" if len(self.trials) <= 10 else f" and {len(self.trials) - 10} more"
        super().__init__(
            f"Trials did not complete: {names}{more}. See each trial's error.txt; "
            "pass raise_on_failed_trial=False to get the trials back instead of this error."
        )


class PluginError(TuneError):
    """A plugin could not be loaded or registered something invalid."""


class TuneManagerError(TuneError):
    """A request to the experiment server was refused."""
