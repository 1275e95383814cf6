"""Results per second through each logger's hot path (``on_results`` in batches of 10).

Usage: python plugins/tune-loggers/benchmarks/logger_throughput.py [N]
"""

from __future__ import annotations

import sys
import tempfile
import time

from tune_loggers import CSVLogger, TensorBoardLogger
from tunecore.loggers import JsonLogger
from tunecore.testing import make_result, make_trial


def main(n: int = 5000) -> None:
    for cls in (JsonLogger, CSVLogger, TensorBoardLogger):
        with tempfile.TemporaryDirectory() as logdir:
            trial = make_trial({"lr": 0.1, "model": {"width": 64}}, logdir=logdir)
            results = [make_result(trial, i, info={"grad_norm": 0.1 * i, "learner": {"loss": 1.0 / i}})
                       for i in range(1, n + 1)]
            logger = cls(trial.config, logdir, trial)
            t0 = time.perf_counter()
            for i in range(0, n, 10):
                logger.on_results(results[i:i + 10])
            logger.close()
            dt = time.perf_counter() - t0
            print(f"{cls.__name__:18s} {n / dt:8.0f} results/s  {dt / n * 1e6:6.0f} us/result")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5000)
