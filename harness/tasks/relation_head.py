"""The training head of relation extraction: sequence classification, plus the attack constraint for A2T."""

from __future__ import annotations

from typing import Any

from harness.training.heads import SequenceClassificationHead


class RelationHead(SequenceClassificationHead):
    """The sequence-classification head, plus the attack constraint that A2T training must apply."""

    def attack_constraints(self) -> list[Any]:
        """Return the TextAttack pre-transformation constraints that keep both mentions unchanged."""
        from harness.attacks.protected_spans import EntityMentionsUnchanged

        return [EntityMentionsUnchanged()]


RELATION_HEAD = RelationHead()
