"""Tokenizers: text <-> label ids for CTC and for sequence (BOS/EOS/PAD) decoders.

Unknown characters are never dropped silently: ``encode`` skips them and counts each one in
``Tokenizer.unknown_counts`` so that training tools can report what the charset could not hold.
"""
from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from ocr.text.charset import Charset

if TYPE_CHECKING:  # encoding (training) makes tensors; reading needs no PyTorch
    import torch


class _Base:
    specials: tuple[str, ...] = ()

    def __init__(self, charset: Charset):
        self.charset = charset
        self.itos = list(self.specials) + list(charset.chars)
        self.stoi = {c: i for i, c in enumerate(self.itos) if i >= len(self.specials)}
        self.unknown_counts: Counter = Counter()

    def __len__(self) -> int:
        return len(self.itos)

    def ids_of(self, text: str) -> list[int]:
        out = []
        for c in self.charset.normalize(text):
            i = self.stoi.get(c)
            if i is None:
                self.unknown_counts[c] += 1
            else:
                out.append(i)
        return out

    def text_of(self, ids) -> str:
        """The characters of ``ids``, special tokens left out."""
        n = len(self.specials)
        return "".join(self.itos[i] for i in ids if i >= n)


class CTCTokenizer(_Base):
    """Id 0 is the CTC blank; characters follow in charset order."""

    specials = ("<blank>",)
    blank = 0

    def encode(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Returns (targets (B, S) padded with 0, lengths (B,))."""
        import torch

        ids = [self.ids_of(t) for t in texts]
        lengths = torch.tensor([len(x) for x in ids], dtype=torch.long)
        targets = torch.zeros(len(ids), max([1, *(len(x) for x in ids)]), dtype=torch.long)
        for row, x in enumerate(ids):
            targets[row, : len(x)] = torch.tensor(x, dtype=torch.long)
        return targets, lengths

    def decode_greedy(self, ids: list[int]) -> str:
        """Collapse repeats, drop blanks."""
        out, prev = [], self.blank
        for i in ids:
            if i != prev and i != self.blank:
                out.append(i)
            prev = i
        return self.text_of(out)


class SeqTokenizer(_Base):
    """Sequence tokenizer: [EOS]=0, [BOS]=1, [PAD]=2, then the charset (PARSeq convention)."""

    specials = ("<eos>", "<bos>", "<pad>")
    eos, bos, pad = 0, 1, 2

    def encode(self, texts: list[str], max_length: int) -> torch.Tensor:
        """Returns (B, L+2) ids: BOS, characters, EOS, then PAD. A label longer than
        ``max_length`` characters is an error (never silently cut)."""
        import torch

        ids = [self.ids_of(t) for t in texts]
        for t, x in zip(texts, ids):
            if len(x) > max_length:
                raise ValueError(f"label {t!r} has {len(x)} characters, more than max_length {max_length}")
        width = max((len(x) for x in ids), default=0) + 2
        out = torch.full((len(ids), width), self.pad, dtype=torch.long)
        for row, x in enumerate(ids):
            out[row, : len(x) + 2] = torch.tensor([self.bos, *x, self.eos], dtype=torch.long)
        return out

    def decode(self, ids) -> str:
        """Characters up to the first EOS; BOS/PAD ignored."""
        chars = []
        for i in ids:
            if i == self.eos:
                break
            chars.append(int(i))
        return self.text_of(chars)
