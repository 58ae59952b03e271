"""``ocr eval`` names each dataset so that split folders stay distinguishable."""
from ocr.data.lmdb_store import dataset_name


def test_split_folders_are_named_with_their_parent():
    assert dataset_name("data/real/ic15_det/val") == "ic15_det_val"
    assert dataset_name("data/real/svt") == "svt"
    assert dataset_name("val") == "val"


def test_recognition_eval_reads_crops_as_the_reader_does(tmp_path, monkeypatch):
    """Evaluation hands the store's decoded crops, in order, to the reader's crop reading (the
    batcher of ``Reader.recognize``, tall crops also read turned), so it measures what users get;
    an unreadable crop is skipped like the training loader does."""
    import ocr.pipeline.recognize
    from ocr.engine.rec_eval import evaluate_recognition
    from ocr.pipeline.inputs import load_image
    from ocr.registry import create_model
    from tests.helpers import make_rec_lmdb, text_image

    seen = {}

    def fake_read_crops(model, crops, batch_size, device, straighten_with=None, reread=()):
        seen["args"] = (batch_size, device, straighten_with, reread)
        return [(f"{c.shape[1]}x{c.shape[0]}", 0.5) for c in crops]

    monkeypatch.setattr(ocr.pipeline.recognize, "read_crops", fake_read_crops)
    model = create_model("crnn_mobilenet", charset="lower36", hidden=16, num_layers=1)
    labels = ["a", "longerwordshere", "bc", "x"]
    store = make_rec_lmdb(tmp_path / "rec", labels, corrupt=(2,))
    res = evaluate_recognition(model, store, batch_size=4)
    shapes = [load_image(text_image(t, seed=i))[0].shape for i, t in enumerate(labels)]
    expect = [0, 1, 3, 3]  # sample 2 is unreadable: the next readable one stands in
    assert res.gts == [labels[j] for j in expect]
    assert res.preds == [f"{shapes[j][1]}x{shapes[j][0]}" for j in expect]
    assert seen["args"] == (4, "cpu", None, ()) and not model.training  # trainer validation: no reread


def test_pad_batch_adds_trailing_grey_columns():
    import torch

    from ocr.data.rec_transforms import pad_batch

    out = pad_batch([torch.ones(3, 4, 10), torch.ones(3, 4, 5)], multiple=8, extra=7)
    assert out.shape == (2, 3, 4, 24)  # 10 + 7 rounded up to a multiple of 8
    assert out[1, :, :, 5:].abs().sum() == 0 and out[0, :, :, :10].min() == 1
