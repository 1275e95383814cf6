"""ASHA tunes the learning rate of a Keras model, fed by tune_integrations.keras' callback.

Each trial trains a small Keras network on scikit-learn's bundled digits (no download) with
``model.fit``; ``TuneReportCheckpointCallback`` reports each epoch's validation accuracy and
loss to tunecore and checkpoints the model, so ASHA (tune-hyperband) can stop the trials that
fall behind at its rungs, and a trial that is retried or restored continues from its last
epoch (``get_model`` + ``initial_epoch``). At the end the best trial's model is loaded back
from its checkpoint and evaluated again.

    pip install "tune-integrations[keras,sklearn]" tune-hyperband     # Keras 3 with JAX
    python examples/keras_asha.py [--samples 12] [--max-t 20] [--small]

Keras picks its backend when it is first imported: this script sets ``KERAS_BACKEND`` (to JAX
unless it is set already) before anything imports Keras, and the workers of the local Ray it
starts inherit it. ``--small`` runs 4 learning rates one after another (ASHA decides by the
order trials reach a rung, so its decisions are then the same every run).
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "jax")  # before keras (or tune_integrations.keras) is imported

import argparse  # noqa: E402

import tunecore as tune  # noqa: E402
from tune_hyperband import ASHAScheduler  # noqa: E402
from tune_integrations.keras import TuneReportCheckpointCallback, get_initial_epoch  # noqa: E402


def load_digits_split():
    """The 8x8 digits, scaled to [0, 1]: 1200 images to train on, 597 to validate on."""
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32")
    return (x[:1200], y[:1200]), (x[1200:], y[1200:])


def build_model(lr: float, hidden: int):
    import keras

    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(hidden, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=lr, momentum=0.9),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def train_digits(config):
    """One epoch per result; continues from the trial's checkpoint when it has one."""
    import keras

    keras.utils.set_random_seed(0)
    (x, y), (x_val, y_val) = load_digits_split()
    start = tune.get_checkpoint()
    model = TuneReportCheckpointCallback.get_model(start) if start else build_model(config["lr"], config["hidden"])
    model.fit(x, y, validation_data=(x_val, y_val), batch_size=120, epochs=config["max_epochs"],
              initial_epoch=get_initial_epoch(start), verbose=0,
              callbacks=[TuneReportCheckpointCallback({"accuracy": "val_accuracy", "loss": "val_loss"})])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=12, help="learning rates to try")
    parser.add_argument("--max-t", type=int, default=20, help="epochs of the longest trial")
    parser.add_argument("--small", action="store_true",
                        help="4 fixed learning rates, 6 epochs at most, one trial at a time")
    parser.add_argument("--storage-path", default=None, help="where the experiment goes (default ~/ray_results)")
    args = parser.parse_args(argv)

    if args.small:
        lr = tune.grid_search([0.3, 1e-4, 0.1, 3e-5])
        samples, max_t, concurrent = 1, 6, 1
        asha = ASHAScheduler(max_t=max_t, grace_period=2, reduction_factor=2)
    else:
        lr = tune.loguniform(1e-5, 1.0)
        samples, max_t, concurrent = args.samples, args.max_t, None
        asha = ASHAScheduler(max_t=max_t, grace_period=2, reduction_factor=3)
    tuner = tune.Tuner(
        train_digits,
        param_space={"lr": lr, "hidden": 32, "max_epochs": max_t},
        tune_config=tune.TuneConfig(metric="accuracy", mode="max", num_samples=samples, scheduler=asha,
                                    max_concurrent_trials=concurrent),
        run_config=tune.RunConfig(name="keras_asha", storage_path=args.storage_path, verbose=1),
    )
    results = tuner.fit()

    epochs = 0
    print(f"{len(results)} trials, {results.num_errors} errors:")
    for result in sorted(results, key=lambda r: -r.config["lr"]):
        done = result.metrics.get("training_iteration", 0)
        epochs += done
        accuracy = result.metrics.get("accuracy", 0.0)
        print(f"  lr={result.config['lr']:<10.3g} {done:>3} epochs  val accuracy={accuracy:.4f}")
    print(f"{epochs} epochs in all (running every trial to the end: {len(results) * max_t}).")

    best = results.get_best_result()
    print(f"best lr={best.config['lr']:g}: val accuracy={best.metrics['accuracy']:.4f} after "
          f"{best.metrics['training_iteration']} epochs")
    model = TuneReportCheckpointCallback.get_model(best.checkpoint)
    (_, _), (x_val, y_val) = load_digits_split()
    again = model.evaluate(x_val, y_val, verbose=0, return_dict=True)["accuracy"]
    print(f"its checkpoint, loaded back: val accuracy={again:.4f}; the reported one: "
          f"{abs(again - best.metrics['accuracy']) < 1e-6}")


if __name__ == "__main__":
    main()
