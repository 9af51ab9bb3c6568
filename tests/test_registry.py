from importlib.metadata import EntryPoint

import pytest
from diffprivlib.mechanisms import DPMechanism

from ai4media_ext import registry
from ai4media_ext._compat import require
from ai4media_ext.experiments import Experiment

MECHS = "ai4media_ext.diffprivlib.mechanisms"


def test_groups_are_namespaced_by_host():
    assert all(g.startswith("ai4media_ext.") for g in registry.groups())
    assert MECHS in registry.groups()


def test_plugins_lists_declared_entry_points():
    names = {(p.group, p.name) for p in registry.plugins()}
    assert (MECHS, "secure_laplace") in names
    assert (MECHS, "multi_bit") in names
    assert (MECHS, "generalized_randomized_response") in names
    assert ("ai4media_ext.experiments", "dp-naive-bayes") in names
    assert ("ai4media_ext.experiments", "dp-float-attack") in names


@pytest.mark.parametrize("info", registry.plugins(), ids=lambda p: f"{p.group}:{p.name}")
def test_every_plugin_loads_and_subclasses_its_host_base(info):
    cls = registry.load(info.group, info.name)
    assert issubclass(cls, registry.GROUPS[info.group].resolve())


def test_loaded_mechanism_is_a_diffprivlib_mechanism():
    cls = registry.load(MECHS, "secure_laplace")
    assert issubclass(cls, DPMechanism)
    assert issubclass(registry.load("ai4media_ext.experiments", "dp-naive-bayes"), Experiment)


def test_unknown_name_error_lists_available():
    with pytest.raises(registry.PluginNotFoundError, match="secure_laplace"):
        registry.load(MECHS, "no_such_mechanism")


def test_unknown_group_error_lists_groups():
    with pytest.raises(registry.PluginNotFoundError, match="valid groups"):
        registry.load("ai4media_ext.nope", "x")
    with pytest.raises(registry.PluginNotFoundError):
        registry.plugins("ai4media_ext.nope")


def test_find_across_groups():
    assert registry.find("secure_laplace").group == MECHS
    with pytest.raises(registry.PluginNotFoundError, match="no plugin named"):
        registry.find("nothing_like_this")


def test_non_subclass_is_rejected(monkeypatch):
    fake = EntryPoint(name="impostor", value="collections:OrderedDict", group=MECHS)
    monkeypatch.setattr(registry, "_entry_points", lambda group: {"impostor": fake})
    with pytest.raises(TypeError, match="not a subclass of diffprivlib.mechanisms.DPMechanism"):
        registry.load(MECHS, "impostor")


def test_build_from_config_triple():
    mech = registry.build_from_config(
        {"group": MECHS, "name": "secure_laplace", "params": {"epsilon": 0.5, "sensitivity": 2}}
    )
    assert (mech.epsilon, mech.sensitivity) == (0.5, 2.0)
    assert type(mech).__name__ == "SecureLaplace"


@pytest.mark.parametrize(
    "config, error",
    [
        ({"name": "secure_laplace"}, ValueError),
        ({"group": MECHS, "name": "secure_laplace", "extra": 1}, ValueError),
        ({"group": MECHS, "name": "secure_laplace", "params": [1]}, TypeError),
    ],
)
def test_build_from_config_rejects_bad_configs(config, error):
    with pytest.raises(error):
        registry.build_from_config(config)


def test_build_passes_validation_errors_through():
    with pytest.raises(ValueError, match="epsilon"):
        registry.build(MECHS, "secure_laplace", {"epsilon": -1, "sensitivity": 1})


def test_missing_host_names_the_extra():
    with pytest.raises(ImportError, match=r'pip install "ai4media-ext\[art\]"'):
        require("a_module_that_does_not_exist", "art")
