"""Data types shared by tasks, training and attacks."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LabeledTexts:
    """Texts with integer labels that index ``label_names``."""

    texts: tuple[str, ...]
    labels: tuple[int, ...]
    label_names: tuple[str, ...]

    def __post_init__(self) -> None:
        if len(self.texts) != len(self.labels):
            raise ValueError(f"{len(self.texts)} texts but {len(self.labels)} labels")

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, indices: list[int]) -> "LabeledTexts":
        return LabeledTexts(
            tuple(self.texts[i] for i in indices),
            tuple(self.labels[i] for i in indices),
            self.label_names,
        )


@dataclass(frozen=True)
class Splits:
    """The train, dev and test parts of one data set."""

    train: LabeledTexts
    dev: LabeledTexts
    test: LabeledTexts
