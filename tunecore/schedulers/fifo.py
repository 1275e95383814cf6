"""FIFO: run trials in the order they were added; never stop one early."""

from __future__ import annotations

from tunecore.schedulers._base import TrialScheduler


class FIFOScheduler(TrialScheduler):
    """The default scheduler: every result continues (any objective, several too: it uses none)."""

    multi_objective = True

    def debug_string(self) -> str:
        return "Using FIFO scheduling algorithm."
