"""The TrOCR-style full-page reader: key-value cache, beam search, loop stop, chunked reading with
seam de-duplication, the chunk curriculum, and a tiny model that overfits two pages."""
import cv2
import numpy as np
import pytest
import torch

from ocr.data.lmdb_store import DET_SCHEMA, LmdbWriter
from ocr.data.page_dataset import Curriculum, PageChunkDataset
from ocr.models.fullpage.trocr import repeating, trim_repeats
from ocr.pipeline.fullpage import ChunkLine, chunk_count, chunk_rows, merge_chunks
from ocr.registry import create_model

TINY = dict(charset="ascii96", img_height=64, img_width=256, stride=8, dim=64, heads=4, enc_layers=1,
            dec_layers=2, max_length=40, dropout=0.0, smoothing=0.0)


def test_cached_decoding_equals_uncached():
    torch.manual_seed(0)
    model = create_model("trocr_small", **TINY).eval()
    with torch.no_grad():
        memory = model.encode(torch.randn(3, 3, 64, 256))
        cached, uncached = model.generate(memory, use_cache=True), model.generate(memory, use_cache=False)
    assert torch.equal(cached[0], uncached[0])
    assert torch.allclose(cached[1], uncached[1], atol=1e-5)


def test_beam_of_one_is_greedy_and_wider_beams_score_no_worse():
    torch.manual_seed(1)
    model = create_model("trocr_small", **TINY).eval()
    images = torch.randn(1, 3, 64, 256)
    outputs = model(images)
    greedy = model.postprocess(outputs)[0]
    memory = outputs["memory"]
    one = model.beam(memory, 1)
    assert "\n".join(t for t, _ in greedy) == "\n".join(x for x in one[0].split("\n") if x.strip())
    assert model.beam(memory, 4)[1] >= one[1] - 1e-6


def test_a_looping_reading_is_cut_after_its_first_block():
    assert repeating(list(b"abcabcabcabc"), repeats=3, span=9) and not repeating(list(b"abcabcabd"), 3, 9)
    assert not repeating(list(b"----"), repeats=3, span=12)  # a short rule is not a loop
    eos = 0
    tokens = torch.tensor([list(b"xyabcdabcdabcd")])
    assert bytes(t for t in trim_repeats(tokens, eos, 3, 12)[0].tolist() if t) == b"xyabcd"
    model = create_model("trocr_small", **{**TINY, "repeat_span": 12})
    with torch.no_grad():
        model.head.weight.zero_()
        model.head.bias.fill_(-10.0)
        model.head.bias[model.tokenizer.stoi["a"]] = 10.0  # a decoder that says "a" forever
        tokens, _ = model.generate(model.encode(torch.zeros(1, 3, 64, 256)))
    text = model.tokenizer.decode(tokens[0].tolist())
    assert text == "aaaa" and tokens.shape[1] < TINY["max_length"]  # stopped early, loop cut


def test_chunks_cover_the_page_with_overlap_and_follow_its_height():
    rows = chunk_rows(1000, 10)
    assert rows[0][0] == 0 and rows[-1][1] == 1000
    assert all(b[0] < a[1] for a, b in zip(rows, rows[1:]))  # neighbours overlap
    assert chunk_count(1500, 500, 4.0) == 16 and chunk_count(100, 800, 4.0) == 1
    assert chunk_count(1500, 500, 4.0, overlap=0.0) == 12


def test_seam_keeps_one_copy_of_the_lines_both_chunks_read():
    a = [ChunkLine("TOTAL 12.50", 0.9, 0, 100), ChunkLine("CASH 20.00", 0.6, 0, 100)]
    b = [ChunkLine("CASH 20.0O", 0.8, 80, 180), ChunkLine("CHANGE 7.50", 0.9, 80, 180)]
    merged = merge_chunks([a, b])
    assert [m.text for m in merged] == ["TOTAL 12.50", "CASH 20.0O", "CHANGE 7.50"]  # the surer copy kept
    c = [ChunkLine("THANK YOU", 0.9, 160, 260)]
    assert [m.text for m in merge_chunks([a, c])] == ["TOTAL 12.50", "CASH 20.00", "THANK YOU"]
    same = [ChunkLine("1", 0.9, 0, 10)]
    assert len(merge_chunks([same, [ChunkLine("2", 0.9, 5, 15)]])) == 2  # short different lines stay


def _page(text_lines, width=256, line_h=20):
    img = np.full((line_h * len(text_lines) + 8, width, 3), 255, np.uint8)
    lines = []
    for k, t in enumerate(text_lines):
        y = 4 + k * line_h
        cv2.putText(img, t, (4, y + 15), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1)
        lines.append({"polygon": [[2, y], [width - 2, y], [width - 2, y + line_h], [2, y + line_h]], "text": t})
    return img, lines


def _store(path, pages):
    with LmdbWriter(path, schema=DET_SCHEMA) as w:
        for text_lines in pages:
            img, lines = _page(text_lines)
            w.add(cv2.imencode(".png", img)[1].tobytes(), {"width": img.shape[1], "height": img.shape[0],
                                                           "lines": lines, "text": "\n".join(text_lines)})
    return str(path)


