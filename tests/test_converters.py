"""Converters on tiny fake datasets of every format, plus (when present) the real data."""
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from ocr.data.converters import Report, convert, read_crops, read_dataset, split_items
from ocr.data.converters.common import make_polygon, natural_key
from ocr.geometry import signed_area
from ocr.data.lmdb_cli import add_lmdb_args, main as make_lmdb_main
from ocr.data.lmdb_store import DET_SCHEMA, LmdbReader

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def write_img(path: Path, w: int = 64, h: int = 32, ext: str = ".jpg") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    img = np.full((h, w, 3), 255, np.uint8)
    cv2.putText(img, "ab", (2, h - 4), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1)
    cv2.imwrite(str(path), img)
    return path


def corrupt(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"this is not an image")


def run(fmt, src, quiet=True):
    rep = Report(quiet=quiet)
    return list(read_dataset(fmt, src, rep)), rep


# ------------------------------------------------------------------------- tsv
@pytest.fixture
def tsv_dir(tmp_path):
    d = tmp_path / "rec"
    write_img(d / "images" / "a.png", ext=".png")
    write_img(d / "images" / "b.jpg")
    corrupt(d / "images" / "bad.jpg")
    (d / "labels.tsv").write_text(
        "images/a.png\tHello World\nimages/b.jpg\tx,y\t!\n\nimages/bad.jpg\tbad\n"
        "no tab here\nimages/missing.jpg\tgone\nimages/b.jpg\t\n", encoding="utf-8")
    return d


def test_tsv(tsv_dir):
    samples, rep = run("tsv", tsv_dir)
    assert [lab for _, lab in samples] == ["Hello World", "x,y\t!"]
    assert samples[0][0] == (tsv_dir / "images" / "a.png").read_bytes()  # stored as-is
    # corrupt + missing image; "no tab here" + empty label
    assert (rep.skipped_images, rep.skipped_lines) == (2, 2)
    assert any("bad.jpg" in w for w in rep.warnings)


def test_tsv_lmdb_and_split(tsv_dir, tmp_path):
    reps = convert("tsv", tsv_dir, tmp_path / "out", quiet=True)
    r = LmdbReader(tmp_path / "out")
    assert len(r) == reps["all"].samples == 2 and r.schema is None
    assert r.labels() == ["Hello World", "x,y\t!"]
    with pytest.raises(ValueError):
        convert("tsv", tsv_dir, tmp_path / "c", crops=True)


def test_split_is_deterministic_and_exact():
    items = list(range(10))
    tr, va = split_items(items, 0.3, seed=5)
    assert len(va) == 3 and sorted(tr + va) == items
    assert split_items(items, 0.3, seed=5) == (tr, va)
    assert split_items(items, 0.3, seed=6) != (tr, va)
    with pytest.raises(ValueError):
        split_items(items, 1.5, 0)


# ----------------------------------------------------------------------- ic15
@pytest.fixture
def ic15_dir(tmp_path):
    d = tmp_path / "ic15"
    for n in (1, 2, 10):
        write_img(d / "images" / f"img_{n}.jpg", 120, 80)
    corrupt(d / "images" / "img_3.jpg")
    write_img(d / "images" / "img_4.jpg")  # no gt file
    gt = d / "gt"
    gt.mkdir()
    (gt / "gt_img_1.txt").write_bytes(
        "\ufeff10,10,50,10,50,30,10,30,Hi,there\r\n60,10,70,10,70,20,60,20,###\r\n1,2,3\r\n".encode())
    # counter-clockwise quad: must be stored clockwise, keeping its first point
    (gt / "gt_img_2.txt").write_text("10,10,10,30,50,30,50,10,Abc\n")
    (gt / "gt_img_10.txt").write_text("")
    (gt / "gt_img_3.txt").write_text("1,1,2,1,2,2,1,2,x\n")
    return d


