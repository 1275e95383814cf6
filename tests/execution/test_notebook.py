"""The notebook printer: one HTML display updated in place, escaped; a real Jupyter kernel run."""

from __future__ import annotations

import re
import sys
import textwrap
import time
import types

import pytest

from tunecore.execution.notebook import NotebookPrinter, default_printer, in_notebook, status_html
from tunecore.execution.status import ProgressPrinter, StatusView, summary_text
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
                      max_rows=max_rows, driver_host="here", metric="loss", mode="min")


def _trials():
    evil = make_trial({"name": "<script>alert('x')</script>", "opt": {"lr": 0.1}}, experiment_tag="0_a&b")
    evil.custom_name = "<b>bold</b> ünïcode"
    evil.status = TrialStatus.TERMINATED
    evil.last_result = {"loss": 0.5, "training_iteration": 3, "time_total_s": 1.25}
    good = make_trial({"name": "plain & simple", "opt": {"lr": 0.2}}, experiment_tag="1")
    good.status = TrialStatus.RUNNING
    good.location = ("elsewhere", 4242)
    good.last_result = {"loss": 0.25, "training_iteration": 2, "time_total_s": 1.0}
    return [evil, good]


def _row_names(markup):
    return re.findall(r"<tr><td>(.*?)</td>", markup)


def test_one_display_updated_in_place_with_everything_escaped():
    shows = FakeDisplay()
    printer = NotebookPrinter(verbose=1, interval=0.0, display=shows)
    trials = _trials()
    for _ in range(3):
        printer.table(_view(trials), force=True)
    assert len(shows.shown) == 1 and len(shows.updates) == 2
    markup = shows.updates[-1]
    assert "<script>" not in markup and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in markup
    assert "<b>bold</b>" not in markup and "&lt;b&gt;bold&lt;/b&gt; ünïcode" in markup
    assert "plain &amp; simple" in markup
    assert markup.count("<tr>") == 1 + 2  # header and a row a trial
    # the searched values, flattened; the location of the running trial; the run's metric
    assert "<th>opt/lr</th>" in markup and "<td>0.2</td>" in markup and "<td>elsewhere pid 4242</td>" in markup
    assert "<th>loss</th>" in markup and "<td>0.25</td>" in markup and "RUNNING: 1, TERMINATED: 1" in markup
    assert "\x1b[" not in markup


def test_a_table_is_drawn_only_when_due_and_its_markup_made_only_then():
    shows = FakeDisplay()
    printer = NotebookPrinter(verbose=2, interval=3600.0, display=shows)
    printer.table(_view(_trials()))
    printer.table(_view(_trials()))  # not due: no update
    printer.table(_view(_trials()), force=True)
    assert len(shows.shown) == 1 and len(shows.updates) == 1


def test_a_text_table_after_a_view_is_that_text_not_the_old_view():
    shows = FakeDisplay()
    printer = NotebookPrinter(verbose=1, interval=0.0, display=shows)
    printer.table(_view(_trials()), force=True)
    printer.table(lambda: "== Status ==\n<raw> & text", force=True)
    assert shows.updates == ["<pre>== Status ==\n&lt;raw&gt; &amp; text</pre>"]


def test_max_rows_shows_the_rows_the_text_table_shows():
    trials = []
    for i in range(7):
        t = make_trial({"x": i}, experiment_tag=str(i))
        t.status = TrialStatus.TERMINATED if i < 5 else TrialStatus.RUNNING
        trials.append(t)
    for max_rows in (None, 0, 1, 2, 3, 5, 20):
        view = _view(trials, max_rows)
        text_names = re.findall(r"^ - (\S+):", view(), flags=re.M)
        markup = status_html(view)
        assert _row_names(markup) == text_names, max_rows
        assert re.findall(r"\.\.\. (\d+) more", markup) == re.findall(r"\.\.\. (\d+) more", view())
    # a long run's running trials are not hidden behind its finished ones
    assert "RUNNING" in "".join(re.findall(r"<tr><td>.*?</tr>", status_html(_view(trials, 2))))


def test_the_summary_updates_the_table_and_names_the_best_trial():
    shows = FakeDisplay()
    printer = NotebookPrinter(verbose=1, interval=0.0, display=shows)
    trials = _trials()
    printer.table(_view(trials), force=True)
    text = summary_text(trials, "loss", "min")
    assert "Best trial: " + str(trials[1]) in text
    printer.summary(text)
    assert len(shows.shown) == 1 and len(shows.updates) == 1
    last = shows.updates[-1]
    assert last.index("<table>") < last.index("Best trial: ") and "<pre" in last
    assert re.search(r"Best trial: [^\n]*with loss=0\.25 \(min\)", last)
    assert "plain &amp; simple" in last and '"plain & simple"' not in last  # the summary's config, escaped


