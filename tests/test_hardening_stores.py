"""Broken stores, interrupted runs and planted names: clean one-line errors, never a crash."""
import csv
import json
import os
import shutil
import subprocess
import sys

import lmdb
import pytest
import torch
from safetensors.torch import load_file, save_file

from ocr.data.lmdb_store import LmdbError, LmdbReader, LmdbWriter, label_key
from ocr.engine.checkpoint import CheckpointError, load_model, save_model
from ocr.registry import create_model
from ocr.weights import resolve_path, shipped
from tests.helpers import make_rec_lmdb, text_image


def _ocr(*argv, cwd=None):
    return subprocess.run([sys.executable, "-m", "ocr.cli", *argv], capture_output=True, text=True, cwd=cwd)


def test_cut_lmdb_is_a_clean_error_not_a_bus_error(tmp_path):
    store = make_rec_lmdb(tmp_path / "s", ["word"] * 200)
    data = tmp_path / "s" / "data.mdb"
    with open(data, "r+b") as f:
        f.truncate(data.stat().st_size // 2)
    with pytest.raises(LmdbError, match="cut short"):
        LmdbReader(store)
    res = _ocr("lmdb", "inspect", store)
    assert res.returncode == 2, res.returncode  # a bus error would be -7 (135 in a shell)
    assert res.stderr.count("\n") == 1 and store in res.stderr and "Traceback" not in res.stderr


def test_label_only_store_is_refused(tmp_path):
    path = tmp_path / "labels_only"
    path.mkdir()
    env = lmdb.open(str(path))
    with env.begin(write=True) as txn:
        for i in range(1, 11):
            txn.put(label_key(i), json.dumps({"text": "word"}).encode())
        txn.put(b"num-samples", b"10")
    env.close()
    with pytest.raises(LmdbError, match="no image keys"):
        LmdbReader(path)


def test_one_store_opened_twice_in_a_process(tmp_path):
    store = make_rec_lmdb(tmp_path / "s", ["cat", "dog"])
    a = LmdbReader(store)
    a.get(1)  # keeps its environment open
    b = LmdbReader(store)
    assert b.get(2)[1] == "dog" and a.get(1)[1] == "cat"


def test_two_writers_to_one_destination(tmp_path):
    dest = tmp_path / "s"
    first, second = LmdbWriter(dest), LmdbWriter(dest)
    first.add(text_image("one"), "one")
    second.add(text_image("two"), "two")
    first.close()
    with pytest.raises(FileExistsError, match="appeared while"):
        second.close()
    assert LmdbReader(dest).get(1)[1] == "one"  # the store that reported success is still there
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s"]
    third = LmdbWriter(dest, overwrite=True)
    third.add(text_image("three"), "three")
    third.close()
    assert LmdbReader(dest).get(1)[1] == "three"


def _cfg(tmp_path, out, steps, val_same_as_train=False, hidden=32):
    from ocr.engine.config import config_from_dict

    train_db, val_db = tmp_path / "train", tmp_path / "val"
    if not train_db.exists():
        make_rec_lmdb(train_db, ["cat", "dog", "sun", "red"] * 4)
        make_rec_lmdb(val_db, ["cat", "dog"])
    return config_from_dict({
        "model": "crnn_mobilenet", "task": "recognition", "out": str(tmp_path / out),
        "model_args": {"charset": "lower36", "hidden": hidden, "num_layers": 1, "max_width": 64},
        "train": [{"path": str(train_db), "ratio": 1.0}],
        "val": [{"path": str(train_db if val_same_as_train else val_db), "name": "val"}],
        "batch_size": 4, "steps": steps, "lr": 3e-3, "warmup_steps": 1, "val_every": 2, "log_every": 1,
        "save_every": 2, "workers": 0, "amp": "off", "seed": 3})


def test_resume_after_a_kill_between_the_two_checkpoint_files_is_exact(tmp_path):
    from ocr.engine.trainer import Trainer

    Trainer(_cfg(tmp_path, "full", 6), device="cpu").fit()
    out = tmp_path / "part"
    Trainer(_cfg(tmp_path, "part", 6), device="cpu").fit(until=2)
    state2 = out / "state2"
    shutil.copy(out / "last.state.safetensors", state2)
    t = Trainer(_cfg(tmp_path, "part", 6), device="cpu")
    t.resume()
    t.fit(until=4)
    os.replace(state2, out / "last.state.safetensors")  # killed after the model file of step 4
    t = Trainer(_cfg(tmp_path, "part", 6), device="cpu")
    assert t.resume() and t.step == 2
    t.fit()
    a, b = load_file(str(tmp_path / "full" / "last.safetensors")), load_file(str(out / "last.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    steps = [int(r["step"]) for r in csv.DictReader(open(out / "train_log.csv"))]
    assert steps == [1, 2, 3, 4, 5, 6]  # no rows repeated by the resumes
    # a changed recipe on rerun: one clear error that says how to start fresh
    with pytest.raises(CheckpointError, match="--no-resume"):
        Trainer(_cfg(tmp_path, "part", 6, hidden=16), device="cpu").resume()
    # a cut state file: the error names it
    data = (out / "last.state.safetensors").read_bytes()
    (out / "last.state.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="last.state.safetensors"):
        Trainer(_cfg(tmp_path, "part", 6), device="cpu").resume()


def test_the_same_store_for_training_and_validation(tmp_path):
    from ocr.engine.trainer import Trainer

    best = Trainer(_cfg(tmp_path, "same", 2, val_same_as_train=True), device="cpu").fit()
    assert 0.0 <= best <= 1.0


def test_init_from_a_bad_file_is_one_line(tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x00" * 64)
    cfg = tmp_path / "r.yaml"
    cfg.write_text(f"model: crnn_mobilenet\ntask: recognition\nout: {tmp_path / 'o'}\n"
                   f"train: [{make_rec_lmdb(tmp_path / 't', ['cat'])}]\ninit_from: {bad}\n")
    res = _ocr("train", str(cfg), "steps=1", "--device", "cpu")
    assert res.returncode == 2 and "Traceback" not in res.stderr and "bad.safetensors" in res.stderr


def test_shipped_names_are_never_taken_from_the_current_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rec_default").write_bytes(b"planted")
    assert resolve_path("rec_default") == shipped()["rec_default"]
    (tmp_path / "det_default").mkdir()
    assert resolve_path("det_default") == shipped()["det_default"]
    with pytest.raises(CheckpointError, match="directory"):
        resolve_path("./det_default")
    with pytest.raises(CheckpointError, match=r"write \./nope"):
        (tmp_path / "nope").write_bytes(b"x")
        resolve_path("nope")


def _with_meta(tmp_path, **changes):
    model = create_model("crnn_mobilenet", charset="lower36", hidden=16, num_layers=1)
    path = save_model(model, tmp_path / "m.safetensors")
    tensors = load_file(str(path))
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        meta = dict(f.metadata())
    config = json.loads(meta["config"])
    config.update(changes.pop("config", {}))
    meta.update(config=json.dumps(config), **changes)
    save_file(tensors, str(path), metadata=meta)
    return path


def test_weight_metadata_cannot_point_at_local_files(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0\n")
    path = _with_meta(tmp_path, config={"charset": f"file:{secret}"})
    with pytest.raises(CheckpointError) as e:
        load_model(path)
    assert "names a file" in str(e.value) and "root:x" not in str(e.value)


def test_unknown_architecture_names_the_file(tmp_path):
    path = _with_meta(tmp_path, arch="no_such_arch")
    with pytest.raises(CheckpointError, match=r"m.safetensors: unknown model 'no_such_arch'"):
        load_model(path)


def test_eval_goes_on_past_an_unreadable_dataset(tmp_path, capsys):
    from ocr.engine.evaluate import run_eval

    model = create_model("crnn_mobilenet", charset="lower36", hidden=16, num_layers=1)
    weights = save_model(model, tmp_path / "m.safetensors")
    good = make_rec_lmdb(tmp_path / "good", ["cat", "dog"])
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "data.mdb").write_bytes(b"\x00" * 100)
    rc = run_eval(str(weights), [str(broken), str(tmp_path / "missing"), good], device="cpu")
    out, err = capsys.readouterr()
    assert rc == 1
    assert "good" in out and "acc36" in out  # the table for the good dataset
    lines = err.strip().splitlines()
    assert len(lines) == 2 and "broken" in lines[0] and "missing" in lines[1]
