"""Metrics against hand-computed cases (the arithmetic is in the comments)."""
import pytest

from ocr.engine.metrics import (DetectionScore, accuracy_by_length, cer, evaluate_detection,
                                normalize_36, one_minus_ned, page_cer, page_scores,
                                recognition_report, to_polygon, wer, word_accuracy, word_f1)


def box(x0, y0, x1, y1):
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]


# ------------------------------------------------------------------ recognition
def test_normalize_36():
    assert normalize_36("Hello, World-42!") == "helloworld42"
    assert normalize_36("Çafé") == "af"  # Ç and é are outside 0-9a-z: dropped, not folded


def test_word_accuracy_modes():
    preds, gts = ["HELLO", "wor1d", "x"], ["hello!", "world", "X"]
    # 36: hello==hello yes, wor1d!=world, x==x yes -> 2/3
    assert word_accuracy(preds, gts) == pytest.approx(2 / 3)
    # cased: HELLO!=hello!, wor1d!=world, x!=X -> 0/3
    assert word_accuracy(preds, gts, mode="cased") == 0.0
    with pytest.raises(ValueError):
        word_accuracy(preds, gts, mode="nope")
    with pytest.raises(ValueError):
        word_accuracy(["a"], [])


def test_one_minus_ned():
    preds, gts = ["abc", "", "kitten"], ["abd", "", "sitting"]
    # abc/abd: ED 1, max len 3 -> 2/3; ""/"": 1; kitten/sitting: ED 3, max 7 -> 4/7
    # mean = (14/21 + 21/21 + 12/21) / 3 = 47/63
    assert one_minus_ned(preds, gts) == pytest.approx(47 / 63)
    # raw strings: "A-b" vs "ab": ED 2 (drop '-', A->a), max 3 -> 1/3; normalised: equal -> 1
    assert one_minus_ned(["A-b"], ["ab"], normalize=False) == pytest.approx(1 / 3)
    assert one_minus_ned(["A-b"], ["ab"]) == 1.0


def test_cer_and_wer():
    # ED(kitten, sitting)=3, ED(abc, abc)=0; gt chars 7+3=10 -> 0.3
    assert cer(["kitten", "abc"], ["sitting", "abc"]) == pytest.approx(0.3)
    # word ED: [the cat sat] vs [the cat sat down] = 1; [hello] vs [hello world] = 1;
    # gt words 4 + 2 = 6 -> 2/6
    assert wer(["the cat sat", "hello"], ["the cat sat down", "hello world"]) == pytest.approx(1 / 3)


def test_accuracy_by_length():
    preds = ["ab", "abcd", "abcdx", "abcdefghijk"]
    gts = ["ab", "abcd", "abcde", "abcdefghijk"]
    out = accuracy_by_length(preds, gts)
    # 1-3: "ab" right -> 1/1; 4-6: abcd right, abcdx wrong -> 1/2; 7-9: none; 10+: 1/1
    assert out["1-3"] == {"n": 1, "accuracy": 1.0}
    assert out["4-6"] == {"n": 2, "accuracy": 0.5}
    assert out["7-9"]["n"] == 0
    assert out["10+"] == {"n": 1, "accuracy": 1.0}
    assert recognition_report(preds, gts)["accuracy_36"] == 0.75


# -------------------------------------------------------------------- detection
def test_detection_hand_case():
    gts = [box(0, 0, 10, 10), box(20, 0, 30, 10), box(50, 0, 60, 10)]
    ignore = [False, False, True]
    preds = [box(0, 0, 10, 9),      # with gt0: inter 90, union 100 -> IoU .9 -> match
             box(25, 0, 35, 10),    # with gt1: inter 50, union 150 -> IoU .33 -> miss
             box(51, 0, 61, 10),    # 90 of its 100 inside the don't-care -> discarded
             box(100, 100, 110, 110)]  # false alarm
    r = evaluate_detection([preds], [gts], [ignore])
    # tp 1, counted preds 3, counted gts 2: P = 1/3, R = 1/2, H = 2*(1/6)/(5/6) = 0.4
    assert (r["tp"], r["num_pred"], r["num_gt"]) == (1, 3, 2)
    assert r["precision"] == pytest.approx(1 / 3)
    assert r["recall"] == pytest.approx(0.5)
    assert r["hmean"] == pytest.approx(0.4)


def test_detection_one_to_one_and_threshold():
    gts = [box(0, 0, 10, 10)]
    # two identical predictions on one gt: one tp, one false alarm -> P 1/2, R 1
    r = evaluate_detection([[box(0, 0, 10, 10), box(0, 0, 10, 10)]], [gts])
    assert (r["tp"], r["num_pred"]) == (1, 2)
    # IoU exactly 0.5 (inter 50, union 100) is not a match (strictly greater, as ICDAR)
    r = evaluate_detection([[box(0, 0, 10, 5)]], [gts])
    assert r["tp"] == 0 and r["hmean"] == 0.0


def test_detection_accumulates_over_images_and_empty():
    s = DetectionScore()
    assert s.update([box(0, 0, 10, 10)], [box(0, 0, 10, 10)]) == 1
    assert s.update([], [box(0, 0, 5, 5)]) == 0
    # tp 1 of 1 pred, of 2 gts -> P 1, R .5, H 2/3
    assert s.result()["hmean"] == pytest.approx(2 / 3)
    # nothing to find, nothing claimed -> perfect by convention
    assert evaluate_detection([[]], [[]])["hmean"] == 1.0


def test_invalid_polygon_repaired():
    bowtie = [[0, 0], [10, 10], [10, 0], [0, 10]]
    # self-intersecting: make_valid gives two triangles of 25 each
    assert to_polygon(bowtie).area == pytest.approx(50)
    # against the square: inter 50, union 100 -> IoU 0.5 -> no match, but no crash
    assert evaluate_detection([[bowtie]], [[box(0, 0, 10, 10)]])["tp"] == 0
    assert to_polygon([[0, 0], [1, 1]]).is_empty


# ------------------------------------------------------------------------ pages
def test_page_cer():
    assert page_cer("hello  world\n", "hello world") == 0.0
    # one deletion over 11 gt chars
    assert page_cer("helo world", "hello world") == pytest.approx(1 / 11)


def test_word_f1():
    # pred bag {a:1, b:2, c:1} (4), gt bag {a:1, b:1, c:2, d:1} (5), common a, b, c = 3
    # P = 3/4, R = 3/5, F1 = 2*.45/1.35 = 2/3
    r = word_f1("a b b c", "a b c c d")
    assert r["precision"] == pytest.approx(0.75)
    assert r["recall"] == pytest.approx(0.6)
    assert r["f1"] == pytest.approx(2 / 3)


def test_page_scores_micro():
    r = page_scores(["a b b c", "x y"], ["a b c c d", "x y"])
    # words: matches 3+2=5, predicted 4+2=6, gt 5+2=7 -> P 5/6, R 5/7, F1 = 10/13
    assert r["precision"] == pytest.approx(5 / 6)
    assert r["recall"] == pytest.approx(5 / 7)
    assert r["f1"] == pytest.approx(10 / 13)
    # chars: ED("a b b c", "a b c c d") = 3 (b->c, insert " d"), ED("x y","x y") = 0;
    # gt chars 9 + 3 = 12 -> 0.25
    assert r["cer"] == pytest.approx(0.25)