def test_ic15(ic15_dir):
    samples, rep = run("ic15", ic15_dir)
    assert (rep.skipped_images, rep.skipped_lines) == (2, 1)  # img_3 corrupt, img_4 no gt
    anns = [a for _, a in samples]
    assert [a["width"] for a in anns] == [120, 120, 120]  # natural order img_1, img_2, img_10
    w = anns[0]["words"]
    assert w[0] == {"polygon": [[10, 10], [50, 10], [50, 30], [10, 30]], "text": "Hi,there",
                    "ignore": False}
    assert w[1]["ignore"] and w[1]["text"] == "###"
    assert anns[1]["words"][0]["polygon"] == [[10, 10], [50, 10], [50, 30], [10, 30]]
    assert anns[2]["words"] == []


def test_ic15_lmdb_and_crops(ic15_dir, tmp_path):
    convert("ic15", ic15_dir, tmp_path / "det", quiet=True)
    r = LmdbReader(tmp_path / "det")
    assert r.schema == DET_SCHEMA and len(r) == 3
    assert r.annotation(1)["words"][0]["text"] == "Hi,there"
    reps = convert("ic15", ic15_dir, tmp_path / "crops", crops=True, quiet=True)
    r = LmdbReader(tmp_path / "crops")
    assert r.labels() == ["Hi,there", "Abc"] and r.schema is None  # ### skipped
    crop = cv2.imdecode(np.frombuffer(r.get(1)[0], np.uint8), cv2.IMREAD_COLOR)
    assert crop.shape[:2] == (20, 40)  # 40 x 20 quad
    assert reps["all"].samples == 2


def test_crop_rectifies_rotated_quad(tmp_path):
    d = tmp_path / "rot"
    write_img(d / "images" / "img_1.jpg", 200, 200)
    # a 60 x 20 rectangle rotated by 90 degrees (text reading downwards), first point top-right
    (d / "gt").mkdir()
    (d / "gt" / "gt_img_1.txt").write_text("120,20,120,80,100,80,100,20,word\n")
    crops = list(read_crops("ic15", d, Report(quiet=True)))
    img = cv2.imdecode(np.frombuffer(crops[0][0], np.uint8), cv2.IMREAD_COLOR)
    assert crops[0][1] == "word" and img.shape[:2] == (20, 60)


# ----------------------------------------------------------------------- ic13
def test_ic13(tmp_path):
    d = tmp_path / "ic13"
    write_img(d / "images" / "img_1.jpg", 100, 60)
    (d / "gt").mkdir()
    (d / "gt" / "gt_img_1.txt").write_text(
        '10, 20, 49, 39, "Hi"\r\n5 5 9 9 "a \\"q\\""\r\n10, 20, 50\r\n3, 3, 5, 3, "-"\r\n')
    samples, rep = run("ic13", d)
    words = samples[0][1]["words"]
    assert rep.skipped_lines == 1
    assert words[0]["polygon"] == [[10, 20], [50, 20], [50, 40], [10, 40]]  # inclusive -> +1
    assert [w["text"] for w in words] == ["Hi", 'a "q"', "-"]
    assert words[2]["polygon"][2] == [6, 4]  # 1-px high hyphen keeps a 1-px polygon


# ---------------------------------------------------------------------- sroie
def test_sroie(tmp_path):
    d = tmp_path / "sroie"
    write_img(d / "images" / "000.jpg", 200, 100)
    corrupt(d / "images" / "001.jpg")
    for sub in ("box", "text"):
        (d / sub).mkdir()
    (d / "box" / "000.csv").write_text("10,10,100,10,100,30,10,30,TOTAL: 1,234.00\n"
                                       "10,40,90,40,90,60,10,60,THANK YOU\nbroken,line\n")
    (d / "box" / "001.csv").write_text("")
    (d / "text" / "000.txt").write_text("TOTAL: 1,234.00\nTHANK YOU\n")
    samples, rep = run("sroie", d)
    assert (len(samples), rep.skipped_images, rep.skipped_lines) == (1, 1, 1)
    ann = samples[0][1]
    assert [ln["text"] for ln in ann["lines"]] == ["TOTAL: 1,234.00", "THANK YOU"]
    assert ann["text"] == "TOTAL: 1,234.00\nTHANK YOU" and "words" not in ann
    crops = list(read_crops("sroie", d, Report(quiet=True)))
    assert [t for _, t in crops] == ["TOTAL: 1,234.00", "THANK YOU"]


