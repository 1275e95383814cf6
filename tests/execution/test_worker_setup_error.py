"""A trainable the workers cannot unpickle fails its trial with a message that says so."""

from __future__ import annotations

import importlib
import sys

import tunecore as tune


def test_a_trainable_the_workers_cannot_import_names_the_cause(ray_session, tmp_path):
    module_dir = tmp_path / "driver_only"
    module_dir.mkdir()
    (module_dir / "driver_only_trainable.py").write_text(
        "import tunecore\n\ndef trainable(config):\n    tunecore.report({'x': 1.0})\n", encoding="utf-8")
    sys.path.insert(0, str(module_dir))  # importable here, not on Ray's workers
    try:
        module = importlib.import_module("driver_only_trainable")
        grid = tune.Tuner(module.trainable, run_config=tune.RunConfig(
            storage_path=str(tmp_path / "results"), verbose=0,
            failure_config=tune.FailureConfig(max_failures=0))).fit()
    finally:
        sys.path.remove(str(module_dir))
        sys.modules.pop("driver_only_trainable", None)
    assert grid.num_errors == 1
    message = str(grid.errors[0])
    assert "'NoneType' object has no attribute" not in message
    assert "failed to start" in message and ("unpickled" in message or "No module named" in message)
