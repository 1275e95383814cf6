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



def steps_function(config):
    """:class:`Steps` as a Ray Tune 2.x function: its step lives in the checkpoints it reports."""
    import json
    import tempfile

    import tunecore as tune

    marker_dir = config.get("marker_dir")
    if marker_dir:
        import ray

        node = ray.get_runtime_context().get_node_id()
        open(os.path.join(marker_dir, f"{tune.get_context().get_trial_id()}.{node}"), "w").close()
    step = 0
    start = tune.get_checkpoint()
    if start is not None:
        with start.as_directory() as folder, open(os.path.join(folder, "step.json")) as f:
            step = json.load(f)
    while step < config["iters"]:
        step += 1
        time.sleep(config.get("sleep", 0.05))
        with tempfile.TemporaryDirectory() as folder:
            with open(os.path.join(folder, "step.json"), "w") as f:
                json.dump(step, f)
            tune.report({"value": step}, checkpoint=tune.Checkpoint.from_directory(folder))