# ---------------------------------------------------------------------- funsd
def test_funsd(tmp_path):
    d = tmp_path / "funsd"
    write_img(d / "images" / "f1.png", 300, 200, ext=".png")
    (d / "annotations").mkdir()
    form = [{"id": 0, "box": [10, 10, 100, 30], "text": "Date: today", "label": "question",
             "words": [{"box": [10, 10, 50, 30], "text": "Date:"},
                       {"box": [55, 10, 100, 30], "text": "today"}]},
            {"id": 1, "box": [10, 50, 40, 70], "text": "", "words": [{"box": [10, 50, 40, 70], "text": ""}]},
            {"id": 2, "box": [1, 2, 3], "text": "bad", "words": []}]
    (d / "annotations" / "f1.json").write_text(json.dumps({"form": form}))
    samples, rep = run("funsd", d)
    ann = samples[0][1]
    assert rep.skipped_lines == 1  # entity 2's box has 3 numbers
    assert [w["text"] for w in ann["words"]] == ["Date:", "today", ""]
    assert ann["words"][2]["ignore"] and ann["lines"][1]["ignore"]
    assert ann["lines"][0]["words"] == [0, 1] and ann["lines"][1]["words"] == [2]
    assert ann["text"] == "Date: today"  # no text/ folder: entity texts in order
    assert [t for _, t in read_crops("funsd", d, Report(quiet=True))] == ["Date:", "today"]


# ------------------------------------------------------------------ totaltext
def test_totaltext(tmp_path):
    d = tmp_path / "tt"
    write_img(d / "images" / "img11.jpg", 600, 500)
    (d / "gt").mkdir()
    (d / "gt" / "poly_gt_img11.txt").write_text(
        "x: [[115 503 494 115]], y: [[322 346 426 404]], ornt: [u'm'], transcriptions: [u'nauGHTY']\n"
        "x: [[10 50 90 90 50\n 10]], y: [[10 5 10 30 25 30]], ornt: [u'c'], transcriptions: [u\"it's\"]\n"
        "x: [[1 2 3 4]], y: [[1 2 3]], ornt: [u'h'], transcriptions: [u'bad']\n"
        "x: [[1 9 9 1]], y: [[1 1 9 9]], ornt: [u'#'], transcriptions: [u'#']\n")
    samples, rep = run("totaltext", d)
    words = samples[0][1]["words"]
    assert rep.skipped_lines == 1
    assert [w["text"] for w in words] == ["nauGHTY", "it's", "#"]
    assert len(words[1]["polygon"]) == 6 and words[2]["ignore"]
    assert all(signed_area(w["polygon"]) > 0 for w in words)


# -------------------------------------------------------------------- ctw1500
def test_ctw1500_xml_and_txt(tmp_path):
    d = tmp_path / "ctw"
    write_img(d / "images" / "0001.jpg", 300, 200)
    write_img(d / "images" / "1001.jpg", 300, 200)
    (d / "gt").mkdir()
    segs = ",".join(str(v) for i in range(7) for v in (10 + 20 * i, 10)) + "," + \
        ",".join(str(v) for i in range(7) for v in (130 - 20 * i, 40))
    (d / "gt" / "0001.xml").write_text(
        f'<Annotations><image file="0001.jpg"><box height="30" left="10" top="10" width="120">'
        f"<label>CURVED TEXT</label><segs>{segs}</segs></box>"
        f'<box height="5" left="1" top="1" width="5"><label>###</label></box></image></Annotations>')
    (d / "gt" / "1001.txt").write_text(f"{segs},####HELLO, WORLD\n{segs},#######\n1,2,3,####x\n")
    samples, rep = run("ctw1500", d)
    a, b = samples[0][1]["lines"], samples[1][1]["lines"]
    assert rep.skipped_lines == 1
    assert a[0]["text"] == "CURVED TEXT" and len(a[0]["polygon"]) == 14 and a[1]["ignore"]
    assert a[1]["polygon"] == [[1, 1], [6, 1], [6, 6], [1, 6]]
    assert [ln["text"] for ln in b] == ["HELLO, WORLD", "###"] and b[1]["ignore"]
    crops = list(read_crops("ctw1500", d, Report(quiet=True)))
    assert len(crops) == 2


