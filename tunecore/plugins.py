"""Plugin discovery (stevedore) and the named registries the hooks fill (pluggy)."""

from __future__ import annotations

import importlib.metadata as md
import threading
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Optional

import pluggy

from tunecore import hookspecs, settings
from tunecore._logging import get_logger
from tunecore.errors import PluginError, TuneError

log = get_logger(__name__)

ENTRY_POINT_GROUP = "tunecore.plugins"
KINDS = ("schedulers", "searchers", "loggers", "syncers", "callbacks")
_SINGULAR = {"schedulers": "scheduler", "searchers": "searcher", "loggers": "logger", "syncers": "syncer",
             "callbacks": "callback"}

#: First-party names and the distribution that provides them, for "pip install" hints.
FIRST_PARTY = {
    "schedulers": {
        "hyperband": "tune-hyperband",
        "async_hyperband": "tune-hyperband",
        "asha": "tune-hyperband",
        "pbt": "tune-pbt",
    },
    "searchers": {"optuna": "tune-optuna"},
    "loggers": {"csv": "tune-loggers", "tensorboard": "tune-loggers"},
    "syncers": {"s3": "tune-loggers"},
}

BUILTIN = "tunecore"


@dataclass
class PluginRecord:
    """One row of ``tune plugins list --json``."""

    name: str
    version: Optional[str]
    status: str  # ok | builtin | disabled | failed | invalid | incompatible
    entry_point: Optional[str]
    hooks: list = field(default_factory=list)
    provides: dict = field(default_factory=dict)
    error: Optional[str] = None

    def to_json(self) -> dict:
        return asdict(self)


