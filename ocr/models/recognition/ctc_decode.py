"""CTC decoding: greedy, prefix beam search, and a lexicon constraint."""
from __future__ import annotations

import math
from collections import defaultdict

import editdistance
import numpy as np
import torch

from ocr.text.tokenizer import CTCTokenizer


def greedy_decode(log_probs: torch.Tensor, lengths: torch.Tensor, tok: CTCTokenizer) -> list[tuple[str, float]]:
    """log_probs (T, B, C) -> [(text, confidence)]; confidence = geometric mean, over the emitted
    characters, of the highest probability among the frames of each one's run (the mean frame
    probability for empty text). Vectorised per sample: runs of one label collapse, blanks drop."""
    best, ids = log_probs.max(dim=2)  # (T, B)
    best, ids = best.float().cpu().numpy(), ids.cpu().numpy()
    out = []
    for b in range(ids.shape[1]):
        t_len = int(lengths[b])
        seq, lp = ids[:t_len, b], best[:t_len, b]
        char = seq != tok.blank
        starts = char & (seq != np.concatenate(([tok.blank], seq[:-1])))  # a new character begins
        if not starts.any():
            out.append((tok.text_of([]), float(math.exp(lp.mean())) if t_len else 1.0))
            continue
        run = np.cumsum(starts)[char] - 1  # the character each non-blank frame belongs to
        peak = np.full(int(starts.sum()), -np.inf, np.float32)
        np.maximum.at(peak, run, lp[char])
        out.append((tok.text_of(seq[starts].tolist()), float(math.exp(peak.mean()))))
    return out


def _logsumexp(a: float, b: float) -> float:
    if a == -math.inf:
        return b
    if b == -math.inf:
        return a
    m = max(a, b)
    return m + math.log(math.exp(a - m) + math.exp(b - m))


def beam_decode(log_probs: torch.Tensor, length: int, tok: CTCTokenizer, beam: int = 10,
                prune: float = -12.0) -> list[tuple[str, float]]:
    """CTC prefix beam search for one sample: log_probs (T, C). Returns the ``beam`` best
    (text, log-probability) pairs, best first."""
    lp = log_probs[:length].float().cpu().numpy()
    beams = {(): (0.0, -math.inf)}  # prefix -> (log p ending in blank, log p ending in non-blank)
    for t in range(lp.shape[0]):
        cand = np.nonzero(lp[t] > prune)[0]
        nxt = defaultdict(lambda: (-math.inf, -math.inf))
        for prefix, (pb, pnb) in beams.items():
            total = _logsumexp(pb, pnb)
            for c in cand:
                p = float(lp[t, c])
                if c == tok.blank:
                    b_, nb_ = nxt[prefix]
                    nxt[prefix] = (_logsumexp(b_, total + p), nb_)
                    continue
                new = prefix + (int(c),)
                b_, nb_ = nxt[new]
                if prefix and prefix[-1] == c:
                    nxt[new] = (b_, _logsumexp(nb_, pb + p))  # repeat needs a blank between
                    b2, nb2 = nxt[prefix]
                    nxt[prefix] = (b2, _logsumexp(nb2, pnb + p))  # collapse into the same char
                else:
                    nxt[new] = (b_, _logsumexp(nb_, total + p))
        beams = dict(sorted(nxt.items(), key=lambda kv: -_logsumexp(*kv[1]))[:beam])
    ranked = sorted(beams.items(), key=lambda kv: -_logsumexp(*kv[1]))
    return [(tok.text_of(list(p)), _logsumexp(*s)) for p, s in ranked]


def sequence_log_prob(log_probs: torch.Tensor, length: int, text: str, tok: CTCTokenizer) -> float:
    """log P(text | frames) under CTC, for one sample's (T, C) log-probs."""
    targets, tlen = tok.encode([text])
    if int(tlen[0]) == 0:
        return float(log_probs[:length, tok.blank].sum())
    loss = torch.nn.functional.ctc_loss(log_probs[:length, None].float(), targets, torch.tensor([length]),
                                        tlen, blank=tok.blank, reduction="sum", zero_infinity=False)
    return -float(loss)


def lexicon_decode(log_probs: torch.Tensor, length: int, tok: CTCTokenizer, lexicon: list[str],
                   shortlist: int = 20) -> tuple[str, float]:
    """The lexicon word with the highest CTC probability among the ``shortlist`` words closest
    (edit distance, case-insensitive) to the greedy reading."""
    if not lexicon:
        raise ValueError("lexicon is empty")
    guess = greedy_decode(log_probs[:, None], torch.tensor([length]), tok)[0][0].lower()
    near = sorted(lexicon, key=lambda w: editdistance.eval(guess, w.lower()))[:shortlist]
    scored = [(w, sequence_log_prob(log_probs, length, w, tok)) for w in near]
    word, lp = max(scored, key=lambda s: s[1])
    return word, float(math.exp(lp / max(1, len(word))))
