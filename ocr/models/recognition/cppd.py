"""CPPD: a parallel decoder (context perception, Du et al. 2023) on any registered recognition
backbone. Every character of a word is decoded in one pass.

    visual tokens  backbone (B, C, 1, T) -> (B, T, D) + positions -> ``enc_layers`` self-attention
    CC nodes       one query per class (EOS included) through the decoder layers (self-attention among
                   the queries, cross-attention to the visual tokens); the visual tokens are then
                   refined by attending to these nodes (context perception)
    slots          ``max_length + 1`` position queries through the same decoder layers, attending to
                   the refined visual tokens -> a class per slot, cut at the first EOS
    training only  character counting (CC): each CC node classifies how often its character occurs
                   (0..max_length); character ordering (CO): each slot says whether it holds a
                   character or the EOS. Both heads supervise the shared weights; at inference they
                   are not run.
    loss           label-smoothed slot CE + ``cc_weight`` * count CE + ``co_weight`` * order CE

All attention goes through ``ocr.ops.attention`` (the Triton kernel on GPU). Padded columns of a
batch are masked, so a crop reads the same whatever its batch.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F

from ocr.models.backbones import create_backbone
from ocr.models.attention import Attention
from ocr.models.contract import GREEDY, DecodeOptions, RecognitionModel, TextTargets
from ocr.models.recognition import caseless
from ocr.models.recognition.seq_decode import read_slots
from ocr.models.recognition.seq_layers import Layer, padding_mask
from ocr.registry import register_model
from ocr.text.charset import with_own_charset
from ocr.text.tokenizer import SeqTokenizer


@dataclass(frozen=True)
class CPPDConfig:
    backbone: str = "rec_resnet_small"
    backbone_args: dict = field(default_factory=dict)  # overrides of the backbone's config
    charset: str = "ascii95"
    img_height: int = 32
    max_width: int = 800
    max_length: int = 25  # slots = max_length + 1 (the last one can only hold the EOS)
    trailing_grey: float = 2.0  # heights of grey read after each crop (rec_transforms.trailing_grey)
    dim: int = 256
    heads: int = 8
    enc_layers: int = 2
    dec_layers: int = 2
    dropout: float = 0.1
    smoothing: float = 0.1
    cc_weight: float = 0.5
    co_weight: float = 0.5


class CPPD(RecognitionModel):
    """forward -> {"slots": (B, max_length+1, classes)} (+ "counts", "order" while training)."""

    decode_options = frozenset({"lexicon"})

    def __init__(self, config: CPPDConfig, arch: str = "cppd"):
        super().__init__()
        config, charset = with_own_charset(config)
        self.config, self.arch = config, arch
        self.tokenizer = SeqTokenizer(charset)
        self.backbone = create_backbone(config.backbone, **config.backbone_args)
        d, n_cls, slots = config.dim, len(self.tokenizer), config.max_length + 1
        self.stride = self.backbone.feature_info[-1].stride[1]
        self.proj = nn.Linear(self.backbone.out_channels, d)
        # positions for the widest batch: max_width plus the trailing grey and the batch margin the
        # reader adds (trailing_grey, at least 2 for one shape, + at most 2 heights of edge: rec_transforms)
        margin = int((max(config.trailing_grey, 2.0) + 2.0) * config.img_height)
        self.vis_pos = nn.Parameter(torch.zeros(1, (config.max_width + margin) // self.stride + 8, d))
        self.encoder = nn.ModuleList(Layer(d, config.heads, config.dropout, cross=False) for _ in range(config.enc_layers))
        self.enc_norm = nn.LayerNorm(d)
        self.slot_queries = nn.Parameter(torch.zeros(1, slots, d))
        self.char_queries = nn.Parameter(torch.zeros(1, n_cls, d))  # CC: one per class, EOS included
        self.decoder = nn.ModuleList(Layer(d, config.heads, config.dropout, cross=True) for _ in range(config.dec_layers))
        self.dec_norm = nn.LayerNorm(d)
        self.refine_norm, self.refine = nn.LayerNorm(d), Attention(d, config.heads)
        self.classify = nn.Linear(d, n_cls)
        self.count_head = nn.Linear(d, slots)  # how often a class occurs: 0..max_length
        self.order_head = nn.Linear(d, 2)  # a slot holds a character (1) or the EOS (0)
        for p in (self.vis_pos, self.slot_queries, self.char_queries):
            nn.init.trunc_normal_(p, std=0.02)

    # --- contract ------------------------------------------------------------------------------
    def forward(self, images: torch.Tensor, widths: list[int] | None = None, targets: TextTargets | None = None):
        vis, pad = self.visual_tokens(images, widths)
        char_nodes = self.decode(self.char_queries, vis, pad)  # CC nodes (B, classes, D)
        vis = vis + self.refine(self.refine_norm(vis), self.refine.keys(char_nodes))  # visual tokens refined by the CC nodes
        slot_feats = self.decode(self.slot_queries, vis, pad)
        out = {"slots": self.classify(slot_feats)}
        if targets is not None:  # CC and CO heads: training-time supervision on the shared weights
            out["counts"] = self.count_head(char_nodes)
            out["order"] = self.order_head(slot_feats)
        return out

    def loss(self, outputs: dict, targets: TextTargets) -> dict:
        c, tok = self.config, self.tokenizer
        texts = caseless.caseless_texts(targets.texts, targets.caseless)
        ids = tok.encode(texts, c.max_length)[:, 1:].to(outputs["slots"].device)  # drop BOS
        slots = c.max_length + 1
        ids = F.pad(ids, (0, slots - ids.shape[1]), value=tok.pad)[:, :slots]  # (B, slots)
        char = caseless.cross_entropy(outputs["slots"], ids, targets.caseless, tok, tok.pad, c.smoothing)
        order_target = torch.where(ids == tok.eos, 0, 1).masked_fill(ids == tok.pad, -100)
        order = F.cross_entropy(outputs["order"].float().flatten(0, 1), order_target.flatten(), ignore_index=-100)
        counts = F.one_hot(ids, len(tok)).sum(dim=1).clamp(max=c.max_length)  # (B, classes)
        counts[:, [tok.bos, tok.pad]] = -100  # no count is learned for BOS and PAD
        if targets.caseless and any(targets.caseless):  # nor, for caseless labels, of cased letters
            rows = torch.tensor(targets.caseless, device=counts.device)
            cased = sum(caseless.case_pairs(tok), [])
            counts[:, cased] = counts[:, cased].masked_fill(rows[:, None], -100)
        cc = F.cross_entropy(outputs["counts"].float().flatten(0, 1), counts.flatten(), ignore_index=-100)
        return {"loss": char + c.cc_weight * cc + c.co_weight * order, "char": char, "count": cc, "order": order}

    @torch.no_grad()
    def postprocess(self, outputs: dict, widths: list[int] | None = None,
                    options: DecodeOptions = GREEDY) -> list[tuple[str, float]]:
        """Argmax per slot cut at the first EOS; ``options.lexicon``: the lexicon word with the
        highest slot log-probability among those nearest the greedy reading."""
        return read_slots(outputs["slots"].float().log_softmax(-1), self.tokenizer, options.lexicon)

    # --- parts ---------------------------------------------------------------------------------
    def visual_tokens(self, images: torch.Tensor, widths: list[int] | None):
        """(B, T, D) encoded columns and their padding mask (True = padded column)."""
        feat = self.backbone(images)[-1].mean(dim=2).transpose(1, 2)  # (B, T, C)
        frames = feat.shape[1]
        if torch.is_tensor(widths):  # the ONNX export's input: as many columns as positions allow
            frames = min(frames, self.vis_pos.shape[1])
        pad = padding_mask(widths, len(feat), frames, self.stride, feat.device)
        T = pad.shape[1]
        if T > self.vis_pos.shape[1]:
            raise ValueError(f"{self.arch}: {T * self.stride} px to read, wider than max_width "
                             f"{self.config.max_width} and its trailing grey")
        x = self.proj(feat[:, :T]) + self.vis_pos[:, :T]
        for layer in self.encoder:
            x = layer(x, pad)
        return self.enc_norm(x), pad

    def decode(self, queries: torch.Tensor, vis: torch.Tensor, pad: torch.Tensor) -> torch.Tensor:
        """Learned ``queries`` (1, N, D) through the decoder layers -> (B, N, D). At inference the
        first self-attention runs once for the batch (``Layer``); training expands first, so that
        dropout draws per crop."""
        x = queries.expand(vis.shape[0], -1, -1) if self.training else queries
        for layer in self.decoder:
            x = layer(x, None, vis, pad)
        return self.dec_norm(x)


def _build(arch: str, backbone: str, overrides: dict) -> CPPD:
    return CPPD(CPPDConfig(**{"backbone": backbone, **overrides}), arch=arch)


@register_model("recognition")
def cppd_resnet_small(**overrides) -> CPPD:
    """CPPD parallel decoder on the half-width STR ResNet (the shipped CRNN's encoder)."""
    return _build("cppd_resnet_small", "rec_resnet_small", overrides)


@register_model("recognition")
def cppd_resnet(**overrides) -> CPPD:
    """CPPD parallel decoder on the STR ResNet."""
    return _build("cppd_resnet", "rec_resnet", overrides)


@register_model("recognition")
def cppd_svtr(**overrides) -> CPPD:
    """CPPD parallel decoder on the small SVTR/ViT backbone."""
    return _build("cppd_svtr", "rec_svtr_tiny", overrides)


@register_model("recognition")
def cppd_mobilenet(**overrides) -> CPPD:
    """CPPD parallel decoder on the MobileNetV3-like backbone."""
    return _build("cppd_mobilenet", "rec_mobilenetv3", overrides)
