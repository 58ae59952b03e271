"""Decoding for sequence recognizers (BOS/EOS/PAD tokens, ``SeqTokenizer``): greedy, beam search
over an autoregressive step function, and a lexicon constraint. CTC decoding is in ``ctc_decode``.

Confidence of a reading = geometric mean of the probabilities of its characters and its EOS.
"""
from __future__ import annotations

import math
from typing import Callable

import editdistance
import numpy as np
import torch

from ocr.models.recognition.case_prior import consistent_case
from ocr.text.tokenizer import SeqTokenizer


def greedy_decode(log_probs: torch.Tensor, tok: SeqTokenizer, case_prior: bool = True) -> list[tuple[str, float]]:
    """log_probs (B, L, C), one row per output slot -> [(text, confidence)], each cut at its
    first EOS (a reading with no EOS keeps every slot). ``case_prior``: each word's letters in
    one case pattern where the model was unsure (``case_prior.consistent_case``)."""
    best, ids = log_probs.float().max(dim=2)  # (B, L)
    rows = log_probs.float().cpu().numpy() if case_prior else None  # once for the batch
    out = []
    for b in range(ids.shape[0]):
        row = ids[b].tolist()
        end = row.index(tok.eos) + 1 if tok.eos in row else len(row)
        conf = math.exp(float(best[b, :end].mean())) if end else 0.0
        if case_prior and end:
            row = consistent_case(np.asarray(row[:end]), rows[b, :end], tok).tolist()
        out.append((tok.decode(row[:end]), conf))
    return out


def sequence_log_prob(log_probs: torch.Tensor, text: str, tok: SeqTokenizer) -> float:
    """log P(text) under per-slot log_probs (L, C): its characters then EOS, one per slot;
    ``-inf`` when the text needs more slots than there are."""
    ids = tok.ids_of(text) + [tok.eos]
    if len(ids) > log_probs.shape[0]:
        return -math.inf
    return float(log_probs[torch.arange(len(ids)), torch.tensor(ids)].sum())


def lexicon_decode(greedy_text: str, score: Callable[[str], float], lexicon: list[str],
                   shortlist: int = 20) -> tuple[str, float]:
    """The lexicon word with the highest ``score`` (its log-probability) among the ``shortlist``
    words closest (edit distance, case-insensitive) to the greedy reading."""
    if not lexicon:
        raise ValueError("lexicon is empty")
    guess = greedy_text.lower()
    near = sorted(lexicon, key=lambda w: editdistance.eval(guess, w.lower()))[:shortlist]
    word, lp = max(((w, score(w)) for w in near), key=lambda s: s[1])
    return word, math.exp(lp / (len(word) + 1)) if lp > -math.inf else 0.0


def read_slots(log_probs: torch.Tensor, tok: SeqTokenizer, lexicon=None) -> list[tuple[str, float]]:
    """Readings of per-slot log_probs (B, L, C): greedy (``greedy_decode``), or with a
    ``lexicon`` the word of it with the highest slot log-probability among those nearest the
    greedy reading (``lexicon_decode``)."""
    greedy = greedy_decode(log_probs, tok)
    if not lexicon:
        return greedy
    words = list(lexicon)
    return [lexicon_decode(text, lambda w, lp=log_probs[b]: sequence_log_prob(lp, w, tok), words)
            for b, (text, _) in enumerate(greedy)]


StepFn = Callable[[torch.Tensor], torch.Tensor]  # prefixes (K, t) from BOS -> next-token log-probs (K, C)


def beam_search(step: StepFn, tok: SeqTokenizer, max_length: int, beam: int) -> tuple[str, float]:
    """Beam search for one sample over an autoregressive ``step`` that reads whole prefixes (no
    cache): ``beam_search_cached`` with the prefixes themselves as the state."""
    def feed(last: torch.Tensor, prefixes: torch.Tensor):
        prefixes = torch.cat([prefixes, last[:, None]], 1)
        return step(prefixes), prefixes

    return beam_search_cached(feed, torch.zeros(1, 0, dtype=torch.long), lambda prefixes, idx: prefixes[idx],
                              tok, max_length, beam)


def beam_search_cached(step, state, reorder, tok: SeqTokenizer, max_length: int, beam: int,
                       stop: Callable[[list[int]], bool] | None = None) -> tuple[str, float]:
    """Beam search for one sample over a step function with a cache: ``step(last (K,), state) ->
    (log-probs (K, C), state)`` feeds one token per hypothesis; ``reorder(state, idx)`` keeps the
    cache rows of the surviving hypotheses. ``stop(ids)`` ends a hypothesis early (e.g. a loop)."""
    alive = [([tok.bos], 0.0)]
    done: list[tuple[list[int], float]] = []
    for _ in range(max_length + 1):
        lp, state = step(torch.tensor([p[-1] for p, _ in alive], dtype=torch.long), state)
        lp = lp.float()
        lp[:, [tok.bos, tok.pad]] = -math.inf
        cand = []
        for k, (prefix, score) in enumerate(alive):
            top = torch.topk(lp[k], min(beam, lp.shape[1]))
            cand += [(k, prefix + [int(i)], score + float(v)) for v, i in zip(top.values, top.indices)]
        cand.sort(key=lambda c: -c[2])
        keep, alive = [], []
        for k, prefix, score in cand[:beam]:
            if prefix[-1] == tok.eos or (stop is not None and stop(prefix[1:])):
                done.append((prefix, score))
            else:
                keep.append(k)
                alive.append((prefix, score))
        if not alive or len(done) >= beam:
            break
        state = reorder(state, torch.tensor(keep, dtype=torch.long))
    pool = done or alive
    prefix, score = max(pool, key=lambda c: c[1] / (len(c[0]) - 1))
    return tok.decode(prefix[1:]), math.exp(score / (len(prefix) - 1))
