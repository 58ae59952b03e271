import math

import pytest
import torch

from ocr.models.recognition.ctc_decode import beam_decode, greedy_decode, lexicon_decode, sequence_log_prob
from ocr.text import CTCTokenizer, load_charset

TOK = CTCTokenizer(load_charset("lower36"))


def _frames(rows: list[dict[str, float]]) -> torch.Tensor:
    """(T, C) log-probs from per-frame {char: prob}; the rest of the mass goes to blank."""
    lp = torch.full((len(rows), len(TOK)), 1e-6)
    for t, row in enumerate(rows):
        for ch, p in row.items():
            lp[t, TOK.stoi[ch]] = p
        lp[t, 0] = max(1e-6, 1 - sum(row.values()))
    return (lp / lp.sum(1, keepdim=True)).log()


def test_greedy_text_and_confidence():
    lp = _frames([{"c": 0.9}, {"c": 0.8}, {}, {"a": 0.6}, {"t": 0.7}])
    (text, conf), = greedy_decode(lp[:, None], torch.tensor([5]), TOK)
    assert text == "cat"
    # geometric mean over the emitting frames, each character's best frame: 0.9, 0.6, 0.7
    assert conf == pytest.approx(math.exp((math.log(0.9) + math.log(0.6) + math.log(0.7)) / 3), rel=1e-3)


def test_greedy_respects_lengths():
    lp = _frames([{"a": 0.9}, {"b": 0.9}])
    (text, _), = greedy_decode(lp[:, None], torch.tensor([1]), TOK)
    assert text == "a"


def test_beam_beats_greedy_when_paths_merge():
    # Greedy picks blank at every frame (0.4 > 0.3), but "a" summed over its alignments is likelier.
    lp = _frames([{"a": 0.3, "b": 0.3}, {"a": 0.3, "b": 0.3}])
    (g, _), = greedy_decode(lp[:, None], torch.tensor([2]), TOK)
    assert g == ""
    best, score = beam_decode(lp, 2, TOK, beam=5)[0]
    assert best in ("a", "b")
    # P("a") = 0.3*0.4 + 0.4*0.3 + 0.3*0.3 = 0.33 > P("") = 0.16
    assert math.exp(score) == pytest.approx(0.33, rel=1e-3)
    assert math.exp(sequence_log_prob(lp, 2, "a", TOK)) == pytest.approx(0.33, rel=1e-3)


def test_beam_keeps_double_letters_only_with_a_blank_between():
    lp = _frames([{"o": 0.9}, {}, {"o": 0.9}])
    assert beam_decode(lp, 3, TOK)[0][0] == "oo"
    lp = _frames([{"o": 0.9}, {"o": 0.9}, {}])
    assert beam_decode(lp, 3, TOK)[0][0] == "o"


def test_lexicon_picks_the_closest_likely_word():
    lp = _frames([{"c": 0.9}, {"o": 0.5, "a": 0.4}, {"t": 0.9}])
    word, conf = lexicon_decode(lp, 3, TOK, ["cat", "dog", "cut"])
    assert word == "cat" and 0 < conf <= 1
    with pytest.raises(ValueError):
        lexicon_decode(lp, 3, TOK, [])


def test_ctc_loss_counts_only_the_frames_of_the_unpadded_image():
    from ocr.models.contract import TextTargets
    from ocr.models.recognition.ctc import crnn_vgg

    model = crnn_vgg(charset="lower36")
    a = model.tokenizer.encode(["a"])[0][0].item()
    logits = torch.full((1, 8, len(model.tokenizer)), -10.0)
    logits[0, :, model.tokenizer.blank] = 10.0
    logits[0, 5, a], logits[0, 5, model.tokenizer.blank] = 10.0, -10.0  # "a" only in a padded frame
    every_frame = model.loss(logits, TextTargets(["a"], [32]))["loss"].item()  # 32 px = all 8 frames
    image_frames = model.loss(logits, TextTargets(["a"], [16]))["loss"].item()  # 16 px = 4 frames
    assert every_frame < 0.01 and image_frames > 5.0
    assert model.postprocess(logits, widths=[32])[0][0] == "a" and model.postprocess(logits, widths=[16])[0][0] == ""


