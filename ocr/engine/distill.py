"""Distillation from one of our own recognizers (``distill_from`` in a recipe).

A lighter student learns the teacher's per-frame distributions as well as the labels: the loss
gains ``distill_weight`` times the KL divergence from the teacher's frame posteriors to the
student's, over the frames that hold each crop (as the CTC loss counts them). Teacher and student
read the same batch, so they must share the charset and the frame stride; anything else is an
error naming the teacher file before training starts. The teacher is frozen and stateless, so a
resumed run continues exactly.
"""
from __future__ import annotations

from pathlib import Path

import torch


class Teacher:
    """A frozen CTC recognizer whose frame posteriors the student is pulled towards."""

    def __init__(self, path: str | Path, student: torch.nn.Module, device: torch.device, temperature: float = 1.0):
        from ocr.engine.checkpoint import load_model

        if temperature <= 0:
            raise ValueError(f"distill_temperature must be positive, got {temperature}")
        self.model = load_model(path, device)
        if device.type == "cpu":
            self.model = self.model.to(memory_format=torch.channels_last)  # as the trainer runs the student
        self.path, self.temperature = str(path), float(temperature)
        for p in self.model.parameters():
            p.requires_grad_(False)
        if not hasattr(student, "frame_lengths") or not hasattr(self.model, "frame_lengths"):
            raise ValueError(f"distill_from {path}: distillation needs CTC recognizers (per-frame logits) "
                             f"as student and teacher ({type(student).__name__}, {type(self.model).__name__})")
        mine, theirs = student.tokenizer.charset.chars, self.model.tokenizer.charset.chars
        if mine != theirs:
            raise ValueError(f"distill_from {path}: the teacher's charset ({len(theirs)} characters) is not "
                             f"the student's ({len(mine)})")
        if student.decoder.stride != self.model.decoder.stride:
            raise ValueError(f"distill_from {path}: the teacher reads a frame every {self.model.decoder.stride} "
                             f"columns, the student every {student.decoder.stride}")

    @torch.no_grad()
    def logits(self, images: torch.Tensor, forward_kwargs: dict) -> torch.Tensor:
        return self.model(images, **forward_kwargs)

    def loss(self, student_logits: torch.Tensor, teacher_logits: torch.Tensor, widths) -> torch.Tensor:
        """Mean over the crops' frames of KL(teacher || student), at ``temperature`` (scaled by its
        square, so the gradient's size does not depend on it)."""
        if student_logits.shape != teacher_logits.shape:
            raise ValueError(f"distill_from {self.path}: teacher logits {tuple(teacher_logits.shape)}, "
                             f"student logits {tuple(student_logits.shape)}")
        t = self.temperature
        log_s = (student_logits.float() / t).log_softmax(-1)
        log_t = (teacher_logits.float() / t).log_softmax(-1)
        per_frame = (log_t.exp() * (log_t - log_s)).sum(-1)  # (B, T)
        frames = student_logits.shape[1]
        lengths = torch.tensor(self.model.frame_lengths(widths or [None] * len(per_frame), frames),
                               device=per_frame.device)
        mask = torch.arange(frames, device=per_frame.device)[None] < lengths[:, None]
        return (per_frame * mask).sum() / mask.sum().clamp(min=1) * t * t
