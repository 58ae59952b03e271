"""The training speed-ups compute what they replace: frozen batch norms folded into convolutions,
the BiLSTM over a padded batch without packing, batches of like width, a thinner grey edge."""
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import torch.nn as nn

from ocr.data.lmdb_store import LmdbWriter
from ocr.data.rec_dataset import MixedDataset, RatioSampler, RecLmdbDataset, collate_rec
from ocr.engine.frozen_norms import fold_frozen_norms, freeze_norm_stats, unfold_norms
from ocr.models.recognition.bilstm import bilstm_within_lengths
from ocr.registry import create_model
from ocr.text.charset import load_charset
from tests.helpers import make_rec_lmdb

ROOT = Path(__file__).resolve().parents[1]


def _outputs_and_grads(model, x):
    model.zero_grad()
    y = model(x)
    y = y[-1] if isinstance(y, (list, tuple)) else y
    y.square().mean().backward()
    return y.detach(), {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


def test_folded_norms_compute_the_frozen_norms():
    torch.manual_seed(0)
    model = create_model("crnn_resnet_small", charset="lower36", hidden=16, num_layers=1).backbone
    for m in model.modules():  # statistics away from the defaults, so a missed fold shows
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    model.train()
    freeze_norm_stats(model)
    x = torch.randn(2, 3, 32, 40)
    keys = list(model.state_dict())
    y0, g0 = _outputs_and_grads(model, x)
    folded = fold_frozen_norms(model)
    assert folded == sum(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    y1, g1 = _outputs_and_grads(model, x)
    assert list(model.state_dict()) == keys  # checkpoints keep their layout
    assert torch.allclose(y0, y1, atol=1e-4, rtol=1e-4)
    assert g0.keys() == g1.keys()
    for name in g0:  # the norms' scale and shift still learn, through the folded weights
        assert torch.allclose(g0[name], g1[name], atol=1e-4, rtol=1e-3), name
    unfold_norms(model)
    model.train()  # unfolded and in training mode: batch statistics again
    assert not torch.allclose(model(x)[-1], y0, atol=1e-3)


def _packed(rnn, x, lengths):
    packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    y, _ = rnn(packed)
    return nn.utils.rnn.pad_packed_sequence(y, batch_first=True, total_length=x.shape[1])[0]


@pytest.mark.parametrize("layers", [1, 2])
def test_bilstm_within_lengths_equals_the_packed_lstm(layers):
    torch.manual_seed(0)
    rnn = nn.LSTM(12, 8, num_layers=layers, bidirectional=True, batch_first=True).eval()
    x = torch.randn(4, 9, 12, requires_grad=True)
    lengths = torch.tensor([9, 3, 6, 1])
    want, got = _packed(rnn, x, lengths), bilstm_within_lengths(rnn, x, lengths)
    assert torch.allclose(want, got, atol=1e-6)
    assert torch.all(got[1, 3:] == 0)  # zeros past a length, as pad_packed_sequence gives
    gw = torch.autograd.grad(want.square().sum(), [x, *rnn.parameters()])
    gg = torch.autograd.grad(got.square().sum(), [x, *rnn.parameters()])
    for a, b in zip(gw, gg):
        assert torch.allclose(a, b, atol=1e-5)
    alone = bilstm_within_lengths(rnn, x[1:2, :3], lengths[1:2])  # a sequence reads the same unpadded
    assert torch.allclose(alone[0], got[1, :3], atol=1e-6)


def _store_of_widths(path, widths: list[int], label="ab") -> str:
    """A store whose images all carry ``label`` but differ in width."""
    with LmdbWriter(path) as w:
        for i, width in enumerate(widths):
            img = np.full((32, width, 3), 200, np.uint8)
            cv2.putText(img, label, (2, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (0, 0, 0), 2)
            w.add(cv2.imencode(".png", img)[1].tobytes() if i % 2 else cv2.imencode(".jpg", img)[1].tobytes(), label)
    return str(path)


def test_batches_of_like_width_pad_less(tmp_path):
    rng = np.random.default_rng(0)
    widths = rng.integers(20, 400, 256).tolist()
    ds = RecLmdbDataset(_store_of_widths(tmp_path / "a", widths), load_charset("lower36"), max_width=512)
    assert ds.sort_widths().tolist() == widths  # from the headers, PNG and JPEG
    grey = {}
    for by_width in (False, True):
        it = iter(RatioSampler(MixedDataset([ds]), [1.0], batch_size=8, seed=1, bucket=8, by_width=by_width))
        batches = [next(it) for _ in range(16)]
        grey[by_width] = sum(max(widths[i] for i, _ in b) * len(b) - sum(widths[i] for i, _ in b) for b in batches)
    assert grey[True] < 0.25 * grey[False]


def test_width_keys_fall_back_to_label_length(tmp_path):
    path = make_rec_lmdb(tmp_path / "a", ["ab", "abcdef"])
    with LmdbWriter(tmp_path / "b") as w:
        w.add(b"\x00not an image header", "abcd")
    ds = RecLmdbDataset(tmp_path / "b", load_charset("lower36"))
    assert ds.sort_widths().tolist() == [4 * 32 / 2]  # half a height per character
    assert len(RecLmdbDataset(path, load_charset("lower36")).sort_widths()) == 2


def test_edge_grey_sets_the_grey_past_the_longest_read(tmp_path):
    ds = RecLmdbDataset(make_rec_lmdb(tmp_path / "a", ["a", "a longer text"]), load_charset("ascii95"))
    batch = [ds[0], ds[1]]
    for edge in (1.0, 2.0):
        images, targets = collate_rec(batch, trailing_pad=2.0, edge=edge)
        extra = images.shape[3] - max(targets.read_widths)
        assert edge * 32 <= extra < edge * 32 + 8  # rounded up to a multiple of 8
        assert targets.read_widths == [w + 64 for w in targets.widths]


def test_bench_train_times_both_configurations(tmp_path):
    store = make_rec_lmdb(tmp_path / "train", ["cat", "dog", "a longer one", "sun"] * 8)
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"""model: crnn_resnet_small
task: recognition
out: {tmp_path / 'out'}
model_args: {{charset: lower36, hidden: 16, num_layers: 1, max_width: 256}}
train: [{{path: {store}, ratio: 1.0, augment: true}}]
stages:
  - {{name: a, steps: 100, batch_size: 4, workers: 0, freeze_norm_stats: true, data_args: {{trailing_pad: 2.0}}}}
""")
    out = subprocess.run([sys.executable, str(ROOT / "tools/bench_train.py"), "--recipe", str(recipe), "--stage", "a",
                          "--steps", "2", "--rounds", "1", "--warmup", "1", "--threads", "1", "--data-batches", "2",
                          "--curve", "5"], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    rows = [line for line in out.stdout.splitlines() if line.startswith("| before") or line.startswith("| after")]
    assert len(rows) == 2 and rows[0].split("|")[3].strip() == "1.00x"
    curve = out.stdout.split("mean loss per")[1].splitlines()
    assert [line.split()[0] for line in curve[1:3]] == ["before", "after"]
    assert all(np.isfinite(float(v)) for line in curve[1:3] for v in line.split()[1:])
