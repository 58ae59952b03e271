"""A bidirectional LSTM over a padded batch in which each sequence has its own length, computed
without packing.

``nn.LSTM`` on a packed sequence runs a loop of small matrix products on CPU. The same result comes
from two unpacked LSTMs per layer, which take oneDNN's fused kernel: the forward direction over
the padded batch as it is (a frame never depends on the frames after it), the backward direction
over every sequence reversed within its own length (so its padding comes after it, where it cannot
reach the real frames), reversed back. On rec_default's training batches this is about twice as
fast as the packed LSTM on CPU, forward and backward (``tools/bench_train.py``).
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


def bilstm_within_lengths(rnn: nn.LSTM, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """What ``rnn`` gives for ``pack_padded_sequence(x, lengths)`` once padded back (zeros past
    each length): ``x`` (B, T, C) batch-first, ``lengths`` (B,) frames of each sequence."""
    if not (rnn.bidirectional and rnn.batch_first and rnn.bias and rnn.proj_size == 0):
        raise ValueError("bilstm_within_lengths: a batch-first bidirectional LSTM with biases and no projection")
    steps = torch.arange(x.shape[1], device=x.device)[None]
    lengths = lengths.to(x.device)[:, None]
    inside = steps < lengths
    reverse = torch.where(inside, lengths - 1 - steps, steps)  # its own inverse
    for layer in range(rnn.num_layers):
        if layer and rnn.dropout:
            x = F.dropout(x, rnn.dropout, rnn.training)
        forward = _one_direction(rnn, layer, "", x)
        backward = _reorder(_one_direction(rnn, layer, "_reverse", _reorder(x, reverse)), reverse)
        x = torch.cat([forward, backward], dim=2)
    return x * inside[..., None].to(x.dtype)


def run_bilstm(rnn: nn.LSTM, x: torch.Tensor, lengths: torch.Tensor, packed: bool = False) -> torch.Tensor:
    """``rnn`` over ``x`` (B, T, C) with each sequence cut at its length: on packed sequences when
    exporting to ONNX (the LSTM's sequence_lens) or when ``packed``, else ``bilstm_within_lengths``
    (the same result, faster on CPU). Every sequence reads at least one frame."""
    lengths = lengths.clamp(min=1)
    if packed or torch.onnx.is_in_onnx_export():
        seq = nn.utils.rnn.pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        seq, _ = rnn(seq)
        return nn.utils.rnn.pad_packed_sequence(seq, batch_first=True, total_length=x.shape[1])[0]
    return bilstm_within_lengths(rnn, x, lengths)


def _reorder(x: torch.Tensor, order: torch.Tensor) -> torch.Tensor:
    """``x[b, order[b, t]]`` for every (b, t)."""
    return torch.gather(x, 1, order[..., None].expand_as(x))


def _one_direction(rnn: nn.LSTM, layer: int, suffix: str, x: torch.Tensor) -> torch.Tensor:
    """One direction of one layer of ``rnn`` over ``x`` (B, T, C), from zero state."""
    params = [getattr(rnn, f"{name}_l{layer}{suffix}") for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
    zeros = x.new_zeros(1, x.shape[0], rnn.hidden_size)
    out, _, _ = torch.lstm(x, (zeros, zeros), params, True, 1, 0.0, rnn.training, False, True)
    return out
