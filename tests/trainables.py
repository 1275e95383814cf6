"""Trainables shared by the core tests (importable by name from the tests folder)."""

from __future__ import annotations

import os
import time

import tunecore as tune
from tunecore.testing import StepTrainable


class Counter(StepTrainable):
    """Counts iterations; reward = step * config['scale']; checkpoints its counter."""

    def _setup(self, config):
        self.step = 0
        self.setup_config = dict(config)

    def _train(self):
        self.step += 1
        if self.config.get("sleep"):
            time.sleep(self.config["sleep"])
        if self.config.get("fail_at") == self.step and not os.path.exists(self.config.get("fail_marker", "/nonexistent")):
            if self.config.get("fail_marker"):
                open(self.config["fail_marker"], "w").close()
            raise RuntimeError(f"planned failure at step {self.step}")
        if self.config.get("persistent_error_at") and self.step >= self.config["persistent_error_at"]:
            raise RuntimeError("persistent failure")
        return {"episode_reward_mean": self.step * self.config.get("scale", 1), "step": self.step,
                "timesteps_this_iter": 10}



class LegacySetup(tune.Trainable):
    """The 0.5-era hook: ``_setup(self)`` with no config argument."""

    def _setup(self):
        self.value = self.config["value"]

    def _train(self):
        return {"value": self.value, "done": True}
