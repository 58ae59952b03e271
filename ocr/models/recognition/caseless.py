"""Labels without case: training on stores whose labels do not tell a letter's case.

SROIE's line labels are all capitals while most receipts print lower case too ("Taman Sri
Muda" labelled "TAMAN SRI MUDA"). Trained on them as they are, a recognizer learns to write
capitals for some lower-case letters and reads "TaMan". A source marked ``caseless: true`` in a
recipe instead lets the loss accept either case of each letter: its label is written in capitals
and, for its rows only, each capital's log-probability becomes that of the capital or its small
letter (``logaddexp``), so the letter's case is learned from the other sources alone.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ocr.models.recognition.case_prior import case_partners


def case_pairs(tokenizer) -> tuple[list[int], list[int]]:
    """Ids of the capitals whose small letter the charset also holds, and of those small letters."""
    partner, upper = case_partners(tokenizer)
    capitals = np.nonzero(upper)[0]
    return capitals.tolist(), partner[capitals].tolist()


def caseless_texts(texts: list[str], caseless: list[bool] | None) -> list[str]:
    """Each caseless label in capitals (letter by letter: the length never changes)."""
    if not caseless:
        return list(texts)
    return ["".join(c.upper() if len(c.upper()) == 1 else c for c in t) if cl else t
            for t, cl in zip(texts, caseless)]


def fold_case(log_probs: torch.Tensor, caseless: list[bool] | None, tokenizer,
              batch_dim: int = 0) -> torch.Tensor:
    """``log_probs`` (classes last) with, in the rows of the batch marked caseless, each
    capital's log-probability replaced by log(p(capital) + p(small letter)). Unchanged (the same
    tensor) when no row is caseless."""
    if not caseless or not any(caseless):
        return log_probs
    upper, lower = case_pairs(tokenizer)
    if not upper:
        return log_probs
    rows = torch.tensor(caseless, dtype=torch.bool, device=log_probs.device)
    shape = [1] * (log_probs.dim() - 1)
    shape[batch_dim] = len(caseless)
    rows = rows.view(*shape)
    up, low = torch.tensor(upper, device=log_probs.device), torch.tensor(lower, device=log_probs.device)
    folded_upper = torch.logaddexp(log_probs[..., up], log_probs[..., low])
    out = log_probs.clone()
    out[..., up] = torch.where(rows[..., None], folded_upper, log_probs[..., up])
    return out


def cross_entropy(logits: torch.Tensor, ids: torch.Tensor, caseless: list[bool] | None, tokenizer,
                  ignore_index: int, smoothing: float = 0.0) -> torch.Tensor:
    """``F.cross_entropy`` of per-slot ``logits`` (B, S, C) against ``ids`` (B, S), label-smoothed,
    with the caseless rows' targets scored on ``fold_case``'s log-probabilities (the smoothing
    term stays on the model's own)."""
    flat_logits, flat_ids = logits.float().flatten(0, 1), ids.flatten()
    if not caseless or not any(caseless):
        return F.cross_entropy(flat_logits, flat_ids, ignore_index=ignore_index, label_smoothing=smoothing)
    log_probs = logits.float().log_softmax(-1)
    nll = F.nll_loss(fold_case(log_probs, caseless, tokenizer).flatten(0, 1), flat_ids, ignore_index=ignore_index)
    keep = flat_ids != ignore_index
    uniform = -log_probs.flatten(0, 1)[keep].mean() if keep.any() else nll.new_zeros(())
    return (1 - smoothing) * nll + smoothing * uniform
