import pytest

from harness import catalog
from harness.registry import Registry, UnknownNameError


def test_duplicate_registration_rejected():
    registry = Registry("thing")
    registry.register("a", "json:dumps", "first")
    with pytest.raises(ValueError, match="already registered"):
        registry.register("a", "json:loads", "second")


def test_unknown_name_suggests_closest():
    with pytest.raises(UnknownNameError) as caught:
        catalog.ATTACKS.entry("deepwordbig")
    message = str(caught.value)
    assert "Did you mean 'deepwordbug'?" in message
    assert "pwws" in message


def test_lazy_entry_resolves_on_get():
    registry = Registry("thing")
    registry.register("dumps", "json:dumps", "JSON encoder")
    assert registry.get("dumps")([1]) == "[1]"


def test_every_variant_has_params_class():
    for name in catalog.VARIANTS.names():
        params = catalog.load_params_class(name)
        assert params.model_validate({}) is not None


def test_classification_supports_all_variants():
    supported = catalog.TASKS.entry("classification").meta("variants")
    assert set(supported) == set(catalog.VARIANTS.names())
