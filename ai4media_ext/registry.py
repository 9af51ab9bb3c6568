"""Discover, load and build ai4media-ext plugins declared as entry points.

Every public class is declared in ``pyproject.toml`` under a group named
``ai4media_ext.<host>.<kind>``. Loading is lazy (a host is imported only when one of its
plugins is loaded) and each loaded class is checked against the host base class of its group,
so a config-driven pipeline can build any plugin from a ``(group, name, params)`` triple.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any

__all__ = [
    "GROUPS",
    "HostBase",
    "PluginInfo",
    "PluginNotFoundError",
    "ambiguous_names",
    "build",
    "build_from_config",
    "find",
    "groups",
    "load",
    "plugins",
]


@dataclass(frozen=True)
class HostBase:
    """The host base class every plugin of a group must subclass."""

    module: str
    qualname: str
    extra: str | None  # the ai4media-ext extra that installs the host

    @property
    def path(self) -> str:
        return f"{self.module}.{self.qualname}"

    def resolve(self) -> type:
        try:
            obj: Any = importlib.import_module(self.module)
        except ImportError as exc:
            hint = (
                f' Install it with: pip install "ai4media-ext[{self.extra}]"' if self.extra else ""
            )
            raise ImportError(
                f"host module {self.module!r} is not importable ({exc}).{hint}"
            ) from exc
        for part in self.qualname.split("."):
            obj = getattr(obj, part)
        return obj


GROUPS: dict[str, HostBase] = {
    "ai4media_ext.art.attacks": HostBase("art.attacks.attack", "Attack", "art"),
    "ai4media_ext.art.defences": HostBase("art.defences.trainer", "Trainer", "art"),
    "ai4media_ext.art.estimators": HostBase("art.estimators.estimator", "BaseEstimator", "art"),
    # ART has no generator-backdoor defence base class: detectors subclass ours
    "ai4media_ext.art.detectors": HostBase(
        "ai4media_ext.robustness.dgm.detector", "GeneratorBackdoorDetector", "art"
    ),
    # ART's metrics are functions (no base class): robustness evaluations subclass ours
    "ai4media_ext.art.metrics": HostBase(
        "ai4media_ext.robustness.evaluation", "RobustnessEvaluation", "art"
    ),
    "ai4media_ext.diffprivlib.mechanisms": HostBase("diffprivlib.mechanisms", "DPMechanism", "dp"),
    "ai4media_ext.aif360.explainers": HostBase("aif360.explainers", "Explainer", "aif360"),
    "ai4media_ext.aif360.metrics": HostBase("aif360.metrics", "Metric", "aif360"),
    # AIF360 has no report base class (toolkit_conformance §3.2): reports subclass ours
    "ai4media_ext.aif360.reports": HostBase(
        "ai4media_ext.fairness.report", "FairnessReport", "aif360"
    ),
    "ai4media_ext.flwr.strategies": HostBase("flwr.serverapp.strategy", "Strategy", "fl"),
    "ai4media_ext.pyg.layers": HostBase("torch_geometric.nn.conv", "MessagePassing", "gnn"),
    "ai4media_ext.pyg.transforms": HostBase("torch_geometric.transforms", "BaseTransform", "gnn"),
    "ai4media_ext.captum.interpreters": HostBase("captum.concept", "ConceptInterpreter", "xai"),
    "ai4media_ext.shap.explainers": HostBase("shap", "Explainer", "xai"),
    "ai4media_ext.captum.attributions": HostBase("captum.attr", "Attribution", "xai"),
    # torch-geometric has no model base class: whole models are torch modules
    "ai4media_ext.pyg.models": HostBase("torch.nn", "Module", "gnn"),
    "ai4media_ext.experiments": HostBase("ai4media_ext.experiments", "Experiment", None),
}


class PluginNotFoundError(LookupError):
    """Raised for an unknown group or plugin name; the message lists what is available."""


@dataclass(frozen=True)
class PluginInfo:
    """One declared plugin, known without importing it."""

    name: str
    group: str
    value: str  # "package.module:Class"

    @property
    def module(self) -> str:
        return self.value.split(":", 1)[0]

    @property
    def host_base(self) -> str:
        return GROUPS[self.group].path


def groups() -> list[str]:
    """The entry-point groups this project defines."""
    return list(GROUPS)


def _entry_points(group: str) -> dict[str, EntryPoint]:
    # An environment can expose the same distribution twice (e.g. an editable install next to a
    # regular one); the first declaration of a name wins.
    found: dict[str, EntryPoint] = {}
    for ep in entry_points(group=group):
        found.setdefault(ep.name, ep)
    return found


def _check_group(group: str) -> None:
    if group not in GROUPS:
        raise PluginNotFoundError(
            f"unknown plugin group {group!r}; valid groups: {', '.join(sorted(GROUPS))}"
        )


def plugins(group: str | None = None) -> list[PluginInfo]:
    """All declared plugins (of one group, or of every group), sorted by group then name."""
    if group is not None:
        _check_group(group)
    selected = [group] if group is not None else list(GROUPS)
    return [
        PluginInfo(name, g, ep.value)
        for g in selected
        for name, ep in sorted(_entry_points(g).items())
    ]


def _split_qualified(name: str, group: str | None) -> tuple[str, str | None]:
    """``"group:name"`` -> (name, group); the group may omit the ``ai4media_ext.`` prefix."""
    if ":" not in name:
        return name, group
    prefix, name = name.rsplit(":", 1)
    qualified = prefix if prefix.startswith("ai4media_ext.") else f"ai4media_ext.{prefix}"
    if group is not None and group != qualified:
        raise PluginNotFoundError(f"{prefix}:{name} names group {qualified!r}, not {group!r}")
    return name, qualified


def find(name: str, group: str | None = None) -> PluginInfo:
    """Look a plugin up by name, in one group or across all groups.

    ``name`` may be qualified as ``group:name`` (``ai4media_ext.art.defences:hcp``, or without
    the ``ai4media_ext.`` prefix, ``art.defences:hcp``); a bare name must then be unique across
    groups.

    Raises
    ------
    PluginNotFoundError
        No such plugin (the message lists the available names), an unknown group, or a bare
        name registered in several groups (the message lists the ``group:name`` choices).
    """
    name, group = _split_qualified(name, group)
    if group is not None:
        _check_group(group)
    matches = [p for p in plugins(group) if p.name == name]
    if not matches:
        known = sorted({p.name for p in plugins(group)})
        where = f"group {group!r}" if group else "any group"
        raise PluginNotFoundError(
            f"no plugin named {name!r} in {where}; available: {', '.join(known) or '(none)'}"
        )
    if len(matches) > 1:
        raise PluginNotFoundError(
            f"plugin name {name!r} is ambiguous; give one of: "
            f"{', '.join(f'{p.group}:{p.name}' for p in matches)}"
        )
    return matches[0]


def ambiguous_names() -> dict[str, list[str]]:
    """Names registered in more than one group -> their ``group:name`` spellings."""
    seen: dict[str, list[str]] = {}
    for p in plugins():
        seen.setdefault(p.name, []).append(f"{p.group}:{p.name}")
    return {k: v for k, v in seen.items() if len(v) > 1}


def load(group: str, name: str) -> type:
    """Import the class registered as ``name`` in ``group`` and check it subclasses the host base.

    Raises
    ------
    PluginNotFoundError
        Unknown group or name (the message lists the valid ones).
    ImportError
        The plugin's host toolkit is not installed (the message names the extra to install).
    TypeError
        The registered object is not a subclass of the group's host base class.
    """
    _check_group(group)
    eps = _entry_points(group)
    if name not in eps:
        raise PluginNotFoundError(
            f"no plugin named {name!r} in group {group!r}; available: "
            f"{', '.join(sorted(eps)) or '(none)'}"
        )
    obj = eps[name].load()
    base = GROUPS[group].resolve()
    if not (isinstance(obj, type) and issubclass(obj, base)):
        raise TypeError(
            f"plugin {name!r} of group {group!r} ({eps[name].value}) is not a subclass of "
            f"{GROUPS[group].path}"
        )
    return obj


def build(group: str, name: str, params: Mapping[str, Any] | None = None) -> Any:
    """Instantiate the plugin ``name`` of ``group`` with keyword ``params``."""
    cls = load(group, name)
    return cls(**dict(params or {}))


def build_from_config(config: Mapping[str, Any]) -> Any:
    """Build a plugin from a mapping ``{"group": ..., "name": ..., "params": {...}}``."""
    missing = {"group", "name"} - set(config)
    if missing:
        raise ValueError(f"plugin config is missing key(s) {sorted(missing)}; got {sorted(config)}")
    unknown = set(config) - {"group", "name", "params"}
    if unknown:
        raise ValueError(f"plugin config has unknown key(s) {sorted(unknown)}")
    params = config.get("params") or {}
    if not isinstance(params, Mapping):
        raise TypeError(f"plugin config 'params' must be a mapping, got {type(params).__name__}")
    return build(config["group"], config["name"], params)
