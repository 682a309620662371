"""The registries of tasks, training variants, attacks and executors.

Entries name their implementation as ``module:attribute``, so this module imports
neither torch nor TextAttack. Metadata carried by entries:

- variants: ``params``, the pydantic class (``module:attribute``) of the hyperparameters;
- tasks: ``variants`` and ``attacks``, the variant kinds and attack names the task supports, and
  ``headline`` and ``headline_label``, the metric shown first on the leaderboard and its label;
- attacks: ``offline`` (runs without internet) and ``approximation`` (rebuilt with
  substitute resources, so its numbers are not comparable with the published recipe);
- executors: ``settings``, the fields of the suite's ``executor:`` section the executor uses.
"""

from __future__ import annotations

import importlib

from harness.registry import Registry

TASKS: Registry = Registry("task")
VARIANTS: Registry = Registry("variant")
ATTACKS: Registry = Registry("attack")
EXECUTORS: Registry = Registry("executor")

_ALL_VARIANTS = ("baseline", "adv", "adv-a2t", "kd", "reg", "rs")

_CLASSIFICATION_ATTACKS = ("deepwordbug", "pruthi", "pwws", "bad-characters-invisible", "bad-characters-reorder",
                           "bad-characters-delete", "textfooler-offline", "textfooler", "a2t-fast")

TASKS.register(
    "classification",
    "harness.tasks.classification:ClassificationTask",
    "Single-label text classification (sentiment, topic); accuracy and macro-F1.",
    variants=_ALL_VARIANTS,
    attacks=_CLASSIFICATION_ATTACKS,
    headline="accuracy",
    headline_label="accuracy",
)

# adv-a2t is left out: it trains on perturbed texts that keep their example's label, and the
# A2T attack it runs swaps words anywhere, entity words included, so the gold tags of a
# perturbed sentence would no longer hold.
TASKS.register(
    "ner",
    "harness.tasks.ner:NerTask",
    "Named-entity recognition (BIO tags per word); seqeval entity F1, strict IOB2.",
    variants=("baseline", "adv", "kd", "reg", "rs"),
    attacks=("deepwordbug", "pwws"),
    headline="entity_f1",
    headline_label="entity F1",
)
TASKS.register(
    "relation-extraction",
    "harness.tasks.relation_extraction:RelationExtractionTask",
    "Relation between two marked mentions (<e1>, <e2>), SemEval-2010 Task 8 style; accuracy and macro-F1 without Other.",
    variants=_ALL_VARIANTS,
    attacks=("deepwordbug", "pruthi", "pwws", "textfooler-offline", "textfooler", "a2t-fast"),
    headline="macro_f1_excl_other",
    headline_label="macro-F1 (excl. Other)",
)
# adv-a2t is left out: A2T's example generator keeps one label per text, and a span answer
# needs its context offsets carried through the attack, which it does not do.
TASKS.register(
    "extractive-qa",
    "harness.tasks.extractive_qa:ExtractiveQATask",
    "Extractive QA: the answer is a span of the context (SQuAD v1.1 files, generated news-cloze); exact match and F1.",
    variants=("baseline", "adv", "kd", "reg", "rs"),
    attacks=("deepwordbug", "pwws", "addsent"),
    headline="f1",
    headline_label="F1",
)

VARIANTS.register(
    "baseline", "harness.variants.baseline:build",
    "Standard fine-tuning: AdamW, linear warm-up and decay, dynamic padding.",
    params="harness.variants.params:BaselineParams",
)
VARIANTS.register(
    "adv", "harness.variants.adv:build",
    "Embedding-space adversarial training (FreeLB/PGD on the word embeddings).",
    params="harness.variants.params:AdvParams",
)
VARIANTS.register(
    "adv-a2t", "harness.variants.a2t:build",
    "Adversarial training on discrete examples from a cheap TextAttack attack (A2T).",
    params="harness.variants.params:A2TParams",
)
VARIANTS.register(
    "kd", "harness.variants.kd:build",
    "Knowledge distillation from a teacher model of the suite, or self-distillation.",
    params="harness.variants.params:KDParams",
)
VARIANTS.register(
    "reg", "harness.variants.reg:build",
    "Regularization: weight decay, dropout rates and an R-Drop consistency loss.",
    params="harness.variants.params:RegParams",
)
VARIANTS.register(
    "rs", "harness.variants.rs:build",
    "adv + kd + reg combined.",
    params="harness.variants.params:RSParams",
)

