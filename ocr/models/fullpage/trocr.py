"""A TrOCR-style full-page reader: an image-transformer encoder and an autoregressive text decoder
with cross-attention. A page chunk (or a word, or a whole page) in, its lines in reading order out,
separated by newlines; no detector.

    encoder   conv stem (stride ``stride``), or a registered recognition backbone with its height
              kept (``backbone``, e.g. the shipped CRNN's ``rec_resnet_small``: stride (16, 4)) and a
              projection that merges ``pool_width`` columns -> tokens + 2-D sinusoidal positions
              (any aspect ratio) -> ``enc_layers`` transformer layers
    decoder   characters (``SeqTokenizer``: EOS, BOS, PAD, then the charset; ``ascii96`` has the
              newline) -> ``dec_layers`` layers of causal self-attention, cross-attention to the
              encoder tokens and an MLP -> next character
    decoding  greedy or beam search, both with a key-value cache (each step feeds one token); at
              most ``max_length`` characters; a reading that starts repeating itself (the same
              block of characters ``repeat_stop`` times, at least ``repeat_span`` characters in
              all) is cut after its first occurrence

Attention goes through ``ocr.ops.attention`` (causal and padding masks; the Triton kernel on GPU).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F

from ocr.models.attention import Attention
from ocr.models.backbones import create_backbone
from ocr.models.contract import GREEDY, DecodeOptions, FullPageModel, TextTargets
from ocr.models.recognition.seq_decode import beam_search_cached
from ocr.registry import register_model
from ocr.text.charset import with_own_charset
from ocr.text.tokenizer import SeqTokenizer


@dataclass(frozen=True)
class PageReaderConfig:
    charset: str = "ascii96"
    img_height: int = 128  # input size: a chunk of a page, fitted whole (aspect kept, grey padding)
    img_width: int = 512
    stride: int = 8  # encoder token = stride x stride pixels (the conv stem)
    backbone: str = ""  # a recognition backbone instead of the conv stem ("" = the stem)
    backbone_args: dict = field(default_factory=dict)  # overrides of its config (height is kept)
    pool_width: int = 1  # backbone columns merged into one token
    dim: int = 256
    heads: int = 8
    enc_layers: int = 4
    dec_layers: int = 4
    max_length: int = 300  # characters per image (newlines included)
    dropout: float = 0.1
    smoothing: float = 0.1
    repeat_stop: int = 3
    repeat_span: int = 48


def sincos_2d(h: int, w: int, dim: int) -> torch.Tensor:
    """(h * w, dim) fixed positions: half the channels encode the row, half the column."""
    quarter = dim // 4
    freq = torch.exp(-math.log(10000.0) * torch.arange(quarter) / quarter)
    rows = torch.arange(h)[:, None] * freq[None]  # (h, q)
    cols = torch.arange(w)[:, None] * freq[None]
    r = torch.cat([rows.sin(), rows.cos()], 1)[:, None].expand(h, w, 2 * quarter)
    c = torch.cat([cols.sin(), cols.cos()], 1)[None].expand(h, w, 2 * quarter)
    return torch.cat([r, c], -1).reshape(h * w, 4 * quarter)


class EncoderLayer(nn.Module):
    def __init__(self, dim: int, heads: int, dropout: float):
        super().__init__()
        self.n1, self.attn, self.n2 = nn.LayerNorm(dim), Attention(dim, heads), nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))
        self.drop = nn.Dropout(dropout)

    def forward(self, x):
        h = self.n1(x)
        x = x + self.drop(self.attn(h, self.attn.keys(h)))
        return x + self.drop(self.mlp(self.n2(x)))


class DecoderLayer(nn.Module):
    def __init__(self, dim: int, heads: int, dropout: float):
        super().__init__()
        self.n1, self.self_attn = nn.LayerNorm(dim), Attention(dim, heads)
        self.n2, self.cross_attn = nn.LayerNorm(dim), Attention(dim, heads)
        self.n3 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))
        self.drop = nn.Dropout(dropout)

    def forward(self, x, cross_kv, cache: dict | None = None):
        """x (B, t, D): the new tokens. ``cache`` holds the keys/values of the tokens before them
        (updated in place); without it, x is the whole sequence (causal)."""
        h = self.n1(x)
        k, v = self.self_attn.keys(h)
        if cache is not None:
            if "k" in cache:
                k, v = torch.cat([cache["k"], k], 2), torch.cat([cache["v"], v], 2)
            cache["k"], cache["v"] = k, v
        causal = x.shape[1] > 1  # one new token sees every cached one; a sequence is causal
        x = x + self.drop(self.self_attn(h, (k, v), causal=causal))
        x = x + self.drop(self.cross_attn(self.n2(x), cross_kv))
        return x + self.drop(self.mlp(self.n3(x)))


class PageReader(FullPageModel):
    """forward(images) -> {"tokens", "token_logp", "memory"}; with targets -> {"logits", "ids"}."""

    decode_options = frozenset({"beam"})

    def __init__(self, config: PageReaderConfig, arch: str = "trocr"):
        super().__init__()
        config, charset = with_own_charset(config)
        self.config, self.arch = config, arch
        self.tokenizer = SeqTokenizer(charset)
        d, s = config.dim, config.stride
        if config.backbone:  # named as in the recognizers, so their weights load (init_from)
            self.backbone = create_backbone(config.backbone, **{**config.backbone_args, "pool_height": False})
            p = config.pool_width
            self.stem = nn.Conv2d(self.backbone.out_channels, d, (1, p), (1, p))
        else:
            self.backbone = None
            self.stem = nn.Sequential(nn.Conv2d(3, d // 2, 3, 2, 1), nn.BatchNorm2d(d // 2), nn.GELU(),
                                      nn.Conv2d(d // 2, d, s // 2, s // 2))
        self.stem_norm = nn.LayerNorm(d)  # tokens at the scale of the positions added to them
        self.encoder = nn.ModuleList(EncoderLayer(d, config.heads, config.dropout) for _ in range(config.enc_layers))
        self.enc_norm = nn.LayerNorm(d)
        self.embed = nn.Embedding(len(self.tokenizer), d)
        self.pos = nn.Embedding(config.max_length + 2, d)
        self.decoder = nn.ModuleList(DecoderLayer(d, config.heads, config.dropout) for _ in range(config.dec_layers))
        self.dec_norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, len(self.tokenizer))

    # --- contract ------------------------------------------------------------------------------
    def forward(self, images: torch.Tensor, targets: TextTargets | None = None) -> dict:
        memory = self.encode(images)
        if targets is not None:  # teacher forcing
            ids = self.tokenizer.encode(targets.texts, self.config.max_length).to(images.device)
            return {"logits": self.decode(ids[:, :-1], self.cross_keys(memory)), "ids": ids}
        tokens, logp = self.generate(memory)
        return {"tokens": tokens, "token_logp": logp, "memory": memory}

    def loss(self, outputs: dict, targets: TextTargets) -> dict:
        ids = outputs["ids"][:, 1:]
        loss = F.cross_entropy(outputs["logits"].float().flatten(0, 1), ids.flatten(),
                               ignore_index=self.tokenizer.pad, label_smoothing=self.config.smoothing)
        return {"loss": loss}

    @torch.no_grad()
    def postprocess(self, outputs: dict, options: DecodeOptions = GREEDY) -> list[list[tuple[str, float]]]:
        """Per image its lines (text, confidence), top to bottom; ``options.beam`` > 1 searches."""
        pages = []
        for b in range(len(outputs["tokens"])):
            if options.beam > 1:
                text, conf = self.beam(outputs["memory"][b:b + 1], options.beam)
            else:
                ids = outputs["tokens"][b].tolist()
                n = ids.index(self.tokenizer.eos) + 1 if self.tokenizer.eos in ids else len(ids)
                text = self.tokenizer.decode(ids[:n])
                conf = math.exp(float(outputs["token_logp"][b, :n].mean())) if n else 0.0
            pages.append([(line, conf) for line in text.split("\n") if line.strip()])
        return pages

    # --- parts ---------------------------------------------------------------------------------
    def encode(self, images: torch.Tensor) -> torch.Tensor:
        x = self.stem(images if self.backbone is None else self.backbone(images)[-1])  # (B, D, h, w)
        B, D, h, w = x.shape
        x = self.stem_norm(x.flatten(2).transpose(1, 2)) + sincos_2d(h, w, D).to(x)
        for layer in self.encoder:
            x = layer(x)
        return self.enc_norm(x)  # (B, h * w, D)

    def cross_keys(self, memory: torch.Tensor) -> list:
        return [layer.cross_attn.keys(memory) for layer in self.decoder]

    def decode(self, tokens: torch.Tensor, cross: list, caches: list | None = None, start: int = 0) -> torch.Tensor:
        """Logits (B, t, C) after each of ``tokens`` (B, t), which sit at positions start.."""
        x = self.embed(tokens) + self.pos(torch.arange(start, start + tokens.shape[1], device=tokens.device))
        for i, layer in enumerate(self.decoder):
            x = layer(x, cross[i], None if caches is None else caches[i])
        return self.head(self.dec_norm(x))

    def generate(self, memory: torch.Tensor, use_cache: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        """Greedy reading of each image: token ids (B, L) and their log-probabilities, EOS-padded
        after the end (or a degenerate repetition)."""
        tok, B = self.tokenizer, len(memory)
        cross = self.cross_keys(memory)
        caches = [{} for _ in self.decoder] if use_cache else None
        seq = torch.full((B, 1), tok.bos, dtype=torch.long, device=memory.device)
        out, logps = [], []
        done = torch.zeros(B, dtype=torch.bool, device=memory.device)
        for t in range(self.config.max_length + 1):
            step = seq[:, -1:] if use_cache else seq
            logits = self.decode(step, cross, caches, start=t if use_cache else 0)[:, -1].float()
            logits[:, [tok.bos, tok.pad]] = float("-inf")
            lp, nxt = logits.log_softmax(-1).max(-1)
            nxt = nxt.masked_fill(done, tok.eos)
            out.append(nxt)
            logps.append(lp.masked_fill(done, 0.0))
            seq = torch.cat([seq, nxt[:, None]], 1)
            done |= nxt == tok.eos
            for b in range(B):
                if not done[b] and repeating(seq[b, 1:].tolist(), self.config.repeat_stop, self.config.repeat_span):
                    done[b] = True
            if bool(done.all()):
                break
        tokens, logp = torch.stack(out, 1), torch.stack(logps, 1)
        return trim_repeats(tokens, tok.eos, self.config.repeat_stop, self.config.repeat_span), logp

    @torch.no_grad()
    def beam(self, memory: torch.Tensor, width: int) -> tuple[str, float]:
        """Beam search for one image with a key-value cache per hypothesis."""
        cross = self.cross_keys(memory)

        def step(last: torch.Tensor, state: dict) -> tuple[torch.Tensor, dict]:
            k = len(last)
            if state["t"] == 0 or state["cross"][0][0].shape[0] != k:
                state["cross"] = [(a.expand(k, -1, -1, -1), b.expand(k, -1, -1, -1)) for a, b in cross]
            logits = self.decode(last[:, None], state["cross"], state["caches"], start=state["t"])[:, -1]
            state["t"] += 1
            return logits.float().log_softmax(-1), state

        def reorder(state: dict, idx: torch.Tensor) -> dict:
            for c in state["caches"]:
                if "k" in c:
                    c["k"], c["v"] = c["k"][idx], c["v"][idx]
            return state

        state = {"t": 0, "caches": [{} for _ in self.decoder], "cross": cross}
        return beam_search_cached(step, state, reorder, self.tokenizer, self.config.max_length, width,
                                  stop=lambda ids: repeating(ids, self.config.repeat_stop, self.config.repeat_span))


def loop_period(ids: list[int], repeats: int, span: int) -> int | None:
    """The shortest block that ``ids`` ends with ``repeats`` times over at least ``span``
    characters (a reading stuck in a loop), or None. Cheap enough to run at every step."""
    n = len(ids)
    for period in range(max(1, -(-span // repeats)), n // repeats + 1):
        tail = ids[n - period * repeats:]
        if ids[-1] == ids[-1 - period] and tail[period:] == tail[:-period]:
            return period
    return None


def repeating(ids: list[int], repeats: int, span: int) -> bool:
    """Whether ``ids`` ends in a loop (see ``loop_period``)."""
    return loop_period(ids, repeats, span) is not None


def trim_repeats(tokens: torch.Tensor, eos: int, repeats: int, span: int) -> torch.Tensor:
    """Cut each reading that ends in a loop (no EOS) after the loop's first block, then EOS."""
    out = tokens.clone()
    for b in range(len(tokens)):
        ids = tokens[b].tolist()
        if eos in ids:
            continue
        period = loop_period(ids, repeats, span)
        if period is not None:
            out[b, len(ids) - period * (repeats - 1):] = eos
    return out


def _build(arch: str, defaults: dict, overrides: dict) -> PageReader:
    return PageReader(PageReaderConfig(**{**defaults, **overrides}), arch=arch)


@register_model("fullpage")
def trocr_small(**overrides) -> PageReader:
    """TrOCR-style page reader: 4+4 layers of width 256, page chunks of 128 x 512 (about 7M parameters)."""
    return _build("trocr_small", {}, overrides)


@register_model("fullpage")
def trocr_base(**overrides) -> PageReader:
    """TrOCR-style page reader: 6+6 layers of width 384, page chunks of 192 x 768 (GPU-sized)."""
    return _build("trocr_base", {"dim": 384, "heads": 8, "enc_layers": 6, "dec_layers": 6,
                                 "img_height": 192, "img_width": 768}, overrides)
