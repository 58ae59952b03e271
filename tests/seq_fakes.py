"""Tiny autoregressive models of the sequence family for the contract tests (imported as
``seq_fakes``): a conv encoder whose columns are attended by position queries, and a decoder that
predicts each token from the previous one and its attended context. Registered so that checkpoints
of them load by name, like any model of the toolkit."""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from ocr.models.contract import GREEDY, DecodeOptions, FullPageModel, RecognitionModel, TextTargets
from ocr.models.recognition.seq_decode import beam_search, greedy_decode, lexicon_decode
from ocr.registry import MODELS, register_model
from ocr.text import SeqTokenizer, load_charset


@dataclass(frozen=True)
class TinySeqConfig:
    charset: str = "lower36"
    img_height: int = 32
    img_width: int = 128  # full page input width
    max_width: int = 256
    max_length: int = 8
    dim: int = 48


class ARCore(nn.Module):
    """Encoder (images -> column features + mask) and one-step-per-token decoder."""

    def __init__(self, c: TinySeqConfig, classes: int):
        super().__init__()
        self.enc = nn.Sequential(nn.Conv2d(3, c.dim, 3, 2, 1), nn.ReLU(), nn.Conv2d(c.dim, c.dim, 3, 2, 1), nn.ReLU())
        self.tok = nn.Embedding(classes, c.dim)
        self.pos = nn.Embedding(c.max_length + 2, c.dim)
        self.out = nn.Linear(2 * c.dim, classes)

    def encode(self, images, widths=None):
        mem = self.enc(images).mean(dim=2).transpose(1, 2)  # (B, T, D)
        frames = torch.arange(mem.shape[1])
        read = [mem.shape[1] if w is None else -(-int(w) // 4) for w in (widths or [None] * len(images))]
        return mem, frames[None, :] < torch.tensor(read)[:, None]  # (B, T) True = read

    def decode(self, mem, mask, tokens):
        """tokens (B, t) from BOS -> logits (B, t, C) for the token after each."""
        q = self.tok(tokens) + self.pos(torch.arange(tokens.shape[1]))[None]
        att = (q @ mem.transpose(1, 2)).masked_fill(~mask[:, None, :], float("-inf")).softmax(-1)
        return self.out(torch.cat([q, att @ mem], dim=-1))

    def generate(self, mem, mask, tok: SeqTokenizer, steps: int):
        tokens = torch.full((len(mem), 1), tok.bos, dtype=torch.long)
        for _ in range(steps):
            nxt = self.decode(mem, mask, tokens)[:, -1].argmax(-1, keepdim=True)
            tokens = torch.cat([tokens, nxt], dim=1)
        return self.decode(mem, mask, tokens[:, :-1])  # (B, steps, C)


def teacher_forced(core, tok, max_length, mem, mask, texts):
    ids = tok.encode(texts, max_length)
    return core.decode(mem, mask, ids[:, :-1]), ids


def run(model, images, widths, targets):
    """The forward of both fakes: teacher-forced logits while training, greedy ones otherwise."""
    mem, mask = model.core.encode(images, widths)
    if targets is not None:
        logits, ids = teacher_forced(model.core, model.tokenizer, model.config.max_length, mem, mask, targets.texts)
        return {"logits": logits, "ids": ids}
    return {"logits": model.core.generate(mem, mask, model.tokenizer, model.config.max_length + 1),
            "memory": mem, "mask": mask}


def sequence_loss(outputs, ids, tok):
    logits = outputs["logits"]
    return {"loss": F.cross_entropy(logits.float().flatten(0, 1), ids[:, 1:].flatten(), ignore_index=tok.pad)}


def decode_outputs(core, tok, max_length, outputs, options: DecodeOptions):
    """Greedy, beam or lexicon readings of each sample of ``outputs``."""
    greedy = greedy_decode(outputs["logits"].log_softmax(-1), tok)
    if not options.requested():
        return greedy
    out = []
    for b, (text, _) in enumerate(greedy):
        mem, mask = outputs["memory"][b:b + 1], outputs["mask"][b:b + 1]
        if options.lexicon:
            def score(word, mem=mem, mask=mask):
                logits, ids = teacher_forced(core, tok, max_length + 99, mem, mask, [word])
                return float(logits.log_softmax(-1)[0].gather(1, ids[0, 1:, None]).sum())
            out.append(lexicon_decode(text, score, list(options.lexicon)))
        else:
            step = lambda prefixes, mem=mem, mask=mask: core.decode(  # noqa: E731
                mem.expand(len(prefixes), -1, -1), mask.expand(len(prefixes), -1), prefixes)[:, -1].log_softmax(-1)
            out.append(beam_search(step, tok, max_length, options.beam))
    return out


class TinySeqRecognizer(RecognitionModel):
    decode_options = frozenset({"beam", "lexicon"})

    def __init__(self, config: TinySeqConfig):
        super().__init__()
        self.config, self.tokenizer = config, SeqTokenizer(load_charset(config.charset))
        self.core = ARCore(config, len(self.tokenizer))

    def forward(self, images, widths=None, targets: TextTargets | None = None):
        return run(self, images, widths, targets)

    def loss(self, outputs, targets: TextTargets) -> dict:
        return sequence_loss(outputs, outputs["ids"], self.tokenizer)

    def postprocess(self, outputs, widths=None, options: DecodeOptions = GREEDY):
        return decode_outputs(self.core, self.tokenizer, self.config.max_length, outputs, options)


class GreedyOnlySeqRecognizer(TinySeqRecognizer):
    decode_options = frozenset()


class TinyPageReader(FullPageModel):
    """The same tiny network reading a whole (small) page; lines separated by newlines."""

    def __init__(self, config: TinySeqConfig):
        super().__init__()
        self.config, self.tokenizer = config, SeqTokenizer(load_charset(config.charset))
        self.core = ARCore(config, len(self.tokenizer))

    def forward(self, images, targets: TextTargets | None = None):
        return run(self, images, None, targets)

    def loss(self, outputs, targets: TextTargets) -> dict:
        return sequence_loss(outputs, outputs["ids"], self.tokenizer)

    def postprocess(self, outputs, options: DecodeOptions = GREEDY):
        pages = decode_outputs(self.core, self.tokenizer, self.config.max_length, outputs, options)
        return [[(line, conf) for line in text.split("\n") if line] for text, conf in pages]


def _register():
    if "tiny_seq_test" in {e.name for e in MODELS.entries()}:
        return

    @register_model("recognition")
    def tiny_seq_test(**kw) -> TinySeqRecognizer:
        """Test-only autoregressive recognizer."""
        return TinySeqRecognizer(TinySeqConfig(**kw))

    @register_model("recognition")
    def tiny_seq_greedy_test(**kw) -> GreedyOnlySeqRecognizer:
        """Test-only recognizer with greedy decoding only."""
        return GreedyOnlySeqRecognizer(TinySeqConfig(**kw))

    @register_model("fullpage")
    def tiny_page_test(**kw) -> TinyPageReader:
        """Test-only full-page reader."""
        return TinyPageReader(TinySeqConfig(**{"charset": "chars:abcdefghijklmnopqrstuvwxyz \n", **kw}))


_register()
