"""Recognition as a training task: mixed crop stores with ratios, length-bucketed batches, word
accuracy on validation stores. Works for any recognizer of the contract (CTC or sequence)."""
from __future__ import annotations

import functools

import torch
from torch.utils.data import DataLoader

from ocr.data.rec_dataset import RecFilter, RecLmdbDataset, collate_rec
from ocr.data.rec_transforms import WidthJitter, trailing_grey
from ocr.data.synth.stream import synth_source
from ocr.engine.config import TrainConfig
from ocr.engine.loader import stream_loader
from ocr.engine.rec_eval import evaluate_recognition


def _trailing_pad(args: dict, model) -> float:
    """data_args.trailing_pad (0: batches padded at their edge only); when set, it must be the grey
    the model reads with (its config's ``trailing_grey``), or reading would not match training."""
    pad = float(args.get("trailing_pad", 0.0))
    if pad and pad != trailing_grey(model):
        raise ValueError(f"data_args.trailing_pad {pad:g} != model_args.trailing_grey {trailing_grey(model):g}: "
                         "a recognizer reads with the grey it was trained with; set both")
    return pad


class RecognitionTask:
    key_metric = "acc36"

    def train_loader(self, cfg: TrainConfig, model, start_step: int, rank: int = 0) -> DataLoader:
        mc, args = model.config, dict(cfg.data_args)
        if "max_length" in args:
            raise ValueError("data_args.max_length: the longest label is the model's; set model_args.max_length")
        filt = RecFilter(max_length=int(mc.max_length), unknown=args.get("unknown", "drop"))
        jitter = _width_jitter(args.get("width_jitter"))
        sets = []
        for i, src in enumerate(cfg.train):
            ds = (synth_source(src, model.tokenizer.charset, mc.img_height, mc.max_width, int(mc.max_length),
                               width_jitter=jitter)
                  if src.synth else
                  RecLmdbDataset(src.path, model.tokenizer.charset, height=mc.img_height, max_width=mc.max_width,
                                 filt=filt, augment=src.augment, seed=cfg.seed * 1000 + i, caseless=src.caseless,
                                 width_jitter=jitter))
            if len(ds) == 0:
                raise ValueError(f"{src.path}: no usable sample ({ds.report()})")
            print(ds.report(), flush=True)
            sets.append(ds)
        # edge_grey: grey past the longest read width, in heights; 1 (logits within 0.04 of the
        # reader's 2) saves a sixth of a batch's pixels
        collate = functools.partial(collate_rec, trailing_pad=_trailing_pad(args, model),
                                    edge=float(args.get("edge_grey", 1.0)))
        return stream_loader(sets, cfg, start_step, rank, collate, bucket=64, by_width=_by_width(args))

    def to_device(self, batch, device):
        images, labels = batch
        return images.to(device, non_blocking=True), labels

    def batch_size_of(self, batch) -> int:
        return len(batch[1].texts)

    @staticmethod
    def forward_kwargs(targets) -> dict:
        """The columns of each image the model reads (None: all) and the labels, which sequence
        decoders teacher-force with inside ``forward``."""
        return {"widths": targets.read_widths, "targets": targets}

    @torch.no_grad()
    def validate(self, model, cfg: TrainConfig, device, amp_dtype) -> dict[str, dict]:
        out = {}
        for src in cfg.val:
            res = evaluate_recognition(model, src.path, name=src.name, batch_size=cfg.batch_size,
                                       device=device, amp_dtype=amp_dtype)
            out[res.name] = res.summary()
        return out


def _width_jitter(setting) -> WidthJitter | None:
    """data_args.width_jitter: [p, lo, hi] (``WidthJitter``), or absent."""
    if not setting:
        return None
    if not isinstance(setting, (list, tuple)) or len(setting) != 3:
        raise ValueError(f"data_args.width_jitter: {setting!r}; expected [p, lo, hi], e.g. [0.5, 0.6, 1.4]")
    return WidthJitter(*setting)


BATCHING = ("width", "length")


def _by_width(data_args: dict) -> bool:
    """data_args.batch_by: batches of like image ``width`` (the default: least padding) or of like
    label ``length`` (how recipes before width batching ran)."""
    how = data_args.get("batch_by", "width")
    if how not in BATCHING:
        raise ValueError(f"data_args.batch_by: {how!r}; expected one of {', '.join(BATCHING)}")
    return how == "width"
