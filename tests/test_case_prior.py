"""One case pattern per word where the recognizer was unsure of a letter's case."""
import numpy as np
import torch

from ocr.models.recognition.case_prior import FLIP_COST, consistent_case
from ocr.models.recognition.ctc_decode import greedy_decode as ctc_greedy
from ocr.models.recognition.seq_decode import greedy_decode as seq_greedy
from ocr.text import load_charset
from ocr.text.tokenizer import CTCTokenizer, SeqTokenizer


def _rows(tok, text: str, unsure: dict[int, float]) -> tuple[np.ndarray, np.ndarray]:
    """Ids of ``text`` and log-prob rows reading it: each character at 0.9, its other case at
    0.1, except positions in ``unsure`` whose other case gets that probability (the rest of 1)."""
    ids = np.asarray(tok.ids_of(text))
    p = np.full((len(ids), len(tok)), 1e-6)
    for k, (i, c) in enumerate(zip(ids, text)):
        other = unsure.get(k, 0.01)
        p[k, i] = 1 - other
        if c.swapcase() != c:
            p[k, tok.stoi[c.swapcase()]] = other
    return ids, np.log(p)


def _read(tok, ids) -> str:
    return tok.text_of(ids.tolist())


def test_unsure_stray_capitals_follow_the_word():
    tok = CTCTokenizer(load_charset("ascii95"))
    ids, rows = _rows(tok, "TaMan Sri", {2: 0.4})  # "M" read at 0.6, "m" at 0.4
    assert _read(tok, consistent_case(ids, rows, tok)) == "Taman Sri"
    ids, rows = _rows(tok, "SekSyEN 25", {1: 0.3, 2: 0.3, 4: 0.45})  # small e, k, y unsure
    assert _read(tok, consistent_case(ids, rows, tok)) == "SEKSYEN 25"


def test_confident_or_patterned_words_stay_as_read():
    tok = CTCTokenizer(load_charset("ascii95"))
    for text in ["McDonald", "iPhone"]:  # mixed, but every letter read at 0.99
        ids, rows = _rows(tok, text, {})
        assert _read(tok, consistent_case(ids, rows, tok)) == text
    for text in ["TOTAL", "total", "Total", "GST(RM) 5505P0S004", "a", "25.00"]:
        ids, rows = _rows(tok, text, {k: 0.49 for k in range(len(text))})
        assert _read(tok, consistent_case(ids, rows, tok)) == text


def test_flips_stop_at_the_cost_limit():
    tok = CTCTokenizer(load_charset("ascii95"))
    # letters read at 0.5 / 0.5 flip for nothing; the sure small "r" (0.99 / 0.01) keeps them small
    ids, rows = _rows(tok, "rOUNDiNG", {k: 0.5 for k in range(1, 8)})
    assert _read(tok, consistent_case(ids, rows, tok)) == "rounding"
    ids, rows = _rows(tok, "ABcd", {})  # every letter sure: the cheapest pattern, Abcd, costs 4.6 nats
    cost = np.log(0.99) - np.log(0.01)
    assert cost > FLIP_COST
    assert _read(tok, consistent_case(ids, rows, tok)) == "ABcd"
    assert _read(tok, consistent_case(ids, rows, tok, max_cost=cost + 1e-3)) == "Abcd"


def test_ctc_greedy_reading_uses_each_characters_peak_frame():
    tok = CTCTokenizer(load_charset("ascii95"))
    text = "TaMan"
    frames = []
    for k, c in enumerate(text):
        row = np.full(len(tok), 1e-6)
        row[tok.stoi[c]] = 0.6 if c == "M" else 0.95
        if c == "M":
            row[tok.stoi["m"]] = 0.4
        frames += [row, np.eye(len(tok))[tok.blank] * 0.99 + 1e-6]
    log_probs = np.log(np.stack(frames))[:, None]  # (T, 1, C)
    (fixed, conf), = ctc_greedy(log_probs, [len(frames)], tok)
    (raw, conf_raw), = ctc_greedy(log_probs, [len(frames)], tok, case_prior=False)
    assert (fixed, raw) == ("Taman", "TaMan") and conf == conf_raw


def test_slot_greedy_reading_follows_the_word_too():
    tok = SeqTokenizer(load_charset("ascii95"))
    ids, rows = _rows(tok, "AfTer", {0: 0.3, 2: 0.45})
    eos = np.full((1, len(tok)), np.log(1e-6))
    eos[0, tok.eos] = 0.0
    log_probs = torch.from_numpy(np.concatenate([rows, eos]))[None].float()
    assert seq_greedy(log_probs, tok)[0][0] == "After"
    assert seq_greedy(log_probs, tok, case_prior=False)[0][0] == "AfTer"
