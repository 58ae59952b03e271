"""CRNN: backbone -> BiLSTM -> CTC head, on any registered recognition backbone."""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn

from ocr.models.backbones import create_backbone
from ocr.models.contract import GREEDY, DecodeOptions, RecognitionModel, TextTargets
from ocr.models.recognition.bilstm import run_bilstm
from ocr.models.recognition.caseless import caseless_texts, fold_case
from ocr.models.recognition.ctc_decode import CTCDecoder
from ocr.ops import ctc_loss
from ocr.registry import register_model
from ocr.text.charset import with_own_charset
from ocr.text.tokenizer import CTCTokenizer


@dataclass(frozen=True)
class CRNNConfig:
    backbone: str = "rec_vgg"
    charset: str = "ascii95"  # a charset spec (see ocr.text.charset.load_charset)
    img_height: int = 32
    max_width: int = 800
    max_length: int = 25  # longest label trained on (characters)
    hidden: int = 256
    num_layers: int = 2
    dropout: float = 0.1
    trailing_grey: float = 2.0  # heights of grey read after each crop (rec_transforms.trailing_grey)


class CRNN(RecognitionModel):
    """forward(images (B, 3, H, W)) -> logits (B, T, C) with T = W / 4."""

    decode_options = frozenset({"beam", "lexicon"})
    # int8 (ocr.runtime.quantize) covers the backbone only; the head stays fp32. Quantized, its
    # logits came in steps of 0.16, so a one-step rounding flip anywhere in the backbone moved a
    # crop's confidence by up to 0.05 (p9, FUNSD val words, alone vs beside a wider crop; 0.003
    # with the head in fp32).
    int8_scope = ("/model/backbone/",)
    # The BiLSTM on packed sequences (as the ONNX export runs it) rather than bilstm_within_lengths:
    # the same result, slower on CPU; tools/bench_train.py times the trainer with it as it was.
    packed_rnn = False

    def __init__(self, config: CRNNConfig, arch: str = "crnn"):
        super().__init__()
        config, charset = with_own_charset(config)
        self.config, self.arch = config, arch
        self.tokenizer = CTCTokenizer(charset)
        self.backbone = create_backbone(config.backbone)
        c = self.backbone.out_channels
        self.rnn = nn.LSTM(c, config.hidden, num_layers=config.num_layers, bidirectional=True,
                           batch_first=True, dropout=config.dropout if config.num_layers > 1 else 0.0)
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(2 * config.hidden, len(self.tokenizer))
        self.decoder = CTCDecoder(self.tokenizer, self.backbone.feature_info[-1].stride[1])

    def forward(self, images: torch.Tensor, widths: list[int] | None = None, targets=None) -> torch.Tensor:
        """``widths``: how many columns of each image the BiLSTM reads (the rest of a padded batch
        is left out), so a crop's reading does not depend on the widest crop beside it; a list, or
        an int64 tensor (B,) as in the ONNX export (``ocr.runtime.onnx_export``). CTC needs
        no teacher forcing: ``targets`` is ignored."""
        feat = self.backbone(images)[-1]  # (B, C, H', T)
        feat = feat.mean(dim=2).transpose(1, 2)  # (B, T, C)
        feat = feat.float() if not torch.is_autocast_enabled() else feat
        if widths is None:
            seq, _ = self.rnn(feat)
        else:
            lengths = self.read_frames(widths, feat.shape[1])
            seq = run_bilstm(self.rnn, feat, lengths, packed=self.packed_rnn)
        return self.head(self.dropout(seq))  # (B, T, classes)

    def read_frames(self, widths, frames: int) -> torch.Tensor:
        """``frame_lengths`` as a tensor; ``widths`` may be an int64 tensor (the ONNX export's input)."""
        if not torch.is_tensor(widths):
            return torch.tensor(self.frame_lengths(widths, frames))
        stride = self.decoder.stride
        return torch.clamp((widths + stride - 1) // stride, min=1, max=frames)

    def frame_lengths(self, widths: list[int | None], frames: int) -> list[int]:
        """Frames that hold each image of a padded batch (``None``: all of them)."""
        return self.decoder.frame_lengths(widths, frames)

    def loss(self, logits: torch.Tensor, labels: TextTargets) -> dict[str, torch.Tensor]:
        """CTC loss (through ocr.ops) of the logits against the labels; only the frames of each
        unpadded image count, as in ``postprocess``; a caseless label accepts either case of each
        letter (``caseless.fold_case``)."""
        texts, widths = caseless_texts(labels.texts, labels.caseless), labels.widths
        targets, target_lengths = self.tokenizer.encode(texts)
        log_probs = fold_case(logits.float().log_softmax(2), labels.caseless, self.tokenizer).transpose(0, 1)  # (T, B, C)
        lengths = torch.tensor(self.frame_lengths(widths or [None] * len(texts), logits.shape[1]))
        loss = ctc_loss(log_probs, targets.to(logits.device), lengths.to(logits.device),
                        target_lengths.to(logits.device), blank=self.tokenizer.blank,
                        reduction="mean", zero_infinity=True)
        return {"loss": loss}

    def postprocess(self, logits, widths: list[int] | None = None,
                    options: DecodeOptions = GREEDY) -> list[tuple[str, float]]:
        """Decode to [(text, confidence)] (``ctc_decode.CTCDecoder``, in numpy). ``widths`` (input
        widths before padding) trims each sample's frames; ``options.beam`` > 1 uses prefix beam
        search; ``options.lexicon`` constrains the output."""
        return self.decoder(logits, widths, options)

    def runtime_spec(self) -> dict:
        """How the ONNX file decodes without PyTorch (``ocr.runtime.standalone``)."""
        return {"task": self.task, "decode_options": sorted(self.decode_options), "decoder": self.decoder.spec()}


def _build(arch: str, backbone: str, overrides: dict) -> CRNN:
    config = CRNNConfig(**{"backbone": backbone, **overrides})
    return CRNN(config, arch=arch)


@register_model("recognition")
def crnn_vgg(**overrides) -> CRNN:
    """CRNN with the VGG backbone of Shi et al. and a 2-layer BiLSTM."""
    return _build("crnn_vgg", "rec_vgg", overrides)


@register_model("recognition")
def crnn_resnet(**overrides) -> CRNN:
    """CRNN on the STR ResNet backbone."""
    return _build("crnn_resnet", "rec_resnet", overrides)


@register_model("recognition")
def crnn_resnet_small(**overrides) -> CRNN:
    """CRNN on the half-width STR ResNet (CPU-trainable)."""
    return _build("crnn_resnet_small", "rec_resnet_small", overrides)


@register_model("recognition")
def crnn_resnet_lite(**overrides) -> CRNN:
    """CRNN on rec_resnet_lite: rec_resnet_small less four deep blocks, for faster CPU reading."""
    return _build("crnn_resnet_lite", "rec_resnet_lite", overrides)


@register_model("recognition")
def crnn_mobilenet(**overrides) -> CRNN:
    """CRNN on the MobileNetV3-like backbone.

    Few FLOPs, but in ONNX Runtime on 2 cores it read 101 crops/s in fp32 and 51 in int8, where
    crnn_resnet_small read 245 in int8 (not profiled; depthwise convolutions and a wider LSTM
    input are the suspects)."""
    return _build("crnn_mobilenet", "rec_mobilenetv3", overrides)


@register_model("recognition")
def crnn_svtr(**overrides) -> CRNN:
    """CRNN head on the small SVTR/ViT backbone (attention through ocr.ops)."""
    return _build("crnn_svtr", "rec_svtr_tiny", overrides)