def test_verbose_zero_shows_only_the_summary():
    shows = FakeDisplay()
    printer = NotebookPrinter(verbose=0, interval=0.0, display=shows)
    printer.table(_view(_trials()), force=True)
    printer.result(_trials()[0], {"loss": 1.0})
    assert shows.shown == []
    printer.summary("Best trial: <x>")
    assert shows.shown == ['<pre class="tunecore-summary">Best trial: &lt;x&gt;</pre>'] and shows.updates == []


def test_results_are_not_dumped_into_the_cell(capsys):
    printer = NotebookPrinter(verbose=3, interval=0.0, display=FakeDisplay())
    printer.result(_trials()[0], {"loss": 1.0, "done": True})
    assert capsys.readouterr().out == ""


def test_outside_a_kernel_the_printer_is_the_terminals():
    assert not in_notebook()
    assert type(default_printer(1)) is ProgressPrinter


class ZMQInteractiveShell:
    kernel = object()


class TerminalInteractiveShell:
    pass


@pytest.mark.parametrize("shell, expected", [(ZMQInteractiveShell(), True), (TerminalInteractiveShell(), False),
                                             (None, False)])
def test_in_notebook_asks_the_running_shell(monkeypatch, shell, expected):
    fake = types.ModuleType("IPython")
    fake.get_ipython = lambda: shell
    monkeypatch.setitem(sys.modules, "IPython", fake)
    assert in_notebook() is expected
    assert isinstance(default_printer(1), NotebookPrinter) is expected


def test_without_ipython_imported_nothing_imports_it(monkeypatch):
    monkeypatch.delitem(sys.modules, "IPython", raising=False)
    assert not in_notebook()
    assert "IPython" not in sys.modules


# -- a real kernel -------------------------------------------------------------------------
# No printer is passed: the run picks default_printer (lifecycle.ExperimentRun), which must
# see the kernel. verbose=2 would also dump every result on a terminal.
NOTEBOOK_CELL = textwrap.dedent("""
    import ray, tunecore as tune
    ray.init(num_cpus=1, include_dashboard=False)
    def train(config):
        for i in range(4):
            tune.report({"loss": (config["x"] - 1) ** 2 + 1 / (i + 1)})
    try:
        grid = tune.Tuner(train, param_space={"x": tune.grid_search([0, 1, 3])},
                          tune_config=tune.TuneConfig(metric="loss", mode="min"),
                          run_config=tune.RunConfig(storage_path=STORAGE, verbose=2)).fit()
    finally:
        ray.shutdown()
    print("best", grid.get_best_result().config)
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
    messages: list[dict] = []
    process_message = client.process_message

    def record(msg, cell, cell_index):  # nbclient applies updates to the stored output and drops
        messages.append(msg)            # the display id; the messages show both
        return process_message(msg, cell, cell_index)

    client.process_message = record
    started = time.monotonic()
    client.execute()
    took = time.monotonic() - started
    outputs = nb.cells[0].outputs
    kinds = [o.output_type for o in outputs]
    html_outputs = [o for o in outputs if o.output_type == "display_data" and "text/html" in o.get("data", {})]
    assert len(html_outputs) == 1 and "error" not in kinds, kinds
    markup = html_outputs[0]["data"]["text/html"]
    assert "<table>" in markup and markup.count("<td>TERMINATED</td>") == 3 and "TERMINATED: 3" in markup
    assert re.search(r"Best trial: train_\d+_x=1 with loss=0\.25 \(min\)", markup), markup[-800:]

    shows = [m for m in messages if m["msg_type"] == "display_data"]
    updates = [m for m in messages if m["msg_type"] == "update_display_data"]
    assert len(shows) == 1 and updates, [m["msg_type"] for m in messages]
    display_id = shows[0]["content"]["transient"]["display_id"]
    assert all(m["content"]["transient"]["display_id"] == display_id for m in updates)
    assert updates[-1]["content"]["data"]["text/html"] == markup  # the last update is what is kept

    stream = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "\x1b[" not in stream and "\x1b[" not in markup
    assert "== Status ==" not in stream and "Result for" not in stream
    assert "best {'x': 1}" in stream
    print(f"notebook run: {took:.1f} s, {len(updates)} updates of one display")
