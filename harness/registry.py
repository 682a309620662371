"""Named registries for the extension points: tasks, variants, attacks and executors.

Entries are ``module:attribute`` strings resolved on first use, so listing a registry
imports neither torch nor TextAttack.
"""

from __future__ import annotations

import difflib
import importlib
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Entry:
    """One registered name: its description, where its object lives, and optional metadata."""

    name: str
    description: str
    target: str
    metadata: tuple[tuple[str, Any], ...] = ()

    def meta(self, key: str, default: Any = None) -> Any:
        return dict(self.metadata).get(key, default)


class UnknownNameError(KeyError):
    """A name that no entry of a registry has."""

    def __init__(self, kind: str, name: str, known: list[str]):
        self.kind = kind
        self.name = name
        self.known = known
        super().__init__(describe_unknown(kind, name, known))

    def __str__(self) -> str:
        return self.args[0]


def describe_unknown(kind: str, name: str, known: list[str]) -> str:
    """Build the message for an unknown name: the closest match and every known name."""
    close = difflib.get_close_matches(str(name), known, n=1, cutoff=0.5)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return f"unknown {kind} {name!r}.{hint} Known {kind}s: {', '.join(sorted(known))}."


class Registry(Generic[T]):
    """A mapping of names to lazily imported objects; duplicates raise ``ValueError``."""

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, Entry] = {}
        self._loaded: dict[str, T] = {}

    def register(self, name: str, target: str, description: str, **metadata: Any) -> None:
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} is already registered (target {self._entries[name].target})")
        if ":" not in target:
            raise ValueError(f"target {target!r} of {self.kind} {name!r} must have the form 'module:attribute'")
        self._entries[name] = Entry(name, description, target, tuple(sorted(metadata.items())))

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        # Suite values such as a list reach this check before validation, and are not names.
        return isinstance(name, str) and name in self._entries

    def entry(self, name: str) -> Entry:
        try:
            return self._entries[name]
        except KeyError:
            raise UnknownNameError(self.kind, name, self.names()) from None

    def entries(self) -> list[Entry]:
        return [self._entries[name] for name in self.names()]

    def get(self, name: str) -> T:
        """Import and return the object registered under ``name``."""
        if name not in self._loaded:
            entry = self.entry(name)
            module_name, attribute = entry.target.split(":", 1)
            module = importlib.import_module(module_name)
            self._loaded[name] = getattr(module, attribute)
        return self._loaded[name]
