"""Trainables for tests: a step counter that checkpoints itself, and one that fails once."""

from __future__ import annotations

import json
import os

from tunecore.trainables.trainable import Trainable


class StepTrainable(Trainable):
    """State is ``self.step`` (0 at setup), saved as ``state.json``; subclasses write ``_train``.

    Restoring a checkpoint continues the count, so a test can see that a trial really
    resumed from saved state (and from whose).
    """

    def _setup(self, config: dict) -> None:
        # a 2018-style class: its counter may shadow Ray Tune 2.x's step() (which it does not use)
        self.step = 0  # type: ignore[assignment,method-assign]

    def _save(self, checkpoint_dir: str) -> str:
        path = os.path.join(checkpoint_dir, "state.json")
        with open(path, "w") as f:
            json.dump({"step": self.step}, f)
        return path

    def _restore(self, path: str) -> None:
        with open(path) as f:
            self.step = json.load(f)["step"]  # type: ignore[method-assign]


class FailsOnce(StepTrainable):
    """A :class:`StepTrainable` that raises once, at step ``config["fail_at"]``.

    The file ``config["marker"]`` remembers that it did, across workers, so the
    recovered trial runs on. Each result holds ``step`` and ``gen``: 1 before the
    failure, 2 after, so a test sees which run logged a row.
    """

    def _setup(self, config: dict) -> None:
        super()._setup(config)
        self.gen = 2 if os.path.exists(config["marker"]) else 1

    def _train(self) -> dict:
        self.step += 1  # type: ignore[assignment,method-assign,operator]
        if self.step == self.config["fail_at"] and not os.path.exists(self.config["marker"]):
            open(self.config["marker"], "w").close()
            raise RuntimeError(f"planned failure at step {self.step}")
        return {"step": self.step, "gen": float(self.gen), "timesteps_this_iter": 10}