class Registry:
    """Named factories of one kind (schedulers, searchers, loggers or syncers)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._factories: dict[str, Any] = {}
        self._owners: dict[str, str] = {}

    def add(self, name: str, factory: Any, owner: str) -> None:
        if not isinstance(name, str) or not name:
            raise PluginError(
                f"plugin {owner!r}: tunecore_register_{self.kind} registered a name that is not a "
                f"non-empty string: {name!r}"
            )
        if not callable(factory):
            raise PluginError(
                f"plugin {owner!r}: tunecore_register_{self.kind} registered {name!r} with "
                f"{factory!r}, which is not callable; register a class or a factory function"
            )
        if name in self._factories and self._owners[name] != owner:
            raise PluginError(
                f"{_SINGULAR[self.kind]} {name!r} is registered twice: by plugin "
                f"{self._owners[name]!r} and by plugin {owner!r}. Uninstall one of them or "
                "block one with TUNECORE_DISABLE_PLUGINS."
            )
        self._factories[name] = factory
        self._owners[name] = owner

    def remove_owner(self, owner: str) -> None:
        for name in [n for n, o in self._owners.items() if o == owner]:
            del self._factories[name]
            del self._owners[name]

    def names(self) -> list[str]:
        return sorted(self._factories)

    def owner(self, name: str) -> str:
        return self._owners[name]

    def __contains__(self, name: str) -> bool:
        return name in self._factories

    def items(self):
        return sorted(self._factories.items())

    def get(self, name: str) -> Any:
        """The factory registered as ``name``; an unknown name says what exists."""
        try:
            return self._factories[name]
        except KeyError:
            raise TuneError(self.unknown_message(name)) from None

    def unknown_message(self, name: str) -> str:
        singular = _SINGULAR[self.kind]
        msg = f"Unknown {singular} {name!r}. Available: {', '.join(self.names()) or '(none)'}."
        dist = FIRST_PARTY.get(self.kind, {}).get(name)
        if dist:
            msg += f" {name!r} is provided by the distribution {dist!r}: pip install {dist}"
        return msg

    def create(self, spec: Any, **defaults: Any) -> Any:
        """Build a component from a name, ``{"name": ..., **kwargs}``, a class or an instance."""
        if isinstance(spec, str):
            return self.get(spec)(**defaults)
        if isinstance(spec, dict):
            if "name" not in spec:
                raise TuneError(
                    f"A {_SINGULAR[self.kind]} given as a dict needs a 'name' key, e.g. "
                    f'{{"name": "{(self.names() or ["fifo"])[0]}"}}; got {spec!r}.'
                )
            kwargs = {k: v for k, v in spec.items() if k != "name"}
            factory = self.get(spec["name"])
            try:
                return factory(**{**defaults, **kwargs})
            except TypeError as exc:
                raise TuneError(f"Bad arguments for {_SINGULAR[self.kind]} {spec['name']!r}: {exc}") from None
        if isinstance(spec, type):
            return spec(**defaults)
        return spec


class PluginManager:
    """The loaded plugins and the registries they filled."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager("tunecore")
        self.pm.add_hookspecs(hookspecs)
        self.registries = {kind: Registry(kind) for kind in KINDS}
        self.records: list[PluginRecord] = []
        self._current: Optional[str] = None
        self._provided: dict[str, dict[str, list]] = {}
        for kind in KINDS:
            getattr(self.pm.hook, f"tunecore_register_{kind}").call_historic(
                kwargs={"register": self._registrar(kind)}
            )

    # registries as attributes: pm.schedulers.get("fifo")
    @property
    def schedulers(self) -> Registry:
        return self.registries["schedulers"]

    @property
    def searchers(self) -> Registry:
        return self.registries["searchers"]

    @property
    def loggers(self) -> Registry:
        return self.registries["loggers"]

    @property
    def syncers(self) -> Registry:
        return self.registries["syncers"]

    @property
    def callbacks(self) -> Registry:
        return self.registries["callbacks"]

    def _registrar(self, kind: str) -> Callable[[str, Any], None]:
        def register(name: str, factory: Any) -> None:
            owner = self._current or "<unknown>"
            self.registries[kind].add(name, factory, owner)
            self._provided.setdefault(owner, {}).setdefault(kind, []).append(name)

        return register

    def add_plugin(self, module: Any, name: str, *, version: Optional[str] = None,
                   entry_point: Optional[str] = None, status: str = "ok") -> PluginRecord:
        """Register one plugin module; a failure is recorded, its registrations undone."""
        record = PluginRecord(name, version, status, entry_point)
        self._current = name
        try:
            self.pm.register(module, name=name)
        except pluggy.PluginValidationError as exc:
            self._undo(name)
            record.status, record.error = "invalid", f"fails pluggy's validation: {_one_line(exc)}"
        except Exception as exc:  # a plugin's hook raised while registering
            self._undo(name)
            record.status, record.error = "failed", f"{type(exc).__name__}: {_one_line(exc)}"
        finally:
            self._current = None
        if record.status in ("ok", "builtin"):
            record.hooks = sorted(  # hook names, whatever the plugin named its functions
                caller.name for caller in self.pm.get_hookcallers(module) or []
            )
            record.provides = {k: sorted(v) for k, v in self._provided.get(name, {}).items()}
        self.records.append(record)
        return record

    def _undo(self, name: str) -> None:
        for reg in self.registries.values():
            reg.remove_owner(name)
        self._provided.pop(name, None)
        plugin = self.pm.get_plugin(name)
        if plugin is not None:
            self.pm.unregister(plugin)

    def register_commands(self, cli: Any) -> None:
        """Run ``tunecore_register_commands`` for every loaded plugin (CLI only)."""
        for impl in self.pm.hook.tunecore_register_commands.get_hookimpls():
            try:
                impl.function(cli=cli)
            except Exception as exc:  # never let one plugin break the CLI
                log.warning("plugin %r failed in tunecore_register_commands: %s: %s",
                            impl.plugin_name, type(exc).__name__, exc)


def _one_line(exc: BaseException) -> str:
    """An error message on one line (pluggy's put one fact per line), for tables and logs."""
    return "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())


def _name_list(var: str) -> Optional[set]:
    return settings.names(var)


def _incompatibility(dist_name: str) -> Optional[str]:
    """Why the distribution's ``tunecore`` requirement rejects the installed tunecore."""
    from packaging.requirements import Requirement

    from tunecore import __version__

    try:
        requires = md.requires(dist_name) or []
    except md.PackageNotFoundError:
        return None
    for line in requires:
        req = Requirement(line)
        if req.name.lower() == "tunecore" and req.specifier and not req.specifier.contains(
            __version__, prereleases=True
        ):
            return (f"requires tunecore{req.specifier} but tunecore {__version__} is installed; "
                    f"install a version of {dist_name} made for tunecore {__version__}")
    return None


