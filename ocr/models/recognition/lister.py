"""LISTER: neighbor decoding (Cheng et al. 2023), length-insensitive recognition of words and whole
lines, on any registered recognition backbone whose output is a 1 x W sequence.

    features      backbone (B, C, 1, T) -> (B, T, D), padded columns zeroed, a depthwise
                  convolution for (relative) position, ``enc_layers`` masked self-attention. No
                  absolute positions: a crop of any width reads. ``sequence="bilstm"``: the
                  CRNN's BiLSTM (each crop read within its own columns) before the projection
                  instead of the convolution, so the shipped CRNN's backbone and BiLSTM load as
                  they are
    slots         the T columns plus a learned EOS slot
    locator       the first character's attention: a query from the masked mean feature against
                  every slot (EOS included: an empty crop ends at once)
    navigator     the neighbor matrix M (T+1, T+1): for each slot, a distribution over the slot of
                  the next character (a bilinear score plus a learned score per column offset);
                  the EOS row is absorbing
    aligner       attention_{t+1} = sharpen(attention_t @ M), raised to ``sharpen`` and
                  renormalised; character t = classify(attention_t @ slots). No label is fed
                  back, so nothing ties the decoder to the lengths it was trained on. A reading
                  ends at the first step whose EOS mass passes ``eos_threshold`` or whose class
                  is EOS; inference stops when every crop of the batch has ended
    FEM           the decoded characters attend to their neighbours within +-``fem_window``
                  (``ocr.ops`` attention, the window as a key mask), their updates are scattered
                  back onto the columns through the attention maps, and the same weights decode
                  again (``fem_iters`` times)
    loss          per decode: character CE (EOS included) + ``eos_weight`` * EOS localisation
                  (BCE of the EOS mass: 0 on character steps, 1 from the EOS on) +
                  ``entropy_weight`` * attention entropy on character steps. Warm-up guard: only
                  the first decode counts until its train word accuracy (EMA) passes ``fem_acc``
                  or ``fem_after`` steps have run (a buffer, saved with the weights; a model
                  whose guard never opened reads with the first decode only)

Padded columns are masked everywhere, so a crop reads the same whatever its batch. The ONNX
export keeps the aligner's early stop (a Loop, ``align_until_ended``); ``postprocess`` cuts each reading.
"""
from __future__ import annotations

import functools
import math
import warnings
from dataclasses import dataclass, field
from typing import List

import torch
import torch.nn as nn
import torch.nn.functional as F

from ocr.models.attention import Attention
from ocr.models.backbones import create_backbone
from ocr.models.contract import GREEDY, DecodeOptions, RecognitionModel, TextTargets
from ocr.models.recognition import caseless
from ocr.models.recognition.bilstm import run_bilstm
from ocr.models.recognition.seq_decode import greedy_decode, read_slots
from ocr.models.recognition.seq_layers import Layer, padding_mask
from ocr.registry import register_model
from ocr.text.charset import with_own_charset
from ocr.text.tokenizer import SeqTokenizer


@dataclass(frozen=True)
class LISTERConfig:
    backbone: str = "rec_resnet_small"
    backbone_args: dict = field(default_factory=dict)  # overrides of the backbone's config
    charset: str = "ascii95"
    img_height: int = 32
    max_width: int = 800
    max_length: int = 25  # longest training label; reading is bounded by max_steps only
    trailing_grey: float = 2.0  # heights of grey read after each crop (rec_transforms.trailing_grey)
    dim: int = 256
    heads: int = 8
    enc_layers: int = 2
    sequence: str = "transformer"  # or "bilstm": the CRNN's BiLSTM (hidden, num_layers) first
    hidden: int = 256
    num_layers: int = 2
    dropout: float = 0.1
    rel_range: int = 16  # navigator: a learned score per column offset in [-rel_range, rel_range]
    sharpen: float = 2.0  # attention power between steps (1: none)
    eos_threshold: float = 0.5
    max_steps: int = 128  # most characters a crop reads
    fem_iters: int = 2
    fem_window: int = 2  # FEM: a character attends to those within +-fem_window
    smoothing: float = 0.0
    eos_weight: float = 1.0
    entropy_weight: float = 0.02
    fem_acc: float = 0.5  # warm-up guard: FEM decodes train once the first decode's EMA train accuracy passes this
    fem_after: int = 0  # ... or after this many training steps (0: by accuracy only)


