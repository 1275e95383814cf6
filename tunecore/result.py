"""Names of the result keys that mean something to tunecore."""

from __future__ import annotations

import os

from tunecore import settings

DONE = "done"
TIMESTEPS_THIS_ITER = "timesteps_this_iter"
TIMESTEPS_TOTAL = "timesteps_total"
TRAINING_ITERATION = "training_iteration"
TIME_THIS_ITER_S = "time_this_iter_s"
TIME_TOTAL_S = "time_total_s"
EPISODE_REWARD_MEAN = "episode_reward_mean"
MEAN_LOSS = "mean_loss"
NEG_MEAN_LOSS = "neg_mean_loss"
MEAN_ACCURACY = "mean_accuracy"
EXPERIMENT_ID = "experiment_id"
TRIAL_ID = "trial_id"
TIME_SINCE_RESTORE = "time_since_restore"
TIMESTEPS_SINCE_RESTORE = "timesteps_since_restore"
ITERATIONS_SINCE_RESTORE = "iterations_since_restore"
#: In a result a function trainable reported with a checkpoint: the checkpoint's folder in the trial's.
CHECKPOINT_DIR_NAME = "checkpoint_dir_name"
#: Set to True in a result (by a class trainable's ``step`` or by a callback's ``on_trial_result``)
#: to have the runner checkpoint the trial now.
SHOULD_CHECKPOINT = "should_checkpoint"

#: Keys the trainable fills in itself; never treated as user metrics.
AUTO_RESULT_KEYS = (
    TRAINING_ITERATION,
    TIME_TOTAL_S,
    TIME_THIS_ITER_S,
    EXPERIMENT_ID,
    TRIAL_ID,
    "date",
    "timestamp",
    "pid",
    "hostname",
    "node_ip",
    "config",
    DONE,
    TIME_SINCE_RESTORE,
    TIMESTEPS_SINCE_RESTORE,
    ITERATIONS_SINCE_RESTORE,
    CHECKPOINT_DIR_NAME,
    SHOULD_CHECKPOINT,
)

DEFAULT_RESULTS_DIR = os.path.expanduser(settings.raw("TUNECORE_RESULTS_DIR") or "~/ray_results")

EXPERIMENT_STATE_FILE = "experiment_state.json"
PARAMS_FILE = "params.json"
RESULT_FILE = "result.json"
ERROR_FILE = "error.txt"
