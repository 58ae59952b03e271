"""A recognizer of the sequence family (BOS/EOS/PAD, teacher forcing inside forward) and a
full-page model plug into training, Reader, ``ocr recognize``, ``ocr read``, ``ocr eval`` and
export through the contract alone (``ocr.models.contract``)."""
import cv2
import numpy as np
import pytest
import torch

import seq_fakes  # noqa: F401  (registers the test models)
from helpers import make_rec_lmdb, text_image
from ocr.api import Reader
from ocr.cli import main
from ocr.data.lmdb_store import DET_SCHEMA, LmdbWriter
from ocr.engine.checkpoint import load_model, save_model
from ocr.engine.config import config_from_dict
from ocr.engine.trainer import Trainer
from ocr.eval_read_cli import run_page_eval
from ocr.models.contract import DecodeOptions, UnsupportedOption
from ocr.pipeline.recognize import recognize_crops

WORDS = ["cab", "deed", "fig", "hijk"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The tiny sequence recognizer trained until it reads its four words (a few seconds)."""
    tmp = tmp_path_factory.mktemp("seq")
    store = make_rec_lmdb(tmp / "words", WORDS * 8)
    val = make_rec_lmdb(tmp / "val", WORDS)
    cfg = config_from_dict({"model": "tiny_seq_test", "task": "recognition", "out": str(tmp / "run"),
                            "train": [store], "val": [val], "batch_size": 16, "steps": 250, "lr": 5e-3,
                            "warmup_steps": 10, "val_every": 250, "log_every": 100, "save_every": 250,
                            "workers": 0, "amp": "off", "threads": 1})
    Trainer(cfg, device="cpu").fit()
    return tmp, store


def _crops(tmp):
    folder = tmp / "crops"
    folder.mkdir(exist_ok=True)
    for i, w in enumerate(WORDS):
        (folder / f"{i}_{w}.png").write_bytes(text_image(w, seed=i))
    return folder


def test_teacher_forcing_reaches_forward_and_the_model_overfits(trained):
    tmp, _ = trained
    model = load_model(tmp / "run" / "last.safetensors")
    crops = [cv2.imdecode(np.frombuffer(text_image(w, seed=i), np.uint8), cv2.IMREAD_COLOR)[:, :, ::-1]
             for i, w in enumerate(WORDS)]
    assert [t for t, _ in recognize_crops(model, crops)] == WORDS
    beam = recognize_crops(model, crops, options=DecodeOptions(beam=3))
    assert [t for t, _ in beam] == WORDS and all(0 < c <= 1 for _, c in beam)
    lex = recognize_crops(model, crops[:1], options=DecodeOptions(lexicon=("cob", "cab", "zzz")))
    assert lex[0][0] == "cab"
    reader = Reader(rec=model, straighten_crops=False, device="cpu")
    assert [t for t, _ in reader.recognize(crops)] == WORDS


def test_ocr_recognize_and_eval_read_a_sequence_checkpoint(trained, capsys):
    tmp, store = trained
    ckpt = str(tmp / "run" / "last.safetensors")
    assert main(["recognize", str(_crops(tmp)), "--rec", ckpt, "--no-straighten", "--beam", "2"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split("\t")[-1] for line in lines] == WORDS
    assert main(["eval", "--model", ckpt, "--data", store, "--no-straighten"]) == 0
    row = next(r for r in capsys.readouterr().out.splitlines() if r.startswith("words"))
    assert float(row.split()[2]) == 1.0  # acc36 over all 32 crops


def test_fp16_export_reads_the_same(trained, tmp_path):
    tmp, _ = trained
    model = load_model(tmp / "run" / "last.safetensors")
    out = save_model(model, tmp_path / "seq_fp16.safetensors", dtype=torch.float16)
    crops = [cv2.imdecode(np.frombuffer(text_image(w, seed=i), np.uint8), cv2.IMREAD_COLOR) for i, w in enumerate(WORDS)]
    assert [t for t, _ in recognize_crops(load_model(out), crops)] == [t for t, _ in recognize_crops(model, crops)]


def test_an_option_the_model_lacks_is_a_one_line_error(tmp_path, capsys):
    from seq_fakes import GreedyOnlySeqRecognizer, TinySeqConfig

    model = GreedyOnlySeqRecognizer(TinySeqConfig())
    model.arch = "tiny_seq_greedy_test"
    ckpt = save_model(model, tmp_path / "greedy.safetensors")
    with pytest.raises(UnsupportedOption, match="tiny_seq_greedy_test.*--beam"):
        recognize_crops(model, [np.zeros((32, 64, 3), np.uint8)], options=DecodeOptions(beam=4))
    (tmp_path / "a.png").write_bytes(text_image("ab"))
    assert main(["recognize", str(tmp_path / "a.png"), "--rec", str(ckpt), "--no-straighten", "--beam", "4"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "greedy.safetensors" in err[0] and "does not support --beam" in err[0]
    with pytest.raises(ValueError, match="beam must be"):
        DecodeOptions(beam=-1)


def _page_store(path, pages):
    with LmdbWriter(path, schema=DET_SCHEMA) as w:
        for text in pages:
            img = np.full((32, 128, 3), 255, np.uint8)
            for k, line in enumerate(text.split("\n")):
                cv2.putText(img, line, (2, 13 + 15 * k), cv2.FONT_HERSHEY_PLAIN, 1.0, (0, 0, 0), 1)
            w.add(cv2.imencode(".png", img)[1].tobytes(), {"width": 128, "height": 32, "lines": [], "text": text})
    return str(path)


def test_full_page_task_trains_reads_and_evaluates(tmp_path, capsys):
    pages = ["ab cd\nef", "gh\nij kl"]
    store = _page_store(tmp_path / "pages", pages)
    val = _page_store(tmp_path / "pages_val", pages)
    cfg = config_from_dict({"model": "tiny_page_test", "task": "fullpage", "out": str(tmp_path / "run"),
                            "model_args": {"max_length": 10}, "train": [{"path": store, "mode": "pages"}], "val": [val],
                            "batch_size": 2, "steps": 250, "lr": 5e-3, "warmup_steps": 10, "val_every": 250,
                            "log_every": 50, "save_every": 250, "workers": 0, "amp": "off", "threads": 1})
    assert Trainer(cfg, device="cpu").fit() == 1.0  # validation word F1 on the two pages
    ckpt = str(tmp_path / "run" / "last.safetensors")
    reader = Reader(engine="fullpage", page=ckpt, device="cpu")
    page = reader.read(_first_image(store))
    assert page.text == pages[0] and [line.text for line in page.lines] == ["ab cd", "ef"]
    assert page.lines[0].polygon == [[0.0, 0.0], [128.0, 0.0], [128.0, 32.0], [0.0, 32.0]]
    img = tmp_path / "page.png"
    img.write_bytes(_first_image(store))
    capsys.readouterr()
    assert main(["read", str(img), "--engine", "fullpage", "--page", ckpt]) == 0
    assert capsys.readouterr().out.strip() == pages[0]
    assert main(["eval", "--model", ckpt, "--data", store]) == 0
    row = next(r for r in capsys.readouterr().out.splitlines() if r.startswith("pages"))
    assert row.split()[1:3] == ["2", "0.0000"]  # pages, CER
    assert run_page_eval([store], engine="fullpage", page=ckpt, device="cpu") == 0  # tools/eval_read.py
    row = next(r for r in capsys.readouterr().out.splitlines() if r.startswith("pages"))
    assert row.split()[1:-1] == ["2", "0.0000", "1.0000", "1.0000", "1.0000"]
    assert float(row.split()[-1]) >= 0  # median seconds a page


def _first_image(store) -> bytes:
    from ocr.data.lmdb_store import LmdbReader

    return LmdbReader(store).get(1)[0]
