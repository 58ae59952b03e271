"""One case pattern per word: the stray capitals (or small letters) of a greedy reading set right
where the model was unsure of them.

A CTC or slot recognizer decides each letter's case on its own, and letters whose two cases differ
mostly in size (c o s u v w x z, k p y...) come out mixed: "TaMan", "SekSyEN", "AfTer". Words are
written in capitals, in small letters, or capitalized. A token (space to space) whose letters
follow none of these three patterns is rewritten in the nearest one when the flips together cost
the model at most ``FLIP_COST`` nats: the sum, over the letters flipped, of log p(case read) -
log p(other case) where it read them (a CTC character's peak frame, a decoder's slot). Mixed-case
words read with confidence ("McDonald", "iPhone", codes) stay as read. Only the letters' case ever
changes, never which letters are read.
"""
from __future__ import annotations

import numpy as np

# nats. On the validation crops (p10, PyTorch fp32, no straightening) word accuracy with case
# rose for every flip cost from 1 to 5 and then fell on ICDAR2013 at 8; see the README.
FLIP_COST = 3.0


def case_partners(tok) -> tuple[np.ndarray, np.ndarray]:
    """Per token id: the id of the same letter in the other case (-1: none) and whether it is a
    capital. Cached on the tokenizer."""
    cached = getattr(tok, "_case_partners", None)
    if cached is None:
        partner = np.full(len(tok.itos), -1, np.int64)
        upper = np.zeros(len(tok.itos), bool)
        for c, i in tok.stoi.items():
            other = c.swapcase()
            if other != c and len(other) == 1 and other in tok.stoi:
                partner[i], upper[i] = tok.stoi[other], c.isupper()
        cached = tok._case_partners = (partner, upper)
    return cached


def consistent_case(ids: np.ndarray, rows: np.ndarray, tok, max_cost: float = FLIP_COST) -> np.ndarray:
    """``ids`` (N,) of one reading with ``rows`` (N, C), the log-probabilities each was read
    from -> the ids with each token's letters in the cheapest of the three case patterns, where
    the token's own pattern is none of them and the flips cost at most ``max_cost``."""
    partner, upper = case_partners(tok)
    ids = np.asarray(ids, np.int64)
    letters = partner[ids] >= 0
    if letters.sum() < 2:
        return ids
    out = ids.copy()
    space = tok.stoi.get(" ", -1)
    token = np.cumsum(ids == space)
    for t in np.unique(token[letters]):
        pos = np.nonzero(letters & (token == t))[0]
        flags = upper[ids[pos]]
        if len(pos) < 2 or flags.all() or not flags.any() or (flags[0] and not flags[1:].any()):
            continue
        gap = rows[pos, ids[pos]] - rows[pos, partner[ids[pos]]]  # what flipping each letter costs
        patterns = np.ones((3, len(pos)), bool)
        patterns[1] = False
        patterns[2, 1:] = False
        costs = [(gap * (p != flags)).sum() for p in patterns]
        best = int(np.argmin(costs))
        if costs[best] <= max_cost:
            flip = pos[patterns[best] != flags]
            out[flip] = partner[ids[flip]]
    return out
