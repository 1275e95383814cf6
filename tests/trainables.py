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
        marker = self.config.get("fail_marker", "/nonexistent")
        if self.config.get("fail_at") == self.step and not os.path.exists(marker):
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


class EndsAs(StepTrainable):
    """A trial whose ``config["role"]`` says how it ends on its own (the scheduler or a user end the rest).

    ``criterion`` and ``exploited`` report ``goal=1`` from step 3 and 6 (for ``stop: {"goal": 1}``),
    ``returned`` reports ``done`` at step 3, ``error`` raises at step 2; any other role runs
    until stopped. ``score`` is ``step * lr``; ``config["sleep"]`` paces each step.
    """

    GOAL_AT = {"criterion": 3, "exploited": 6}

    def _train(self):
        if self.config.get("sleep"):
            time.sleep(self.config["sleep"])
        self.step += 1
        role = self.config["role"]
        if role == "error" and self.step == 2:
            raise RuntimeError("planned failure at step 2")
        return {"score": self.step * self.config.get("lr", 1.0),
                "goal": int(self.step >= self.GOAL_AT.get(role, 1 << 30)),
                "done": role == "returned" and self.step >= 3}