class LISTER(RecognitionModel):
    """forward -> {"logits": (B, S, classes), "eos": (B, S) EOS mass} of the last decode, one row per
    step (+ "decodes", "ids" while training)."""

    decode_options = frozenset({"lexicon"})
    # int8 (ONNX Runtime): the encoder only; the aligner's attention maps compound over steps
    int8_scope = ("/model/backbone/", "/model/proj/", "/model/encoder.")

    def __init__(self, config: LISTERConfig, arch: str = "lister"):
        super().__init__()
        config, charset = with_own_charset(config)
        self.config, self.arch = config, arch
        self.tokenizer = SeqTokenizer(charset)
        self.backbone = create_backbone(config.backbone, **config.backbone_args)
        d = config.dim
        self.stride = self.backbone.feature_info[-1].stride[1]
        c = self.backbone.out_channels
        if config.sequence not in ("transformer", "bilstm"):
            raise ValueError(f"LISTER: sequence {config.sequence!r} is not 'transformer' or 'bilstm'")
        self.rnn = None
        if config.sequence == "bilstm":  # named and shaped as CRNN's, so its weights load
            self.rnn = nn.LSTM(c, config.hidden, num_layers=config.num_layers, bidirectional=True, batch_first=True,
                               dropout=config.dropout if config.num_layers > 1 else 0.0)
            c = 2 * config.hidden
        self.proj = nn.Linear(c, d)
        self.pos_conv = nn.Conv1d(d, d, 7, padding=3, groups=d) if self.rnn is None else None
        self.encoder = nn.ModuleList(Layer(d, config.heads, config.dropout, cross=False) for _ in range(config.enc_layers))
        self.enc_norm = nn.LayerNorm(d)
        self.eos_slot = nn.Parameter(torch.zeros(1, 1, d))
        self.locate = nn.Linear(d, d)
        self.nav_q, self.nav_k = nn.Linear(d, d), nn.Linear(d, d)
        self.rel_bias = nn.Parameter(torch.zeros(2 * config.rel_range + 1))
        self.classify = nn.Linear(d, len(self.tokenizer))
        self.fem_norm, self.fem_attn, self.fem_out = nn.LayerNorm(d), Attention(d, config.heads), nn.Linear(d, d)
        self.feat_norm = nn.LayerNorm(d)
        nn.init.trunc_normal_(self.eos_slot, std=0.02)
        with torch.no_grad():  # a prior: the next character lies to the right
            self.rel_bias[: config.rel_range + 1] = -2.0
        self.register_buffer("fem_ready", torch.zeros(()))  # warm-up guard: 1 once FEM decodes train
        self.register_buffer("acc_ema", torch.zeros(()))
        self.register_buffer("train_steps", torch.zeros((), dtype=torch.long))

    # --- contract ------------------------------------------------------------------------------
    def forward(self, images: torch.Tensor, widths: list[int] | None = None, targets: TextTargets | None = None):
        feats, pad = self.features(images, widths)
        ids = None
        if targets is not None:  # steps: the longest label and its EOS (labels are not fed back)
            texts = caseless.caseless_texts(targets.texts, targets.caseless)
            ids = self.tokenizer.encode(texts, self.config.max_length)[:, 1:].to(feats.device)
        steps = None if ids is None else ids.shape[1]
        decodes = [self.decode(feats, pad, steps)]
        for _ in range(self.config.fem_iters if self.training or bool(self.fem_ready > 0) else 0):
            feats = self.enhance(feats, decodes[-1])
            decodes.append(self.decode(feats, pad, steps))
        out = {"logits": decodes[-1]["logits"], "eos": decodes[-1]["eos"]}
        if ids is not None:
            out.update(decodes=decodes, ids=ids)
        return out

    def loss(self, outputs: dict, targets: TextTargets) -> dict:
        ids, decodes = outputs["ids"], outputs["decodes"]
        parts = [self.decode_loss(d, ids, targets.caseless) for d in decodes]
        weights = [1.0] + [float(self.fem_ready)] * (len(parts) - 1)  # warm-up guard: the first decode alone
        total = sum(w * p["loss"] for w, p in zip(weights, parts)) / sum(weights)
        acc = self.first_decode_accuracy(decodes[0], targets.texts, targets.caseless)
        if self.training:
            self.update_guard(acc)
        last = parts[-1] if weights[-1] else parts[0]  # the last decode that counts
        return {"loss": total, "char": last["char"], "eos": last["eos"], "entropy": last["entropy"],
                "acc_first": torch.tensor(acc), "fem": torch.tensor(weights[-1])}

    @torch.no_grad()
    def postprocess(self, outputs: dict, widths: list[int] | None = None,
                    options: DecodeOptions = GREEDY) -> list[tuple[str, float]]:
        """Argmax per step, cut at the first step whose EOS mass passes the threshold (scored by
        that mass) or whose class is EOS; ``options.lexicon``: the lexicon word with the highest
        log-probability among those nearest the greedy reading."""
        return read_slots(self.step_log_probs(outputs["logits"], outputs["eos"]), self.tokenizer, options.lexicon)

    # --- parts ---------------------------------------------------------------------------------
    def features(self, images: torch.Tensor, widths) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, T, D) encoded columns and their padding mask (True = padded column)."""
        feat = self.backbone(images)[-1].mean(dim=2).transpose(1, 2)  # (B, T, C)
        pad = padding_mask(widths, len(feat), feat.shape[1], self.stride, feat.device)
        feat = feat[:, :pad.shape[1]]
        if self.rnn is not None:
            feat = run_bilstm(self.rnn, feat if torch.is_autocast_enabled() else feat.float(), (~pad).sum(1))
        x = self.proj(feat).masked_fill(pad[..., None], 0.0)
        if self.pos_conv is not None:
            x = x + self.pos_conv(x.transpose(1, 2)).transpose(1, 2)
        for layer in self.encoder:
            x = layer(x, pad)
        return self.enc_norm(x), pad

    def decode(self, feats: torch.Tensor, pad: torch.Tensor, steps: int | None) -> dict:
        """The locator, navigator and aligner over ``steps`` steps (None: until every reading has
        ended, at most ``max_steps``) -> {"alpha" (B, S, T+1), "logits" (B, S, C), "chars" (B, S, D),
        "alive" (B, S): steps before each reading's end, "eos" (B, S): EOS mass, 1 past a crop's
        column count}. Runs in fp32."""
        with torch.autocast(feats.device.type, enabled=False):
            feats = feats.float()
            slots = torch.cat([feats, self.eos_slot.float().expand(feats.shape[0], 1, -1)], 1)  # (B, T+1, D)
            keep = torch.cat([~pad, torch.ones_like(pad[:, :1])], 1)  # EOS always a candidate
            alpha = self.first_attention(feats, slots, pad, keep)
            nbr = self.neighbors(slots, keep)
            alpha = self.align(alpha, nbr, slots, pad, steps)  # (B, S, T+1)
            chars = torch.bmm(alpha, slots)
            logits = self.classify(chars)
            past = torch.arange(alpha.shape[1], device=alpha.device)[None] >= (~pad).sum(1)[:, None]
            # a reading has at most as many characters as columns
            ended = ends_reading(alpha, logits, self.config.eos_threshold, self.tokenizer.eos) | past
            return {"alpha": alpha, "chars": chars, "logits": logits, "alive": ended.long().cumsum(1) == 0,
                    "eos": alpha[..., -1].masked_fill(past, 1.0)}

    def align(self, alpha, nbr, slots, pad, steps: int | None) -> torch.Tensor:
        """(B, S, T+1) the attention maps of successive characters: ``steps`` of them (training),
        else until every reading has ended, at most ``max_steps`` (``align_until_ended``)."""
        if steps is None:
            weight, bias = self.classify.weight.to(slots.dtype), self.classify.bias.to(slots.dtype)
            run = scripted_align() if torch.jit.is_tracing() else align_until_ended
            return run(alpha, nbr, slots, (~pad).sum(1), weight, bias, self.config.max_steps,
                       self.tokenizer.eos, self.config.eos_threshold, self.config.sharpen)
        alphas = [alpha]
        for _ in range(1, steps):
            alpha = sharpened(torch.bmm(alpha[:, None], nbr)[:, 0], self.config.sharpen)
            alphas.append(alpha)
        return torch.stack(alphas, 1)

    def first_attention(self, feats, slots, pad, keep) -> torch.Tensor:
        """The locator: a query from the masked mean feature against every slot -> (B, T+1)."""
        valid = (~pad)[..., None].float()
        mean = (feats * valid).sum(1) / valid.sum(1).clamp(min=1.0)
        score = torch.bmm(slots, self.locate(mean)[..., None])[..., 0] / math.sqrt(feats.shape[-1])
        return score.masked_fill(~keep, -math.inf).softmax(-1)

    def neighbors(self, slots: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        """The navigator's neighbor matrix (B, T+1, T+1): row i, where the character after slot i
        is; the EOS row stays on EOS."""
        n, r = slots.shape[1], self.config.rel_range
        score = torch.bmm(self.nav_q(slots), self.nav_k(slots).transpose(1, 2)) / math.sqrt(slots.shape[-1])
        pos = torch.arange(n, device=slots.device)
        offset = (pos[None, :] - pos[:, None]).clamp(-r, r) + r
        bias = self.rel_bias.float()[offset].masked_fill(pos[None, :] == n - 1, 0.0)  # no offset to EOS
        nbr = (score + bias).masked_fill(~keep[:, None, :], -math.inf).softmax(-1)
        absorbing = F.one_hot(pos[-1:], n).to(nbr.dtype).expand(slots.shape[0], 1, n)
        return torch.cat([nbr[:, :-1], absorbing], 1)

    def enhance(self, feats: torch.Tensor, decoded: dict) -> torch.Tensor:
        """FEM: the decoded characters' window updates scattered back onto the columns."""
        upd = self.fem_update(decoded["chars"].to(feats.dtype), decoded["alive"])
        alpha = decoded["alpha"][..., :-1].to(upd.dtype)  # (B, S, T): the EOS slot is not a column
        return self.feat_norm(feats + torch.bmm(alpha.transpose(1, 2), upd))

    def fem_update(self, chars: torch.Tensor, alive: torch.Tensor) -> torch.Tensor:
        """(B, S, D) updates: each live character attends to the live ones within +-fem_window
        (through ``ocr.ops`` attention, one query per row, the window's outside masked)."""
        B, S, D = chars.shape
        w = self.config.fem_window
        idx = torch.arange(S, device=chars.device)[:, None] + torch.arange(-w, w + 1, device=chars.device)[None]
        inside = (idx >= 0) & (idx < S)
        idx = idx.clamp(0, S - 1)
        see = inside[None] & alive[:, idx] & alive[..., None]  # (B, S, 2w+1)
        x = self.fem_norm(chars)
        kv = self.fem_attn.keys(x[:, idx].reshape(B * S, 2 * w + 1, D))
        upd = self.fem_attn(x.reshape(B * S, 1, D), kv, pad=~see.reshape(B * S, -1)).reshape(B, S, D)
        return self.fem_out(upd) * alive[..., None].to(upd.dtype)

    def step_log_probs(self, logits: torch.Tensor, eos: torch.Tensor) -> torch.Tensor:
        """Per-step log-probabilities in which a step whose EOS mass passes the threshold reads EOS
        with that mass."""
        lp = logits.float().log_softmax(-1)
        stop = torch.full_like(lp, -math.inf)
        stop[..., self.tokenizer.eos] = eos.float().clamp(min=1e-12).log()
        return torch.where((eos > self.config.eos_threshold)[..., None], stop, lp)

    def decode_loss(self, decoded: dict, ids: torch.Tensor, caseless_rows: list[bool] | None = None) -> dict:
        c, tok = self.config, self.tokenizer
        char = caseless.cross_entropy(decoded["logits"], ids, caseless_rows, tok, tok.pad, c.smoothing)
        after = (ids == tok.eos).long().cumsum(1) > 0  # the EOS step and the padding after it
        eos_mass = decoded["alpha"][..., -1].clamp(1e-6, 1 - 1e-6)
        eos = F.binary_cross_entropy(eos_mass, after.float())
        alpha = decoded["alpha"].clamp(min=1e-12)
        entropy = -(alpha * alpha.log()).sum(-1)[~after].mean() if (~after).any() else eos_mass.new_zeros(())
        return {"loss": char + c.eos_weight * eos + c.entropy_weight * entropy, "char": char, "eos": eos,
                "entropy": entropy}

    @torch.no_grad()
    def first_decode_accuracy(self, decoded: dict, texts: list[str], caseless_rows: list[bool] | None = None) -> float:
        """Exact readings of the first decode (a caseless label: ignoring case)."""
        lp = self.step_log_probs(decoded["logits"], decoded["eos"])
        readings = caseless.caseless_texts([r for r, _ in greedy_decode(lp, self.tokenizer, case_prior=False)], caseless_rows)
        labels = caseless.caseless_texts(texts, caseless_rows)
        return sum(r == t for r, t in zip(readings, labels)) / max(1, len(texts))

    @torch.no_grad()
    def update_guard(self, acc: float) -> None:
        """Open the warm-up guard (FEM decodes in the loss) once the first decode works."""
        c = self.config
        self.train_steps += 1
        self.acc_ema.mul_(0.9).add_(0.1 * acc)
        if float(self.acc_ema) >= c.fem_acc or (c.fem_after and int(self.train_steps) >= c.fem_after):
            self.fem_ready.fill_(1.0)


