"""Caseless labels: a store whose labels tell no case trains each letter in either case."""
import torch
import torch.nn.functional as F

from ocr.data.rec_dataset import MixedDataset, RecLmdbDataset, collate_rec
from ocr.engine.config import config_from_dict
from ocr.models.contract import TextTargets
from ocr.models.recognition import caseless
from ocr.models.recognition.ctc import crnn_resnet_small
from ocr.models.recognition.cppd import cppd_resnet_small
from ocr.text import load_charset
from ocr.text.tokenizer import CTCTokenizer, SeqTokenizer
from tests.helpers import make_rec_lmdb


def test_case_pairs_cover_the_letters_of_the_charset():
    tok = CTCTokenizer(load_charset("ascii95"))
    upper, lower = caseless.case_pairs(tok)
    assert len(upper) == 26
    assert all(tok.itos[u].lower() == tok.itos[lo] for u, lo in zip(upper, lower))
    assert caseless.case_pairs(CTCTokenizer(load_charset("lower36"))) == ([], [])


def test_fold_case_merges_a_capital_with_its_small_letter_in_caseless_rows_only():
    tok = CTCTokenizer(load_charset("ascii95"))
    log_probs = torch.randn(3, 5, len(tok)).log_softmax(-1)  # (B, T, C)
    folded = caseless.fold_case(log_probs, [False, True, False], tok)
    a, A = tok.stoi["a"], tok.stoi["A"]
    assert torch.allclose(folded[1, :, A].exp(), log_probs[1, :, A].exp() + log_probs[1, :, a].exp())
    assert torch.equal(folded[1, :, a], log_probs[1, :, a])  # small letters and digits untouched
    assert torch.equal(folded[1, :, tok.stoi["7"]], log_probs[1, :, tok.stoi["7"]])
    assert torch.equal(folded[[0, 2]], log_probs[[0, 2]])
    assert caseless.fold_case(log_probs, [False] * 3, tok) is log_probs
    time_major = caseless.fold_case(log_probs.transpose(0, 1), [False, True, False], tok, batch_dim=1)
    assert torch.equal(time_major.transpose(0, 1), folded)


def test_caseless_texts_are_capitals_of_the_same_length():
    assert caseless.caseless_texts(["Taman sri 25", "Seksyen"], [True, False]) == ["TAMAN SRI 25", "Seksyen"]
    assert caseless.caseless_texts(["ab"], None) == ["ab"]


def _ctc_logits_reading(tok, text: str, frames: int) -> torch.Tensor:
    """Logits (1, T, C) that read ``text`` confidently: each character then a blank."""
    logits = torch.full((1, frames, len(tok)), -8.0)
    logits[0, :, tok.blank] = 8.0
    for k, c in enumerate(text):
        logits[0, 2 * k, tok.stoi[c]] = 8.0
        logits[0, 2 * k, tok.blank] = -8.0
    return logits


def test_crnn_loss_accepts_either_case_for_a_caseless_label():
    model = crnn_resnet_small(hidden=16, num_layers=1)
    logits = _ctc_logits_reading(model.tokenizer, "taman", 16)
    strict = model.loss(logits, TextTargets(["TAMAN"], [64]))["loss"]
    loose = model.loss(logits, TextTargets(["TAMAN"], [64], caseless=[True]))["loss"]
    right = model.loss(logits, TextTargets(["taman"], [64]))["loss"]
    assert loose < 0.01 and strict > 10  # the small letters read are right when case is unknown
    assert torch.allclose(loose, right, atol=1e-3)
    wrong = model.loss(logits, TextTargets(["TAMEN"], [64], caseless=[True]))["loss"]
    assert wrong > 2  # only case is forgiven (one letter wrong of five; the loss is per label character)


def test_crnn_loss_gradient_reaches_both_cases():
    model = crnn_resnet_small(hidden=16, num_layers=1)
    tok = model.tokenizer
    logits = torch.zeros(1, 8, len(tok), requires_grad=True)
    model.loss(logits, TextTargets(["A"], [32], caseless=[True]))["loss"].backward()
    grad = logits.grad[0].sum(0)
    assert grad[tok.stoi["A"]] < 0 and grad[tok.stoi["a"]] < 0 and grad[tok.stoi["b"]] > 0


def test_cross_entropy_is_torchs_without_caseless_rows_and_forgives_case_with_them():
    tok = SeqTokenizer(load_charset("ascii95"))
    logits = torch.randn(2, 4, len(tok))
    ids = torch.tensor([[tok.stoi["A"], tok.stoi["b"], tok.eos, tok.pad]] * 2)
    ref = F.cross_entropy(logits.flatten(0, 1), ids.flatten(), ignore_index=tok.pad, label_smoothing=0.1)
    assert torch.equal(caseless.cross_entropy(logits, ids, None, tok, tok.pad, 0.1), ref)
    assert torch.allclose(caseless.cross_entropy(logits, ids, [False, False], tok, tok.pad, 0.1), ref)
    logits[:, 0, tok.stoi["a"]] = 20.0  # reads a small "a" where the label says "A"
    strict = caseless.cross_entropy(logits, ids, [False, False], tok, tok.pad, 0.0)
    loose = caseless.cross_entropy(logits, ids, [True, True], tok, tok.pad, 0.0)
    assert loose < strict - 3


def test_cppd_count_targets_skip_cased_letters_of_caseless_labels():
    model = cppd_resnet_small(dim=32, heads=2, enc_layers=1, dec_layers=1, max_length=8)
    model.train()
    images = torch.rand(2, 3, 32, 64)
    targets = TextTargets(["Ab1", "Ab1"], [64, 64])
    out = model(images, targets=targets)
    both = model.loss(out, TextTargets(["Ab1", "Ab1"], [64, 64], caseless=[True, True]))
    plain = model.loss(out, targets)
    assert torch.isfinite(both["loss"]) and not torch.allclose(both["count"], plain["count"])


def test_a_caseless_store_flags_its_samples_through_the_loader(tmp_path):
    charset = load_charset("ascii95")
    cased = RecLmdbDataset(make_rec_lmdb(tmp_path / "a", ["Taman"]), charset)
    capitals = RecLmdbDataset(make_rec_lmdb(tmp_path / "b", ["TAMAN"]), charset, caseless=True)
    mixed = MixedDataset([cased, capitals])
    _, labels = collate_rec([mixed[(0, 0)], mixed[(1, 1)]], trailing_pad=0.5)
    assert labels.texts == ["Taman", "TAMAN"] and labels.caseless == [False, True]
    assert collate_rec([mixed[(0, 0)]])[1].caseless is None


def test_recipes_mark_a_source_caseless():
    cfg = config_from_dict({"model": "crnn_resnet_small", "task": "recognition", "out": "x",
                            "train": [{"path": "a"}, {"path": "b", "caseless": True}]}, "recipe")
    assert [s.caseless for s in cfg.train] == [False, True]
