"""The notebook printer: one HTML display updated in place, escaped; a real Jupyter kernel run."""

from __future__ import annotations

import re
import textwrap

import pytest

from tunecore.execution.notebook import NotebookPrinter, default_printer, in_notebook
from tunecore.execution.status import ProgressPrinter, StatusView
from tunecore.execution.trial import TrialStatus
from tunecore.testing import make_trial


class FakeDisplay:
    """``IPython.display.display`` with ``display_id=True``: records shows and updates."""

    def __init__(self) -> None:
        self.shown: list[str] = []
        self.updates: list[str] = []

    def __call__(self, obj, display_id=True):
        assert display_id is True
        self.shown.append(getattr(obj, "data", obj))
        return self

    def update(self, obj):
        self.updates.append(getattr(obj, "data", obj))


def _view(trials, max_rows=20):
    return StatusView(trials, "Using FIFO scheduling algorithm.", "Resources requested: 1/4 CPUs", ["/tmp/exp"],
                      max_rows=max_rows, metric="loss", mode="min")


def _trials():
    evil = make_trial({"name": "<script>alert('x')</script>", "lr": 0.1}, experiment_tag="0_a&b")
    evil.custom_name = "<b>bold</b> ünïcode"
    evil.status = TrialStatus.TERMINATED
    evil.last_result = {"loss": 0.5, "training_iteration": 3, "time_total_s": 1.25}
    good = make_trial({"name": "plain", "lr": 0.2}, experiment_tag="1")
    good.status = TrialStatus.RUNNING
    good.last_result = {"loss": 0.25, "training_iteration": 2, "time_total_s": 1.0}
    return [evil, good]


def test_one_display_updated_in_place_with_everything_escaped():
    shows = FakeDisplay()
    printer = NotebookPrinter(verbose=1, interval=0.0, display=shows)
    trials = _trials()
    for _ in range(3):
        printer.table(_view(trials), force=True)
    assert len(shows.shown) == 1 and len(shows.updates) == 2
    html = shows.updates[-1]
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<b>bold</b>" not in html and "&lt;b&gt;bold&lt;/b&gt; ünïcode" in html
    assert html.count("<tr>") == 1 + 2  # header and a row a trial
    assert "0.25" in html and "RUNNING" in html and "\x1b[" not in html


def test_max_rows_and_the_summary_naming_the_best_trial():
    shows = FakeDisplay()
    printer = NotebookPrinter(verbose=1, interval=0.0, display=shows)
    trials = _trials()
    printer.table(_view(trials, max_rows=1), force=True)
    assert shows.shown[0].count("<tr>") == 2 and "1 more not shown" in shows.shown[0]
    printer.summary("Finished 2 trials\nBest trial: plain_1 with loss=0.25 & <more>")
    last = shows.updates[-1]
    assert "Best trial: plain_1 with loss=0.25 &amp; &lt;more&gt;" in last and "<table>" in last
    assert len(shows.shown) == 1


def test_verbose_zero_shows_only_the_summary():
    shows = FakeDisplay()
    printer = NotebookPrinter(verbose=0, interval=0.0, display=shows)
    printer.table(_view(_trials()), force=True)
    assert shows.shown == []
    printer.summary("Best trial: x")
    assert shows.shown == ["<pre>Best trial: x</pre>"]


def test_outside_a_kernel_the_printer_is_the_terminals():
    assert not in_notebook()
    assert type(default_printer(1)) is ProgressPrinter


NOTEBOOK_CELL = textwrap.dedent("""
    import ray, tunecore as tune
    ray.init(num_cpus=2, include_dashboard=False)
    def train(config):
        for i in range(4):
            tune.report({"loss": (config["x"] - 1) ** 2 + 1 / (i + 1)})
    grid = tune.Tuner(train, param_space={"x": tune.grid_search([0, 1, 3])},
                      tune_config=tune.TuneConfig(metric="loss", mode="min"),
                      run_config=tune.RunConfig(storage_path=STORAGE, verbose=1)).fit()
    ray.shutdown()
""")


def test_a_real_notebook_shows_one_html_table_and_names_the_best_trial(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell(f"STORAGE = {str(tmp_path)!r}\n" + NOTEBOOK_CELL))
    # the kernel is this interpreter's ipykernel, run in the test's folder
    client = nbclient.NotebookClient(nb, timeout=180, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    outputs = nb.cells[0].outputs
    html_outputs = [o for o in outputs if o.output_type == "display_data" and "text/html" in o.get("data", {})]
    assert len(html_outputs) == 1, [o.output_type for o in outputs]
    html = html_outputs[0]["data"]["text/html"]
    assert "<table>" in html and html.count("TERMINATED") >= 3
    assert re.search(r"Best trial: train_\d+_x=1 with loss=", html), html[-800:]
    texts = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "\x1b[" not in texts and "== Status ==" not in texts
