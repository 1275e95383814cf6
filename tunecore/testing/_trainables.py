"""Trainables for tests: a step counter that checkpoints itself."""

from __future__ import annotations

import json
import os

from tunecore.trainable import Trainable


class StepTrainable(Trainable):
    """State is ``self.step`` (0 at setup), saved as ``state.json``; subclasses write ``_train``.

    Restoring a checkpoint continues the count, so a test can see that a trial really
    resumed from saved state (and from whose).
    """

    def _setup(self, config: dict) -> None:
        self.step = 0

    def _save(self, checkpoint_dir: str) -> str:
        path = os.path.join(checkpoint_dir, "state.json")
        with open(path, "w") as f:
            json.dump({"step": self.step}, f)
        return path

    def _restore(self, path: str) -> None:
        with open(path) as f:
            self.step = json.load(f)["step"]