def test_crnn_reading_does_not_depend_on_the_batch():
    """Packed BiLSTM + grey past every read width: a crop's logits are the same alone or beside a
    far wider crop; without widths they are not."""
    from ocr.data.rec_transforms import pad_for_reading
    from ocr.models.recognition.ctc import crnn_resnet_small

    torch.manual_seed(0)
    model = crnn_resnet_small(charset="lower36").eval()
    for m in model.modules():  # trained BatchNorms shift grey away from zero, as zero padding is not
        if isinstance(m, torch.nn.BatchNorm2d):
            m.bias.data.normal_(0, 0.5)
    crop, wide = torch.rand(3, 32, 64) * 2 - 1, torch.rand(3, 32, 400) * 2 - 1
    with torch.no_grad():
        alone, read = pad_for_reading([crop])
        a = model(alone, widths=read)[0, :32]
        both, read2 = pad_for_reading([crop, wide])
        b = model(both, widths=read2)[0, :32]
        unpacked = model(both)[0, :32]
    assert read2[0] == read[0] == 64 + 64
    assert torch.allclose(a, b, atol=1e-4)
    assert not torch.allclose(a, unpacked, atol=1e-3)


def _greedy_reference(log_probs, lengths, tok):
    """The frame-by-frame loop greedy_decode replaces (collapse runs, drop blanks, each character's
    confidence the best frame of its run)."""
    best, ids = log_probs.max(dim=2)
    out = []
    for b in range(ids.shape[1]):
        seq, frame_lp, prev = [], [], tok.blank
        for t in range(int(lengths[b])):
            i, p = int(ids[t, b]), float(best[t, b])
            if i != tok.blank and i != prev:
                seq.append(i)
                frame_lp.append(p)
            elif i != tok.blank and frame_lp:
                frame_lp[-1] = max(frame_lp[-1], p)
            prev = i
        conf = math.exp(sum(frame_lp) / len(frame_lp)) if frame_lp else math.exp(float(best[: int(lengths[b]), b].mean()))
        out.append((tok.text_of(seq), conf))
    return out


def test_vectorised_greedy_decode_matches_the_frame_loop():
    tok = TOK
    torch.manual_seed(0)
    for _ in range(20):
        logits = torch.randn(12, 6, len(tok)) * 3
        logits[:, :, tok.blank] += torch.randn(12, 6) * 2  # long blank runs
        logits[:, :, 4:] -= 20  # three letters only: many runs of one letter
        lengths = torch.randint(1, 13, (6,))
        got = greedy_decode(logits.log_softmax(2), lengths, tok)
        ref = _greedy_reference(logits.log_softmax(2), lengths, tok)
        assert [t for t, _ in got] == [t for t, _ in ref]
        assert all(abs(a - b) < 1e-5 for (_, a), (_, b) in zip(got, ref))


def test_sequence_log_prob_is_the_ctc_loss_of_the_text():
    """The numpy forward algorithm agrees with PyTorch's CTC loss, repeated letters (which need a
    blank between) and empty text included."""
    gen = torch.Generator().manual_seed(0)
    lp = torch.randn(12, len(TOK), generator=gen).log_softmax(1)
    for text in ("cat", "aab", "oo", "a", "", "zzzzzz"):
        targets, tlen = TOK.encode([text])
        want = -torch.nn.functional.ctc_loss(lp[:, None], targets, torch.tensor([12]), tlen, blank=TOK.blank,
                                             reduction="sum").item() if text else lp[:, TOK.blank].sum().item()
        assert sequence_log_prob(lp, 12, text, TOK) == pytest.approx(want, rel=1e-5, abs=1e-5)
    assert sequence_log_prob(lp, 3, "abcd", TOK) == -math.inf  # 4 letters cannot fit in 3 frames