def test_chunk_curriculum_grows_and_targets_the_visible_lines(tmp_path):
    store = _store(tmp_path / "p", [["l1 aa", "l2 bb", "l3 cc", "l4 dd", "l5 ee", "l6 ff"]])
    ds = PageChunkDataset(store, 64, 256, max_length=40, curriculum=Curriculum(full_at=1000))
    early = [len(ds.get(0, d)[1].split("\n")) for d in range(0, 20)]
    late = [len(ds.get(0, d)[1].split("\n")) for d in range(2000, 2040)]
    assert max(early) <= 2 and max(late) >= 5
    assert ds.get(0, 7)[1] == ds.get(0, 7)[1] and torch.equal(ds.get(0, 7)[0], ds.get(0, 7)[0])
    rows = ds.lines[0]
    assert ds.target(rows, 24 + 0.5 * 20, 200)[1].startswith("l3 cc")  # l2 only half visible: left out
    assert ds.target(rows, 24 + 0.3 * 20, 200)[1].startswith("l2 bb")  # 70% visible: in
    short = PageChunkDataset(store, 64, 256, max_length=12)
    bottom, text = short.target(rows, 0, 200)
    assert text == "l1 aa\nl2 bb" and bottom == rows[2][0]  # the strip ends above the line that does not fit


def test_curriculum_grown_to_the_input_never_shrinks_a_strip_below_the_page_width_scale(tmp_path):
    lines = [f"l{k} ab" for k in range(12)]  # a 256 x 248 page, lines 20 high
    store = _store(tmp_path / "p", [lines])
    ds = PageChunkDataset(store, 64, 256, max_length=200, curriculum=Curriculum(full_at=10, grow_to="input"))
    tops = [ds.strip((248, 256), ds.lines[0], np.random.default_rng(d), d) for d in range(100, 160)]
    heights = [b - t for t, b in tops]
    assert max(heights) <= 64 + 1e-6 and max(heights) > 50  # up to the input's aspect at full width
    assert all(ds.get(0, d)[1].count("\n") <= 3 for d in range(100, 130))
    whole = PageChunkDataset(store, 64, 256, max_length=200, curriculum=Curriculum(full_at=10))
    assert max(b - t for t, b in (whole.strip((248, 256), whole.lines[0], np.random.default_rng(d), d)
                                  for d in range(100, 160))) > 150
    with pytest.raises(ValueError, match="grow_to"):
        Curriculum(grow_to="pages")


def test_backbone_encoder_loads_the_recognizer_backbone_and_reads_any_input_height():
    from ocr.weights import resolve_path
    from ocr.engine.checkpoint import _read_tensors

    model = create_model("trocr_small", **{**TINY, "backbone": "rec_resnet_small", "pool_width": 2})
    crnn = {k: v for k, v in _read_tensors(resolve_path("rec_default")).items() if k.startswith("backbone.")}
    own = model.state_dict()
    assert crnn and all(k in own and own[k].shape == v.shape for k, v in crnn.items())
    with torch.no_grad():
        assert model.encode(torch.zeros(2, 3, 64, 256)).shape == (2, 4 * 32, 64)  # stride (16, 4), 2 columns a token
        assert model.encode(torch.zeros(2, 3, 32, 256)).shape == (2, 2 * 32, 64)  # a crop at page scale


def test_tiny_page_reader_overfits_two_pages(tmp_path):
    from ocr.api import Reader
    from ocr.engine.config import config_from_dict
    from ocr.engine.trainer import Trainer

    pages = [["total 12", "cash 20"], ["date 0101", "item ab"]]
    store, val = _store(tmp_path / "train", pages), _store(tmp_path / "val", pages)
    cfg = config_from_dict({"model": "trocr_small", "task": "fullpage", "out": str(tmp_path / "run"),
                            "model_args": TINY, "train": [{"path": store, "mode": "pages"}], "val": [val],
                            "batch_size": 2, "steps": 800, "lr": 1e-3, "warmup_steps": 20, "val_every": 800,
                            "log_every": 100, "save_every": 800, "workers": 0, "amp": "off", "threads": 1})
    assert Trainer(cfg, device="cpu").fit() == pytest.approx(1.0)  # word F1 on the two pages
    reader = Reader(engine="fullpage", page=str(tmp_path / "run" / "last.safetensors"), device="cpu", page_chunks=1)
    img, _ = _page(pages[1])
    page = reader.read(img)
    assert page.text == "date 0101\nitem ab"
    assert page.lines[0].polygon[0] == [0.0, 0.0] and page.lines[0].polygon[2][1] == float(img.shape[0])


def test_page_stores_train_in_forked_dataloader_workers(tmp_path):
    """The stores' environments are closed once their annotations are read, so a worker forked
    later opens its own (an environment left open in the parent cannot be opened in the child)."""
    from torch.utils.data import DataLoader

    from ocr.data.page_dataset import PageLmdbDataset, collate_pages

    store = _store(tmp_path / "p", [["l1 aa", "l2 bb", "l3 cc"], ["l4 dd", "l5 ee"]])
    for ds in (PageChunkDataset(store, 64, 256, max_length=40), PageLmdbDataset(store, 64, 256)):
        loader = DataLoader(ds, batch_size=2, num_workers=1, collate_fn=collate_pages,
                            multiprocessing_context="fork")
        images, targets = next(iter(loader))
        assert images.shape == (2, 3, 64, 256) and len(targets.texts) == 2
