"""TuneSearchCV with ASHA against scikit-learn's RandomizedSearchCV: the same configurations, fewer epochs.

scikit-learn's bundled digits (1797 images of 8x8 pixels, 10 classes; pixels / 16), an
``SGDClassifier(random_state=0)`` and 5 stratified shuffled folds (seed 0). For each seed,
the same N configurations (``loss``, ``penalty``, ``learning_rate``, ``alpha``, ``eta0``; scikit-learn's
``ParameterSampler`` with ``random_state=seed``, which both searches use) are cross-validated by:

(a) ``RandomizedSearchCV(SGDClassifier(max_iter=E, tol=None))``: every configuration trained the
    full E epochs on every fold (``tol=None``: no convergence stop, ``n_iter_ == E``);
(a') ``RandomizedSearchCV`` of the same SGDClassifier trained by E calls of ``partial_fit`` (a
    small wrapper): the training a TuneSearchCV trial does, run to the end for everyone; a
    TuneSearchCV configuration that ran all E epochs must get exactly its score;
(b) ``TuneSearchCV(SGDClassifier(), early_stopping=True, max_iters=E)``: one tunecore trial per
    configuration, one ``partial_fit`` epoch of its 5 folds per step, ASHA
    (``tune_hyperband.ASHAScheduler(max_t=E)``, its default grace period ``E // 10`` and reduction
    factor 4) stopping the weak ones.

Figures: the best mean CV accuracy of each, and the epochs trained (per fold: N * folds * E for
(a) and (a'); folds * the sum over trials of their epochs for (b)). Targets: TuneSearchCV's best
within 0.01 of RandomizedSearchCV's (a), or better, and fewer epochs. Means over seeds; the
per-seed figures are in each line.

    python benchmarks/sklearn_search_cv.py [--quick | --tiny] [--seeds 3] [--json PATH] [--markdown]

Prints one JSON line per method (means over seeds, with the per-seed figures), then a summary
line; ``--markdown`` adds a table. Exit code 0 whatever the verdicts (it is a benchmark): read
``FAIL``. One local Ray with ``--num-cpus`` CPUs (default 2); scikit-learn runs with as many jobs (``--tiny``: one).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import warnings
from typing import Any, Optional

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import init_ray, quiet  # noqa: E402

_stdout = sys.stdout  # the JSON lines and the table; what the frameworks print goes to stderr

SCORE_TOLERANCE = 0.01
#: (configurations, epochs, folds, seeds)
SIZES = {"full": (24, 30, 5, 3), "quick": (12, 12, 5, 1), "tiny": (4, 4, 2, 1)}


def space() -> dict:
    from scipy import stats

    return {
        "loss": ["hinge", "log_loss", "modified_huber", "perceptron"],
        "penalty": ["l2", "l1", "elasticnet"],
        "learning_rate": ["optimal", "invscaling", "constant"],
        "alpha": stats.loguniform(1e-7, 1e-1),
        "eta0": stats.loguniform(1e-4, 1.0),
    }


def epochs_wrapper() -> Any:
    """(a'): an estimator whose ``fit`` is ``epochs`` calls of its SGDClassifier's ``partial_fit``."""
    from sklearn.base import BaseEstimator, ClassifierMixin, clone

    class PartialFitEpochs(ClassifierMixin, BaseEstimator):
        def __init__(self, estimator: Any = None, epochs: int = 1) -> None:
            self.estimator = estimator
            self.epochs = epochs

        def fit(self, X: Any, y: Any) -> PartialFitEpochs:
            self.estimator_ = clone(self.estimator)
            self.classes_ = np.unique(y)
            for _ in range(self.epochs):
                self.estimator_.partial_fit(X, y, classes=self.classes_)
            return self

        def predict(self, X: Any) -> Any:
            return self.estimator_.predict(X)

    return PartialFitEpochs


def run_seed(seed: int, n: int, epochs: int, folds: int, jobs: int, storage: str) -> dict[str, dict]:
    from sklearn.datasets import load_digits
    from sklearn.linear_model import SGDClassifier
    from sklearn.model_selection import RandomizedSearchCV, StratifiedKFold

    from tune_integrations.sklearn import TuneSearchCV

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    cv = StratifiedKFold(folds, shuffle=True, random_state=0)
    out: dict[str, dict] = {}

    t0 = time.perf_counter()
    a = RandomizedSearchCV(SGDClassifier(max_iter=epochs, tol=None, random_state=0), space(), n_iter=n, cv=cv,
                           random_state=seed, n_jobs=jobs, refit=False).fit(X, y)
    out["RandomizedSearchCV"] = {"best": float(a.best_score_), "epochs": n * folds * epochs,
                                 "wall_s": time.perf_counter() - t0, "best_params": a.best_params_}

    t0 = time.perf_counter()
    wrapped = {f"estimator__{k}": v for k, v in space().items()}  # same sorted order: the same draws
    a2 = RandomizedSearchCV(epochs_wrapper()(SGDClassifier(random_state=0), epochs), wrapped, n_iter=n, cv=cv,
                            random_state=seed, n_jobs=jobs, refit=False).fit(X, y)
    out["RandomizedSearchCV, partial_fit epochs"] = {
        "best": float(a2.best_score_), "epochs": n * folds * epochs, "wall_s": time.perf_counter() - t0,
        "best_params": {k[len("estimator__"):]: v for k, v in a2.best_params_.items()}}

    t0 = time.perf_counter()
    b = TuneSearchCV(SGDClassifier(random_state=0), space(), n_trials=n, early_stopping=True, max_iters=epochs,
                     cv=cv, random_state=seed, refit=False, storage_path=storage,
                     name=f"sklearn_search_cv_seed{seed}").fit(X, y)
    iters = np.asarray(b.cv_results_["training_iteration"])
    same = [p == {k[len("estimator__"):]: v for k, v in q.items()}
            for p, q in zip(b.cv_results_["params"], a2.cv_results_["params"])]
    full = iters == epochs
    diff = np.abs(b.cv_results_["mean_test_score"] - a2.cv_results_["mean_test_score"])[full]
    out["TuneSearchCV + ASHA"] = {
        "best": float(b.best_score_), "epochs": int(folds * iters.sum()), "wall_s": time.perf_counter() - t0,
        "best_params": b.best_params_, "trials_to_the_end": int(full.sum()),
        "same_configurations": bool(all(same)),
        "max_abs_diff_full_trials_vs_partial_fit_epochs": float(diff.max()) if diff.size else 0.0,
        "best_in_a_rank": int(np.asarray(a.cv_results_["rank_test_score"])[int(b.best_index_)]),
    }
    return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    return value


def markdown(lines: list[dict]) -> list[str]:
    rows = ["| method | best CV accuracy | epochs trained (all folds) | wall s | target |",
            "|---|---|---|---|---|"]
    for line in lines:
        target = "" if line.get("pass") is None else ("PASS" if line["pass"] else "FAIL")
        rows.append(f"| {line['method']} | {line['best_cv_score']:.4f} | {line['epochs']:,.0f} | "
                    f"{line['wall_s']:.1f} | {target} |")
    return rows


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="12 configurations, 12 epochs, one seed")
    parser.add_argument("--tiny", action="store_true", help="4 configurations, 4 epochs, 2 folds (the smoke test)")
    parser.add_argument("--seeds", type=int, default=None, help="seeds 0..N-1 (default 3; --quick/--tiny 1)")
    parser.add_argument("--json", metavar="PATH", help="also write the JSON lines to PATH")
    parser.add_argument("--markdown", action="store_true", help="print a markdown table after the JSON lines")
    parser.add_argument("--num-cpus", type=int, default=2, help="CPUs of the local Ray and scikit-learn's n_jobs")
    args = parser.parse_args(argv)
    size = "tiny" if args.tiny else "quick" if args.quick else "full"
    n, epochs, folds, seeds = SIZES[size]
    seeds = args.seeds or seeds
    warnings.simplefilter("ignore")
    started = time.perf_counter()
    per_seed: dict[str, list[dict]] = {}
    with quiet(), tempfile.TemporaryDirectory(prefix="tunecore-bench-sklearn-") as storage:
        init_ray(args.num_cpus)
        try:
            for seed in range(seeds):
                jobs = 1 if size == "tiny" else args.num_cpus  # tiny: no joblib worker processes to start
                for method, figures in run_seed(seed, n, epochs, folds, jobs, storage).items():
                    per_seed.setdefault(method, []).append({"seed": seed, **figures})
        finally:
            import ray

            ray.shutdown()
    lines = []
    reference = statistics.mean(r["best"] for r in per_seed["RandomizedSearchCV"])
    for method, runs in per_seed.items():
        best = statistics.mean(r["best"] for r in runs)
        line: dict[str, Any] = {
            "benchmark": "sklearn_search_cv", "method": method, "size": size, "configurations": n,
            "epochs_per_trial": epochs, "folds": folds, "seeds": seeds, "best_cv_score": round(best, 6),
            "epochs": statistics.mean(r["epochs"] for r in runs), "wall_s": round(statistics.mean(
                r["wall_s"] for r in runs), 2), "per_seed": [_jsonable(r) for r in runs]}
        if method == "TuneSearchCV + ASHA":
            full = n * folds * epochs
            line["epochs_fraction"] = round(line["epochs"] / full, 4)
            line["score_gap"] = round(reference - best, 6)
            line["pass"] = bool(best >= reference - SCORE_TOLERANCE and line["epochs"] < full)
            line["exact_scores_ok"] = all(r["same_configurations"] and
                                          r["max_abs_diff_full_trials_vs_partial_fit_epochs"] < 1e-12 for r in runs)
        lines.append(line)
    tune = lines[-1]
    summary = {"benchmark": "sklearn_search_cv", "summary": True, "size": size,
               "seconds": round(time.perf_counter() - started, 1), "python": platform.python_version(),
               "sklearn": __import__("sklearn").__version__, "all_pass": tune["pass"],
               "exact_scores_ok": tune["exact_scores_ok"]}
    text = "\n".join(json.dumps(line, sort_keys=True) for line in [*lines, summary])
    _stdout.write(text + "\n")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            f.write(text + "\n")
    if args.markdown:
        _stdout.write("\n" + "\n".join(markdown(lines)) + "\n")
    if not tune["pass"]:
        _stdout.write(f"\nFAIL: TuneSearchCV's best {tune['best_cv_score']:.4f} vs {reference:.4f}, "
                      f"{tune['epochs']:.0f} epochs\n")
    _stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
