"""Tokenizers: the LLM's and the instruction tokenizer of InstructBLIP's Q-Former.

Real models use the Hugging Face tokenizers found next to the checkpoints (never downloaded).
The ``tiny`` preset uses character-level tokenizers built in code, so it needs no files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import torch

PRINTABLE = "\n" + "".join(chr(c) for c in range(32, 127))


class TextTokenizer(Protocol):
    """What the model needs from the LLM tokenizer."""

    bos_token_id: int
    eos_token_id: int
    pad_token_id: int

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` without special tokens."""
        ...

    def decode(self, ids: list[int]) -> str:
        """Text of ``ids`` with special tokens removed."""
        ...


@dataclass
class InstructionBatch:
    """Tokenized instructions for the Q-Former: ids and a padding mask, both (B, L)."""

    input_ids: torch.Tensor
    attention_mask: torch.Tensor


class InstructionTokenizer(Protocol):
    def __call__(self, texts: list[str], max_length: int) -> InstructionBatch:
        """Tokenize with [CLS]/[SEP], pad to the longest, truncate from the left."""
        ...


class CharTokenizer:
    """A character-level LLM tokenizer over printable ASCII (tiny preset).

    Ids 0, 1, 2 are ``<unk>``, ``<s>``, ``</s>``; then newline and the 95 printable characters.
    Other characters map to ``<unk>``. The pad id is the eos id, as the official code sets it.
    """

    unk_token_id = 0
    bos_token_id = 1
    eos_token_id = 2
    pad_token_id = 2

    def __init__(self) -> None:
        self._to_id = {ch: i + 3 for i, ch in enumerate(PRINTABLE)}
        self._to_ch = {i: ch for ch, i in self._to_id.items()}
        self.vocab_size = 3 + len(PRINTABLE)

    def encode(self, text: str) -> list[int]:
        return [self._to_id.get(ch, self.unk_token_id) for ch in text]

    def decode(self, ids: list[int]) -> str:
        return "".join(self._to_ch.get(int(i), "") for i in ids)


class CharInstructionTokenizer:
    """A character-level stand-in for bert-base-uncased (tiny preset): lower-cased printable
    ASCII with [PAD]=0, [UNK]=1, [CLS]=2, [SEP]=3, [DEC]=4."""

    pad_id, unk_id, cls_id, sep_id = 0, 1, 2, 3

    def __init__(self) -> None:
        self._to_id = {ch: i + 5 for i, ch in enumerate(PRINTABLE)}
        self.vocab_size = 5 + len(PRINTABLE)

    def __call__(self, texts: list[str], max_length: int) -> InstructionBatch:
        rows = []
        for text in texts:
            body = [self._to_id.get(ch, self.unk_id) for ch in text.lower()]
            body = body[-(max_length - 2) :] if max_length > 2 else []
            rows.append([self.cls_id, *body, self.sep_id])
        return _pad_rows(rows, self.pad_id)


def _pad_rows(rows: list[list[int]], pad_id: int) -> InstructionBatch:
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = torch.tensor(row, dtype=torch.long)
        mask[i, : len(row)] = 1
    return InstructionBatch(ids, mask)


class HFTextTokenizer:
    """Wraps a Hugging Face tokenizer loaded from a local folder (the LLM's).

    Args:
        path: Folder with the tokenizer files (Vicuna's).
    """

    def __init__(self, path: str) -> None:
        from transformers import AutoTokenizer

        try:
            self._tok = AutoTokenizer.from_pretrained(path, local_files_only=True)
        except Exception as exc:  # noqa: BLE001 - report any loader failure with the path
            raise ValueError(
                f"{path}: llm_path: could not load the tokenizer ({exc}); the folder needs "
                "tokenizer.json, or tokenizer.model with the sentencepiece package installed"
            ) from None
        self.bos_token_id = int(self._tok.bos_token_id if self._tok.bos_token_id is not None else 1)
        self.eos_token_id = int(self._tok.eos_token_id if self._tok.eos_token_id is not None else 2)
        # The official code pads with eos.
        self.pad_token_id = self.eos_token_id

    def encode(self, text: str) -> list[int]:
        return list(self._tok(text, add_special_tokens=False).input_ids)

    def decode(self, ids: list[int]) -> str:
        return self._tok.decode(ids, skip_special_tokens=True)


class HFInstructionTokenizer:
    """bert-base-uncased from a local folder or vocab.txt, with InstructBLIP's ``[DEC]`` token
    and left truncation.

    Args:
        path: Folder holding vocab.txt (e.g. a Hugging Face snapshot) or the vocab.txt file.
    """

    def __init__(self, path: str) -> None:
        from transformers import BertTokenizer

        target = Path(path)
        try:
            if target.is_dir():
                tok = BertTokenizer.from_pretrained(str(target), local_files_only=True)
            elif target.is_file():
                tok = BertTokenizer(vocab=str(target))
            else:
                raise FileNotFoundError("no such file or folder")
        except Exception as exc:  # noqa: BLE001 - report any loader failure with the path
            raise ValueError(f"{path}: bert_path: could not load the BERT tokenizer ({exc})") from None
        tok.truncation_side = "left"
        tok.add_special_tokens({"bos_token": "[DEC]"})
        self._tok = tok
        self.vocab_size = len(tok)

    def __call__(self, texts: list[str], max_length: int) -> InstructionBatch:
        enc = self._tok(texts, padding="longest", truncation=True, max_length=max_length, return_tensors="pt")
        return InstructionBatch(enc["input_ids"], enc["attention_mask"])
