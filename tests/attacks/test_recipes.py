"""Every registered attack builds with the query budget applied."""

from __future__ import annotations

import pytest

from harness import catalog
from harness.attacks.recipes import _BUILDERS, build_attack
from harness.attacks.wrapper import DynamicPaddingWrapper
from harness.errors import RsbenchError
from harness.registry import UnknownNameError

CHEAP = ["deepwordbug", "pruthi", "pwws", "bad-characters-invisible", "bad-characters-reorder", "bad-characters-delete"]
GLOVE = ["textfooler-offline", "a2t-fast"]


def test_table_lists_every_recipe():
    recipes = [name for name in catalog.ATTACKS.names() if catalog.ATTACKS.entry(name).meta("task") is None]
    assert recipes == sorted(CHEAP + GLOVE + ["textfooler"])
    assert sorted(_BUILDERS) == recipes
    assert not catalog.ATTACKS.entry("textfooler").meta("offline")
    assert catalog.ATTACKS.entry("textfooler-offline").meta("approximation")


@pytest.mark.parametrize("name", CHEAP)
def test_recipe_builds(name, classifier, tokenizer):
    wrapper = DynamicPaddingWrapper(classifier, tokenizer, batch_size=16)
    attack = build_attack(name, wrapper, query_budget=37)
    assert attack.goal_function.query_budget == 37
    assert attack.goal_function.batch_size == 16
    assert type(attack.goal_function).__name__ == "UntargetedClassification"


@pytest.mark.slow
@pytest.mark.parametrize("name", GLOVE)
def test_glove_recipe_builds_and_attacks(name, classifier, tokenizer):
    wrapper = DynamicPaddingWrapper(classifier, tokenizer)
    attack = build_attack(name, wrapper, query_budget=30)
    result = attack.attack("a wonderful and moving film with great acting", 1)
    assert result.perturbed_result.num_queries <= 30


@pytest.mark.slow
@pytest.mark.parametrize("name", ["bad-characters-invisible", "bad-characters-delete"])
def test_bad_characters_stop_at_budget(name, classifier, tokenizer):
    wrapper = DynamicPaddingWrapper(classifier, tokenizer)
    attack = build_attack(name, wrapper, query_budget=15)
    result = attack.attack("a dull and lifeless mess with awful acting", 0)
    assert result.perturbed_result.num_queries <= 15


def test_stock_textfooler_offline_explains(classifier, tokenizer, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(RsbenchError, match="textfooler-offline"):
        build_attack("textfooler", DynamicPaddingWrapper(classifier, tokenizer), query_budget=10)


def test_unknown_attack_suggests_name(classifier, tokenizer):
    with pytest.raises(UnknownNameError, match="Did you mean 'deepwordbug'"):
        build_attack("deepwordbugs", DynamicPaddingWrapper(classifier, tokenizer), query_budget=10)