def test_make_polygon_rejects_short():
    with pytest.raises(ValueError):
        make_polygon([1, 2, 3, 4, 5, 6])


# ------------------------------------------------------------------------ CLI
def test_cli_split(tsv_dir, tmp_path, capsys):
    out = tmp_path / "s"
    assert make_lmdb_main(["tsv", str(tsv_dir), str(out), "--split-val", "0.5", "--seed", "1",
                           "--quiet"]) == 0
    assert len(LmdbReader(out / "train")) + len(LmdbReader(out / "val")) == 2
    assert make_lmdb_main(["tsv", str(tsv_dir), str(out / "train"), "--quiet"]) == 2  # exists
    assert "already exists" in capsys.readouterr().err


def test_add_lmdb_args(tsv_dir, tmp_path):
    import argparse
    p = argparse.ArgumentParser()
    add_lmdb_args(p.add_subparsers(dest="cmd"))
    args = p.parse_args(["lmdb", "create", "tsv", str(tsv_dir), str(tmp_path / "o"), "--quiet"])
    assert args.func(args) == 0
    args = p.parse_args(["lmdb", "inspect", str(tmp_path / "o"), "--grid", str(tmp_path / "g.png")])
    assert args.func(args) == 0 and (tmp_path / "g.png").exists()


# ------------------------------------------------------------------ real data
def _tsv_labels(folder: Path) -> list[str]:
    return [ln.split("\t", 1)[1] for ln in (folder / "labels.tsv").read_text(encoding="utf-8").splitlines()
            if ln.strip()]


@pytest.mark.skipif(not REAL.is_dir(), reason="no ../shared/data beside the repo")
def test_real_datasets(tmp_path):
    """Exact counts and labels of real stores against the source files."""
    convert("tsv", REAL / "iiit5k/train", tmp_path / "iiit5k", quiet=True)
    assert LmdbReader(tmp_path / "iiit5k").labels() == _tsv_labels(REAL / "iiit5k/train")

    rep = convert("ic15", REAL / "ic15_det", tmp_path / "ic15", quiet=True)["all"]
    r = LmdbReader(tmp_path / "ic15")
    gts = sorted((REAL / "ic15_det/gt").glob("gt_img_*.txt"), key=lambda p: int(p.stem[7:]))
    src = [ln.split(",", 8)[8] for p in gts for ln in p.read_text(encoding="utf-8-sig").splitlines() if ln.strip()]
    got = [w["text"] for i in range(1, len(r) + 1) for w in r.annotation(i)["words"]]
    assert (len(r), rep.skipped_lines) == (len(gts), 0) and got == src

    convert("sroie", REAL / "sroie", tmp_path / "sroie", quiet=True)
    r = LmdbReader(tmp_path / "sroie")
    assert len(r) == len(list((REAL / "sroie/box").glob("*.csv")))
    ann = r.annotation(1)
    first = (REAL / "sroie/box/000.csv").read_text(encoding="utf-8-sig").splitlines()
    assert [ln["text"] for ln in ann["lines"]] == [ln.split(",", 8)[8] for ln in first if ln.strip()]
    assert ann["text"] == (REAL / "sroie/text/000.txt").read_text(encoding="utf-8").rstrip("\n")

    convert("funsd", REAL / "funsd/train", tmp_path / "funsd", quiet=True)
    r = LmdbReader(tmp_path / "funsd")
    forms = sorted((REAL / "funsd/train/annotations").glob("*.json"), key=natural_key)
    assert len(r) == len(forms)
    form = json.loads(forms[0].read_text(encoding="utf-8"))["form"]
    ann = r.annotation(1)
    assert [w["text"] for w in ann["words"]] == [w["text"] for e in form for w in e["words"]]
    assert len(ann["lines"]) == len(form)
