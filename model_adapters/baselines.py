"""Baselines every leaderboard needs: chance, oracle and a constant answer.

They consume every stream (so they exercise decoding end to end) but look only at the choices
and, for the oracle, the references.
"""

from __future__ import annotations

import random
from typing import Any

from savbench.adapters import MODALITIES, Adapter, Request

YES_NO_REFERENCES = {"yes", "no"}


def _is_yes_no(request: Request) -> bool:
    refs = {r.strip().lower().rstrip(".") for r in request.sample.references}
    return not request.choices and bool(refs) and refs <= YES_NO_REFERENCES


class ChanceAdapter(Adapter):
    """Seeded uniform guessing: a random option letter for multiple choice, yes/no at random,
    and an empty string for free text. The draw depends on the run seed and the sample only."""

    name = "chance"
    modalities = MODALITIES
    description = "seeded uniform guess for multiple choice and yes/no; empty answer for free text"
    requirements = "none"
    max_batch_size = 1024

    def generate(self, requests: list[Request]) -> list[str]:
        outputs = []
        for request in requests:
            rng = random.Random(request.seed)
            if request.choices:
                outputs.append("ABCDEFGHIJKLMNOPQRSTUVWXYZ"[rng.randrange(len(request.choices))])
            elif _is_yes_no(request):
                outputs.append(rng.choice(["Yes", "No"]))
            else:
                outputs.append("")
        return outputs


class OracleAdapter(Adapter):
    """Answers with the first reference: proves that each metric reaches its best value."""

    name = "oracle"
    modalities = MODALITIES
    description = "answers with the first reference (upper bound of every metric)"
    requirements = "none"
    max_batch_size = 1024

    def generate(self, requests: list[Request]) -> list[str]:
        return [request.sample.references[0] for request in requests]


class ConstantAdapter(Adapter):
    """Always gives the same answer (``text=...``, default ``A``): a floor and a probe for
    answer-position bias."""

    name = "constant"
    modalities = MODALITIES
    description = "always answers the same text (model arg text=...)"
    requirements = "none"
    max_batch_size = 1024

    def __init__(self, text: str = "A", **unknown: Any) -> None:
        if unknown:
            raise ValueError(f"unknown argument(s) {sorted(unknown)}; constant takes text=...")
        self.text = text

    def fingerprint(self) -> dict[str, Any]:
        return {"adapter": self.name, "text": self.text}

    def generate(self, requests: list[Request]) -> list[str]:
        return [self.text for _ in requests]