def sharpened(alpha: torch.Tensor, power: float) -> torch.Tensor:
    """The aligner's attention raised to ``power`` and renormalised."""
    a = alpha.clamp(min=1e-12) ** power
    return a / a.sum(-1, keepdim=True)


def ends_reading(alpha: torch.Tensor, logits: torch.Tensor, threshold: float, eos_id: int) -> torch.Tensor:
    """(B, ...) whether a step ends the reading: EOS mass past ``threshold``, or class EOS."""
    return (alpha[..., -1] > threshold) | (logits.argmax(-1) == eos_id)


def align_until_ended(alpha: torch.Tensor, nbr: torch.Tensor, slots: torch.Tensor, limit: torch.Tensor,
                      weight: torch.Tensor, bias: torch.Tensor, max_steps: int, eos_id: int,
                      threshold: float, power: float) -> torch.Tensor:
    """(B, S, T+1): the first attention ``alpha`` (B, T+1) and its successors through the neighbor
    matrix ``nbr``, until every reading has ended (at a step ending it, or past its ``limit``
    columns), at most ``max_steps``. Scripted on export, so the ONNX file keeps it as a Loop that
    stops there instead of unrolling ``max_steps`` steps; ``weight``/``bias`` are the classifier's. Written
    without ``break``, ``squeeze`` or optional arguments, which the exporter cannot type. Eager
    calls run it as Python."""
    alphas: List[torch.Tensor] = [alpha]
    limit = limit.clamp(max=max_steps - 1)  # every reading ends by step max_steps
    t = 1
    logits = torch.bmm(alpha[:, None], slots)[:, 0] @ weight.t() + bias
    done = ends_reading(alpha, logits, threshold, eos_id) | (limit < t)
    go = bool(~done.all())
    while go:
        alpha = sharpened(torch.bmm(alpha[:, None], nbr)[:, 0], power)
        alphas.append(alpha)
        t += 1
        logits = torch.bmm(alpha[:, None], slots)[:, 0] @ weight.t() + bias
        done = done | ends_reading(alpha, logits, threshold, eos_id) | (limit < t)
        go = bool(~done.all())
    return torch.stack(alphas, 1)


@functools.cache
def scripted_align():
    """``align_until_ended`` compiled by TorchScript (on first export only), for the ONNX Loop."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit.script: still what the exporter reads
        return torch.jit.script(align_until_ended)


def _build(arch: str, backbone: str, overrides: dict) -> LISTER:
    return LISTER(LISTERConfig(**{"backbone": backbone, **overrides}), arch=arch)


@register_model("recognition")
def lister_resnet_small(**overrides) -> LISTER:
    """LISTER neighbor decoder on the half-width STR ResNet (the shipped CRNN's encoder)."""
    return _build("lister_resnet_small", "rec_resnet_small", overrides)


@register_model("recognition")
def lister_resnet(**overrides) -> LISTER:
    """LISTER neighbor decoder on the STR ResNet."""
    return _build("lister_resnet", "rec_resnet", overrides)


@register_model("recognition")
def lister_mobilenet(**overrides) -> LISTER:
    """LISTER neighbor decoder on the MobileNetV3-like backbone."""
    return _build("lister_mobilenet", "rec_mobilenetv3", overrides)
