"""tools/eval_length.py: the length-binned set (real stores, deterministic synthetic lines), the
side-by-side table and the plot, on tiny generated data and untrained models."""
import cv2
import numpy as np
import torch

from helpers import make_rec_lmdb
from ocr.data.synth import TextSource, sample_rng
from ocr.engine.checkpoint import save_model
from ocr.registry import create_model
from test_profile_tools import _tool


def test_synthetic_labels_have_the_length_asked_and_the_set_is_fixed():
    tool = _tool("eval_length")
    source = TextSource()
    for n in (2, 11, 40, 80):
        text = tool.synth_text(source, sample_rng(0, n), n)
        assert len(text) == n and text == text.strip()
    first, again = tool.synth_crops(1, seed=3), tool.synth_crops(1, seed=3)
    assert [g for _, g, _ in first] == [g for _, g, _ in again]
    assert [tool.bin_of(len(g)) for _, g, _ in first] == [0, 1, 2, 3]
    assert all(np.array_equal(a, b) for (a, _, _), (b, _, _) in zip(first, again))


def test_tool_prints_each_recognizer_per_bin_and_plots(tmp_path, capsys):
    tool = _tool("eval_length")
    labels = ["ab", "cdefghij", "abcdefghijklm", "a" * 30, "b" * 45, "x"]  # "x": in no bin
    store = make_rec_lmdb(tmp_path / "real", labels)
    torch.manual_seed(0)
    models = [save_model(create_model(arch, charset="lower36", **kw), tmp_path / f"{arch}.safetensors")
              for arch, kw in (("crnn_mobilenet", {"hidden": 16}),
                               ("lister_mobilenet", {"dim": 32, "heads": 4, "enc_layers": 1, "max_steps": 16,
                                                     "backbone": "rec_mobilenetv3_small",
                                                     "backbone_args": {"scale": 0.5}}))]
    png = tmp_path / "length.png"
    args = [a for m in models for a in ("--rec", str(m))]
    assert tool.main([*args, "--real", store, "--real", str(tmp_path / "missing"), "--limit", "1",
                      "--plot", str(png), "--backend", "torch"]) == 0
    out = capsys.readouterr()
    assert "missing not found" in out.err
    rows = [line.split() for line in out.out.splitlines()]
    assert rows[0][-2:] == ["crnn_mobilenet", "lister_mobilenet"]
    body = {(r[1], r[0]): r[2:] for r in rows[2:] if len(r) == 7}  # (source, bin): n, acc, 1-NED, ...
    assert [body["real", b][0] for b in ("2-10", "11-25", "26-40", "41-80")] == ["1"] * 4  # --limit 1
    assert [body["all", b][0] for b in ("2-10", "11-25", "26-40", "41-80")] == ["2"] * 4
    assert all(0.0 <= float(v) <= 1.0 for r in body.values() for v in r[1:])
    assert cv2.imread(str(png)).shape == (440, 720, 3)