def discover(strict: Optional[bool] = None) -> PluginManager:
    """Load the core defaults and every installed plugin, each failure isolated.

    Args:
        strict: raise :class:`PluginError` on the first broken plugin instead of
            reporting it; defaults to ``TUNECORE_STRICT_PLUGINS=1``.
    """
    from stevedore import NamedExtensionManager

    from tunecore import __version__, _builtins

    if strict is None:
        strict = settings.flag("TUNECORE_STRICT_PLUGINS")
    manager = PluginManager()
    manager.add_plugin(_builtins, BUILTIN, version=__version__, entry_point="tunecore._builtins",
                       status="builtin")

    allow, block = _name_list("TUNECORE_LOAD_PLUGINS"), _name_list("TUNECORE_DISABLE_PLUGINS")
    eps = sorted(md.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name)
    seen: set = set()
    wanted: list = []
    for ep in eps:
        if ep.name in seen:
            continue
        seen.add(ep.name)
        dist = ep.dist
        version = dist.version if dist is not None else None
        if (allow is not None and ep.name not in allow) or (block and ep.name in block):
            why = "blocked by TUNECORE_DISABLE_PLUGINS" if block and ep.name in block else \
                "not in TUNECORE_LOAD_PLUGINS"
            manager.records.append(PluginRecord(ep.name, version, "disabled", ep.value, error=why))
            continue
        problem = _incompatibility(dist.metadata["Name"] if dist is not None else ep.name)
        if problem:
            manager.records.append(PluginRecord(ep.name, version, "incompatible", ep.value, error=problem))
            continue
        wanted.append(ep)

    failures: dict[str, str] = {}

    def on_failure(_mgr: Any, ep: Any, exc: BaseException) -> None:
        failures[ep.name] = f"import failed: {type(exc).__name__}: {_one_line(exc)}"

    class _Extensions(NamedExtensionManager):
        # Load exactly the entry points found above: stevedore's own entry-point caches
        # (per process and on disk) miss distributions installed after the first look.
        def list_entry_points(self) -> list:
            return wanted

    loaded = {}
    if wanted:
        ext_mgr = _Extensions(
            ENTRY_POINT_GROUP, names=[ep.name for ep in wanted], name_order=True,
            on_load_failure_callback=on_failure, on_missing_entrypoints_callback=lambda names: None,
        )
        loaded = {ext.name: ext.plugin for ext in ext_mgr.extensions}
    for ep in wanted:
        version = ep.dist.version if ep.dist is not None else None
        if ep.name in loaded:
            manager.add_plugin(loaded[ep.name], ep.name, version=version, entry_point=ep.value)
        else:
            manager.records.append(PluginRecord(
                ep.name, version, "failed", ep.value,
                error=failures.get(ep.name, "import failed: the entry point did not load")))

    for rec in manager.records:
        if rec.status in ("failed", "invalid", "incompatible"):
            fix = (f"Fix or uninstall it (pip uninstall {rec.name}), or block it with "
                   f"TUNECORE_DISABLE_PLUGINS={rec.name}.")
            if strict:
                raise PluginError(f"plugin {rec.name!r} ({rec.entry_point}) is broken ({rec.status}): "
                                  f"{rec.error}. {fix} TUNECORE_STRICT_PLUGINS is set, so this is an "
                                  "error; unset it to skip broken plugins with a warning.")
            log.warning("plugin %r (%s) was skipped: %s. %s", rec.name, rec.entry_point, rec.error, fix)
    return manager


_lock = threading.Lock()
_manager: Optional[PluginManager] = None


def get_plugin_manager() -> PluginManager:
    """The process's plugin manager, discovered on first use."""
    global _manager
    with _lock:
        if _manager is None:
            _manager = discover()
        return _manager


def reset_plugin_manager() -> None:
    """Forget the discovered plugins (tests, or after installing one)."""
    global _manager
    with _lock:
        _manager = None
