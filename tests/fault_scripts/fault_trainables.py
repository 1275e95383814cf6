"""Trainables for the fault-tolerance tests: deterministic, checkpointing, report their pid/node."""

from __future__ import annotations

import os
import time

from tunecore.testing import StepTrainable


class Steps(StepTrainable):
    """``value == step`` after every iteration, so a bad restore shows in the results.

    config: ``iters`` (done after this many), ``sleep`` (seconds per iteration),
    ``marker_dir`` (optional: writes ``<trial_id>.<node_id>`` there on setup).
    """

    def _setup(self, config):
        self.step = 0
        marker_dir = config.get("marker_dir")
        if marker_dir:
            import ray

            node = ray.get_runtime_context().get_node_id()
            open(os.path.join(marker_dir, f"{self._trial_id}.{node}"), "w").close()

    def _train(self):
        self.step += 1
        time.sleep(self.config.get("sleep", 0.05))
        return {"value": self.step, "done": self.step >= self.config["iters"]}