_GENERATION_ATTACKS = ("seq2seq-chars", "seq2seq-wordnet", "nonoverlap-wordnet")
# Generation tasks fine-tune a causal LM (``model_kind``). adv-a2t is left out: its training
# attack is a classification attack that keeps a label, and these tasks have no label.
for _name, _target, _description, _headline, _label in (
    ("translation", "TranslationTask", "Machine translation English → Spanish with a prompted causal LM; sacreBLEU and chrF.",
     "bleu", "BLEU"),
    ("summarization", "SummarizationTask", "Headline summarization of news articles with a prompted causal LM; ROUGE-1/2/L.",
     "rougeL", "ROUGE-L"),
    ("dialogue", "DialogueTask", "Next reply of a conversation with a prompted causal LM; BLEU, token F1, distinct-1/2.",
     "token_f1", "token F1"),
):
    TASKS.register(_name, f"harness.generation.task:{_target}", _description, variants=("baseline", "adv", "kd", "reg", "rs"),
                   attacks=_GENERATION_ATTACKS, headline=_headline, headline_label=_label, model_kind="causal-lm")

_RECIPES = "harness.attacks.recipes:build_attack"
ATTACKS.register("deepwordbug", _RECIPES, "DeepWordBug (Gao et al., 2018): greedy character edits of the most important words.", offline=True, approximation=False)
ATTACKS.register("pruthi", _RECIPES, "Pruthi et al. (2019): one typo-like character edit inside a word of 4+ letters.", offline=True, approximation=False)
ATTACKS.register("pwws", _RECIPES, "PWWS (Ren et al., 2019): WordNet synonym swaps ranked by probability-weighted word saliency.", offline=True, approximation=False)
ATTACKS.register("bad-characters-invisible", _RECIPES, "Bad Characters (Boucher et al., 2021): invisible Unicode characters, untargeted.", offline=True, approximation=False)
ATTACKS.register("bad-characters-reorder", _RECIPES, "Bad Characters (Boucher et al., 2021): Unicode reordering controls, untargeted.", offline=True, approximation=False)
ATTACKS.register("bad-characters-delete", _RECIPES, "Bad Characters (Boucher et al., 2021): characters followed by deletion controls, untargeted.", offline=True, approximation=False)
ATTACKS.register("textfooler-offline", _RECIPES, "TextFooler rebuilt offline: GloVe neighbours without antonyms, USE port, WordNet part of speech. Not comparable with the paper.", offline=True, approximation=True)
ATTACKS.register("textfooler", _RECIPES, "TextFooler (Jin et al., 2020), stock recipe: downloads counter-fitted vectors and TF-Hub USE.", offline=False, approximation=False)
ATTACKS.register("a2t-fast", _RECIPES, "A2T-shaped cheap attack (Yoo and Qi, 2021): GloVe swaps, deletion word importance, 10 candidates.", offline=True, approximation=True)
# Attacks that only one task type runs: ``task`` names it, and the task builds the attack itself.
ATTACKS.register(
    "addsent", "harness.tasks.qa_attacks:attack_addsent",
    "AddSent-style distractor (Jia and Liang, 2017) for extractive QA: appends a question-like sentence with another answer.",
    offline=True, approximation=True, task="extractive-qa",
)

_SEQ2SEQ = "harness.generation.attacks:attack_generation"
_GENERATION_TASKS = ("translation", "summarization", "dialogue")
ATTACKS.register("seq2seq-chars", _SEQ2SEQ, "Minimise BLEU against the clean output with DeepWordBug's character edits of the source words.",
                 offline=True, approximation=False, task=_GENERATION_TASKS)
ATTACKS.register("seq2seq-wordnet", _SEQ2SEQ, "Minimise BLEU against the clean output with WordNet synonym swaps of the source words.",
                 offline=True, approximation=False, task=_GENERATION_TASKS)
ATTACKS.register("nonoverlap-wordnet", _SEQ2SEQ, "Seq2Sick-style non-overlapping output (Cheng et al., 2020) with WordNet synonym swaps.",
                 offline=True, approximation=True, task=_GENERATION_TASKS)

EXECUTORS.register(
    "local", "harness.execution.local:LocalExecutor",
    "Runs units in dependency order, in this process or in worker processes on this machine.",
    settings=("workers", "threads_per_worker"),
)
EXECUTORS.register(
    "ray", "harness.execution.ray_executor:RayExecutor",
    "Submits each unit as a Ray task, with CPUs, GPUs and memory per unit kind; for clusters.",
    settings=("address", "storage", "resources"),
)


def load_params_class(variant_kind: str) -> type:
    """Import the pydantic hyperparameter class of a variant kind."""
    target = VARIANTS.entry(variant_kind).meta("params")
    module_name, attribute = target.split(":", 1)
    return getattr(importlib.import_module(module_name), attribute)
