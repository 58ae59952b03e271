"""The shared trainer drives FCENet through DetectionTask: train steps, validation, checkpoints,
and ``ocr eval`` on the result."""
import csv

import cv2
import numpy as np

from ocr.cli import main
from ocr.data.lmdb_store import DET_SCHEMA, LmdbWriter
from ocr.engine.config import config_from_dict
from ocr.engine.trainer import train


def _det_store(path, n=4):
    rng = np.random.default_rng(0)
    with LmdbWriter(path, schema=DET_SCHEMA) as w:
        for _ in range(n):
            img = np.full((96, 128, 3), 230, np.uint8)
            x, y = int(rng.integers(5, 60)), int(rng.integers(5, 60))
            poly = [[x, y], [x + 50, y], [x + 50, y + 18], [x, y + 18]]
            cv2.fillPoly(img, [np.array(poly, np.int32)], (20, 20, 20))
            ok, buf = cv2.imencode(".png", img)
            w.add(buf.tobytes(), {"width": 128, "height": 96,
                                  "words": [{"polygon": poly, "text": "word", "ignore": False}]})
    return str(path)


def test_detection_trains_validates_and_evaluates(tmp_path, capsys):
    db = _det_store(tmp_path / "det")
    cfg = config_from_dict({
        "model": "fcenet_mobilenetv3", "task": "detection", "out": str(tmp_path / "run"),
        "model_args": {"backbone": "mobilenetv3_small", "fpn_channels": 16},
        "data_args": {"image_size": 64, "test_size": 128},
        "train": [{"path": db}], "val": [{"path": db, "name": "toy"}],
        "batch_size": 2, "steps": 2, "val_every": 2, "save_every": 2, "log_every": 1,
        "workers": 0, "amp": "off", "warmup_steps": 1})
    best = train(cfg, device="cpu")
    rows = list(csv.DictReader(open(tmp_path / "run" / "val_log.csv")))
    assert rows and {"precision", "recall", "hmean"} <= set(rows[0])
    assert 0.0 <= best <= 1.0
    assert main(["eval", "--model", str(tmp_path / "run" / "last.safetensors"), "--data", db,
                 "--viz", str(tmp_path / "viz"), "--test-size", "128", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "hmean" in out and "det" in out
    assert len(list((tmp_path / "viz" / "det").glob("*.jpg"))) == 4


def test_ocr_eval_scores_a_detector_alike_in_pytorch_and_onnx_runtime(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("OCR_CACHE_DIR", str(tmp_path / "cache"))
    db = _det_store(tmp_path / "det")
    cfg = config_from_dict({
        "model": "fcenet_mobilenetv3", "task": "detection", "out": str(tmp_path / "run"),
        "model_args": {"backbone": "mobilenetv3_small", "fpn_channels": 16, "score_thr": 0.0},
        "data_args": {"image_size": 64, "test_size": 128}, "train": [{"path": db}],
        "batch_size": 2, "steps": 1, "save_every": 1, "log_every": 1, "workers": 0, "amp": "off", "warmup_steps": 1})
    train(cfg, device="cpu")
    rows = {}
    for backend in ("torch", "onnxruntime"):  # the ONNX Runtime detector gives numpy outputs
        assert main(["eval", "--model", str(tmp_path / "run" / "last.safetensors"), "--data", db, "--test-size", "128",
                     "--device", "cpu", "--backend", backend, "--precision", "fp32"]) == 0
        rows[backend] = next(r for r in capsys.readouterr().out.splitlines() if r.startswith("det"))
    assert rows["onnxruntime"] == rows["torch"]
