"""FCENet loss (paper Sec. 3.3).

Per level: text-region classification with OHEM (negatives:positives = 3:1), text-center-region
classification (cross entropy on text pixels + 0.5 x on the rest), and regression supervised
through the contour: predicted and target Fourier signatures are both turned into
``num_sample_points`` contour points (inverse transform) and compared with smooth L1, weighted
1 inside the center region and 0.5 elsewhere in the text region. Levels are summed.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class FCELoss(nn.Module):
    """``forward(outputs, targets)`` with ``outputs[key]`` (B, 4 + 2n, h, w) raw predictions and
    ``targets[key]`` (B, 3 + 2n, h, w) maps from :class:`ocr.data.fce_targets.FCETargetGenerator`
    (n = 2k + 1). Returns ``loss`` plus ``loss_text``, ``loss_center``, ``loss_reg_x``, ``loss_reg_y``."""

    def __init__(self, fourier_degree: int = 5, num_sample_points: int = 50, ohem_ratio: float = 3.0,
                 center_neg_weight: float = 0.5):
        super().__init__()
        self.k = fourier_degree
        self.ohem_ratio = ohem_ratio
        self.center_neg_weight = center_neg_weight
        freqs = torch.arange(-fourier_degree, fourier_degree + 1, dtype=torch.float32)
        t = torch.arange(num_sample_points, dtype=torch.float32) / num_sample_points
        theta = 2 * math.pi * freqs[:, None] * t[None, :]  # (2k+1, P)
        self.register_buffer("cos", torch.cos(theta), persistent=False)
        self.register_buffer("sin", torch.sin(theta), persistent=False)

    def forward(self, outputs: dict, targets: dict) -> dict[str, torch.Tensor]:
        parts = {"loss_text": 0.0, "loss_center": 0.0, "loss_reg_x": 0.0, "loss_reg_y": 0.0}
        for key, pred in outputs.items():
            gt = targets[key].to(pred.device)
            if gt.shape[-2:] != pred.shape[-2:]:
                raise ValueError(f"{key}: prediction {tuple(pred.shape)} vs target {tuple(gt.shape)}")
            with torch.autocast(device_type=pred.device.type, enabled=False):  # fp32 contour maths
                values = self._level(pred.float(), gt.float())
            for name, value in zip(parts, values):
                parts[name] = parts[name] + value
        parts["loss"] = sum(parts.values())
        return parts

    def _level(self, pred: torch.Tensor, gt: torch.Tensor):
        n = 2 * self.k + 1
        pred = pred.permute(0, 2, 3, 1).reshape(-1, pred.shape[1])  # (B*h*w, 4 + 2n)
        gt = gt.permute(0, 2, 3, 1).reshape(-1, gt.shape[1])  # (B*h*w, 3 + 2n)
        text, center, effective = gt[:, 0] > 0.5, gt[:, 1] > 0.5, gt[:, 2] > 0.5
        zero = pred.sum() * 0.0  # keeps every output in the graph
        loss_text = self.ohem(pred[:, 0:2], text, effective) + zero
        pos = text & effective
        if not pos.any():
            return loss_text, zero, zero, zero
        tcl_logits, tcl_gt = pred[:, 2:4], center.long()
        loss_center = F.cross_entropy(tcl_logits[pos], tcl_gt[pos])
        neg = ~text & effective  # ignored regions stay out of every term
        if neg.any():
            loss_center = loss_center + self.center_neg_weight * F.cross_entropy(tcl_logits[neg], tcl_gt[neg])
        weight = (0.5 * (text.float() + center.float()))[pos][:, None]  # (M, 1)
        px, py = self.contour(pred[pos, 4:4 + n], pred[pos, 4 + n:])
        gx, gy = self.contour(gt[pos, 3:3 + n], gt[pos, 3 + n:])
        loss_x = (weight * F.smooth_l1_loss(px, gx, reduction="none")).mean()
        loss_y = (weight * F.smooth_l1_loss(py, gy, reduction="none")).mean()
        return loss_text, loss_center + zero, loss_x + zero, loss_y + zero

    def contour(self, real: torch.Tensor, imag: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(M, 2k+1) real/imaginary coefficients -> (M, P) x and y contour coordinates."""
        x = real @ self.cos - imag @ self.sin
        y = real @ self.sin + imag @ self.cos
        return x, y

    def ohem(self, logits: torch.Tensor, target: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        """Cross entropy over all positives and the hardest ``ratio x #pos`` negatives (100 if no
        positive), averaged over the pixels used."""
        pos = target & valid
        neg = ~target & valid
        n_pos = int(pos.sum())
        loss_neg = F.cross_entropy(logits[neg], torch.zeros_like(target[neg], dtype=torch.long),
                                   reduction="none")
        n_neg = min(int(neg.sum()), int(self.ohem_ratio * n_pos)) if n_pos > 0 else min(100, int(neg.sum()))
        if n_neg < loss_neg.numel():
            loss_neg = loss_neg.topk(n_neg).values
        loss_pos = (F.cross_entropy(logits[pos], torch.ones_like(target[pos], dtype=torch.long),
                                    reduction="sum") if n_pos > 0 else logits.sum() * 0.0)
        return (loss_pos + loss_neg.sum()) / max(n_pos + n_neg, 1)
