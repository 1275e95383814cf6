"""Running experiments: the lifecycle owner, the runner's event loop, executors, experiment state.

See ``docs/architecture.md`` for who owns what.
"""
