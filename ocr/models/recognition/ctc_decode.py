"""CTC decoding: greedy, prefix beam search, and a lexicon constraint, in numpy.

``CTCDecoder`` turns a CRNN's logits into (text, confidence) pairs. It needs no PyTorch: the same
decoder serves the PyTorch model (``ctc.CRNN.postprocess``) and its ONNX file run alone
(``ocr.runtime.standalone``), which rebuilds it from ``spec()``.
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

import editdistance
import numpy as np

from ocr.models.decoding import GREEDY, DecodeOptions, as_numpy
from ocr.models.recognition.case_prior import consistent_case
from ocr.text.charset import Charset
from ocr.text.tokenizer import CTCTokenizer


def log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    x = x - x.max(axis=axis, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=axis, keepdims=True))


@dataclass(frozen=True)
class CTCDecoder:
    """Logits (B, T, C) of a CTC recognizer whose frames each cover ``stride`` input columns ->
    [(text, confidence)]."""

    tokenizer: CTCTokenizer
    stride: int

    def frame_lengths(self, widths: list[int | None], frames: int) -> list[int]:
        """Frames that hold each image of a padded batch (``None``: all of them)."""
        return [frames if w is None else max(1, min(frames, -(-int(w) // self.stride))) for w in widths]

    def __call__(self, logits, widths: list[int] | None = None, options: DecodeOptions = GREEDY) -> list[tuple[str, float]]:
        """``widths`` (input widths before padding) trims each sample's frames; ``options.beam`` > 1
        uses prefix beam search; ``options.lexicon`` constrains the output."""
        log_probs = log_softmax(as_numpy(logits), 2)  # (B, T, C)
        lengths = self.frame_lengths(widths or [None] * len(log_probs), log_probs.shape[1])
        if options.lexicon:
            return [lexicon_decode(log_probs[b], lengths[b], self.tokenizer, list(options.lexicon))
                    for b in range(len(log_probs))]
        if options.beam > 1:
            out = []
            for b in range(len(log_probs)):
                text, lp = beam_decode(log_probs[b], lengths[b], self.tokenizer, options.beam)[0]
                out.append((text, math.exp(lp / max(1, len(text)))))
            return out
        return greedy_decode(log_probs.transpose(1, 0, 2), lengths, self.tokenizer)

    def spec(self) -> dict:
        """What ``from_spec`` rebuilds it from (JSON)."""
        return {"kind": "ctc", "charset": self.tokenizer.charset.name, "chars": self.tokenizer.charset.chars,
                "stride": self.stride}

    @classmethod
    def from_spec(cls, spec: dict) -> CTCDecoder:
        return cls(CTCTokenizer(Charset(spec["charset"], spec["chars"])), int(spec["stride"]))


def greedy_decode(log_probs, lengths, tok: CTCTokenizer, case_prior: bool = True) -> list[tuple[str, float]]:
    """log_probs (T, B, C) -> [(text, confidence)]; confidence = geometric mean, over the emitted
    characters, of the highest probability among the frames of each one's run (the mean frame
    probability for empty text). Vectorised per sample: runs of one label collapse, blanks drop.
    ``case_prior``: each word's letters in one case pattern where the model was unsure
    (``case_prior.consistent_case``, judged at each character's peak frame)."""
    log_probs = as_numpy(log_probs)
    ids = log_probs.argmax(axis=2)  # (T, B)
    best = np.take_along_axis(log_probs, ids[..., None], axis=2)[..., 0]
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
        frames, lp_char = np.nonzero(char)[0], lp[char]
        order = np.lexsort((-lp_char, run))  # by character, its most probable frame first
        peak_at = order[np.concatenate(([True], np.diff(run[order]) > 0))]
        chars = seq[starts]
        if case_prior:
            chars = consistent_case(chars, log_probs[frames[peak_at], b], tok)
        out.append((tok.text_of(chars.tolist()), float(math.exp(lp_char[peak_at].mean()))))
    return out


def _logsumexp(a: float, b: float) -> float:
    if a == -math.inf:
        return b
    if b == -math.inf:
        return a
    m = max(a, b)
    return m + math.log(math.exp(a - m) + math.exp(b - m))


def beam_decode(log_probs, length: int, tok: CTCTokenizer, beam: int = 10,
                prune: float = -12.0) -> list[tuple[str, float]]:
    """CTC prefix beam search for one sample: log_probs (T, C). Returns the ``beam`` best
    (text, log-probability) pairs, best first."""
    lp = as_numpy(log_probs)[:length]
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


def sequence_log_prob(log_probs, length: int, text: str, tok: CTCTokenizer) -> float:
    """log P(text | frames) under CTC, for one sample's (T, C) log-probs: the forward algorithm
    over the label sequence with blanks between and around its characters."""
    lp = as_numpy(log_probs)[:length].astype(np.float64)
    labels = tok.ids_of(text)
    ext = np.full(2 * len(labels) + 1, tok.blank)
    ext[1::2] = labels
    # a state may also come from two back: a character after a blank, unless it repeats the last one
    skip = np.zeros(len(ext), bool)
    skip[3::2] = ext[3::2] != ext[1:-2:2]
    alpha = np.full(len(ext), -np.inf)
    alpha[:2] = lp[0, ext[:2]] if len(lp) else -np.inf
    for t in range(1, len(lp)):
        prev = alpha.copy()
        prev[1:] = np.logaddexp(prev[1:], alpha[:-1])
        prev[2:] = np.where(skip[2:], np.logaddexp(prev[2:], alpha[:-2]), prev[2:])
        alpha = prev + lp[t, ext]
    return float(np.logaddexp(alpha[-1], alpha[-2]) if len(ext) > 1 else alpha[-1])


def lexicon_decode(log_probs, length: int, tok: CTCTokenizer, lexicon: list[str],
                   shortlist: int = 20) -> tuple[str, float]:
    """The lexicon word with the highest CTC probability among the ``shortlist`` words closest
    (edit distance, case-insensitive) to the greedy reading."""
    if not lexicon:
        raise ValueError("lexicon is empty")
    log_probs = as_numpy(log_probs)
    guess = greedy_decode(log_probs[:, None], [length], tok, case_prior=False)[0][0].lower()
    near = sorted(lexicon, key=lambda w: editdistance.eval(guess, w.lower()))[:shortlist]
    scored = [(w, sequence_log_prob(log_probs, length, w, tok)) for w in near]
    word, lp = max(scored, key=lambda s: s[1])
    return word, float(math.exp(lp / max(1, len(word))))
