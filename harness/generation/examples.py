"""Source/target text pairs, the data type of every generation task."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TextPairs:
    """Source texts with their reference targets, and the group each pair belongs to.

    A group is the unit that a split keeps together (a Bible book, a news article, a
    conversation), so no test pair shares its group with a training pair. ``origins`` name
    where each pair came from (``file:line``, or a verse reference), for error messages.
    """

    sources: tuple[str, ...]
    targets: tuple[str, ...]
    groups: tuple[str, ...]
    origins: tuple[str, ...]

    def __post_init__(self) -> None:
        sizes = {len(self.sources), len(self.targets), len(self.groups), len(self.origins)}
        if len(sizes) != 1:
            raise ValueError(f"text pairs of unequal lengths: {len(self.sources)} sources, {len(self.targets)} targets, "
                             f"{len(self.groups)} groups, {len(self.origins)} origins")

    def __len__(self) -> int:
        return len(self.sources)

    def subset(self, indices: list[int]) -> "TextPairs":
        return TextPairs(
            tuple(self.sources[i] for i in indices),
            tuple(self.targets[i] for i in indices),
            tuple(self.groups[i] for i in indices),
            tuple(self.origins[i] for i in indices),
        )
