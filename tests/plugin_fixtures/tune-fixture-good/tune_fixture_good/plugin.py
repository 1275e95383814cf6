"""A working plugin: a scheduler that stops every trial at an iteration, and a command."""

import tunecore
from tunecore.schedulers import TrialScheduler


class StopAtIteration(TrialScheduler):
    """STOP each trial once its ``training_iteration`` reaches ``max_iter``."""

    def __init__(self, max_iter: int = 2) -> None:
        if max_iter < 1:
            raise tunecore.TuneError(f"max_iter must be >= 1, but got max_iter={max_iter}")
        self.max_iter = max_iter

    def on_trial_result(self, runner, trial, result):
        if result.get("training_iteration", 0) >= self.max_iter:
            return self.STOP
        return self.CONTINUE

    def debug_string(self) -> str:
        return f"Using StopAtIteration(max_iter={self.max_iter})."


@tunecore.hookimpl
def tunecore_register_schedulers(register):
    register("fixture_stop_at", StopAtIteration)


def _hello(args) -> int:
    print(f"hello from tune-fixture-good, name={args.name}")
    return 0


@tunecore.hookimpl
def tunecore_register_commands(cli):
    cli.register("fixture-hello", _hello, help="say hello (test fixture)",
                 configure=lambda parser: parser.add_argument("--name", default="world"))
