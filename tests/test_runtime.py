"""The ONNX Runtime backend: export with dynamic batch and width, parity with PyTorch, int8, the
cache, and how Reader / load_model / ``ocr export`` pick backends."""
import cv2
import numpy as np
import onnx
import pytest
import torch

from helpers import text_image
from ocr.engine.checkpoint import save_model
from ocr.pipeline.detect import detect_images
from ocr.pipeline.recognize import recognize_crops
from ocr.registry import create_model
from ocr.models.decoding import DecodeOptions
from ocr.runtime import BackendError, cache_dir, cached_standalone, onnx_bytes, resolve_backend, with_backend
from ocr.runtime.onnx_export import export_onnx
from ocr.runtime.onnx_model import OnnxModel
from ocr.runtime.standalone import StandaloneModel
from ocr.runtime.quantize import calibration_inputs, quantize_int8


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("OCR_CACHE_DIR", str(tmp_path / "cache"))


def tiny_crnn():
    torch.manual_seed(0)
    return create_model("crnn_mobilenet", charset="lower36", hidden=16, num_layers=2).eval()


def tiny_detector():
    torch.manual_seed(0)
    return create_model("fcenet_mobilenetv3", backbone_args={"scale": 0.35}, fpn_channels=16).eval()


def crops(n=7, seed=0):
    rng = np.random.default_rng(seed)
    words = ["a", "to", "cab", "fig", "deed", "hijklmn", "opqrstuvwxyz"]
    return [cv2.cvtColor(cv2.imdecode(np.frombuffer(text_image(words[i % len(words)], int(rng.integers(18, 40))),
                                                    np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
            for i in range(n)]


@pytest.mark.parametrize("wrapper", [lambda m, b: OnnxModel(m, b), lambda m, b: StandaloneModel(b)],
                         ids=["beside_torch", "standalone"])
def test_recognizer_export_reads_like_torch_whatever_the_batch(wrapper):
    model = tiny_crnn()
    onnx_model = wrapper(model, export_onnx(model))
    images = crops()
    for options in (DecodeOptions(), DecodeOptions(beam=4), DecodeOptions(lexicon=("cab", "fig", "deed", "to"))):
        ref = recognize_crops(model, images, batch_size=3, options=options)
        for bs in (1, 3, 7):  # batch and width are dynamic; packed frames keep each reading its own
            got = recognize_crops(onnx_model, images, batch_size=bs, options=options)
            assert [t for t, _ in got] == [t for t, _ in ref]
            assert np.allclose([c for _, c in got], [c for _, c in ref], atol=1e-4)


def test_a_standalone_model_carries_what_the_pipeline_asks_of_a_model():
    model = tiny_crnn()
    alone = StandaloneModel(export_onnx(model))
    assert (alone.task, alone.arch, alone.decode_options) == ("recognition", "crnn_mobilenet", model.decode_options)
    assert (alone.config.img_height, alone.config.max_width) == (model.config.img_height, model.config.max_width)
    assert alone.tokenizer.itos == model.tokenizer.itos
    assert alone.decoder.frame_lengths([5, 33, None], 40) == model.frame_lengths([5, 33, None], 40)
    with pytest.raises(ValueError, match="CPU only"):
        alone.to("cuda")


def test_a_recognizer_reads_with_the_trailing_grey_its_file_names(tmp_path, monkeypatch):
    """The pipeline pads each crop with the grey the model's config says it was trained to read,
    in PyTorch, from the weight file, and from the ONNX file alone; files without the field read 2."""
    from types import SimpleNamespace

    from ocr.data.rec_transforms import trailing_grey
    from ocr.engine.checkpoint import load_model

    torch.manual_seed(0)
    model = create_model("crnn_mobilenet", charset="lower36", hidden=16, num_layers=2, trailing_grey=0.5).eval()
    loaded = load_model(save_model(model, tmp_path / "half.safetensors"))
    alone = StandaloneModel(export_onnx(loaded))
    assert trailing_grey(loaded) == trailing_grey(alone) == 0.5
    assert trailing_grey(SimpleNamespace(config=SimpleNamespace(img_height=32))) == 2.0  # saved before the field
    seen = []
    run = alone.session.run
    monkeypatch.setattr(alone.session, "run", lambda images, widths: seen.append((images.shape, list(widths))) or run(images, widths))
    images = crops(3)
    got = recognize_crops(alone, images)
    read = sorted(w for _, widths in seen for w in widths)
    crop_widths = sorted(int(round(c.shape[1] * 32 / c.shape[0])) for c in images)
    assert all(abs(w - (cw + 16)) <= 1 for w, cw in zip(read, crop_widths))  # half of the height of 32
    assert all(0 <= shape[3] - max(widths) < 16 for shape, widths in seen)  # no edge grey past it: rounding only
    assert [t for t, _ in got] == [t for t, _ in recognize_crops(loaded, images)]


def test_a_crop_is_fed_to_the_recognizer_the_same_whatever_is_read_with_it(monkeypatch):
    """Each crop is padded to a width of its own (``padded_width``) and batched only with crops
    padded alike: its row of the batch is the same alone or among others, to the last bit, so no
    rounding in int8 can depend on its batch mates."""
    from ocr.data.rec_transforms import padded_width

    model = StandaloneModel(export_onnx(tiny_crnn()))
    rows = []
    run = model.session.run
    monkeypatch.setattr(model.session, "run", lambda images, widths: rows.append((images.copy(), list(widths))) or run(images, widths))
    images = crops(7)
    together = recognize_crops(model, images, batch_size=4)
    batched = {}
    for batch, widths in rows:
        for row, w in zip(batch, widths):
            batched.setdefault(w, []).append(row)
        assert batch.shape[3] == padded_width(max(widths) - 64, 32, 2.0)
    for k, image in enumerate(images):
        rows.clear()
        assert recognize_crops(model, [image]) == [together[k]]
        (row,), (w,) = rows[0]
        assert any(np.array_equal(row, other) for other in batched[w])


def test_recognizer_logits_match_inside_each_read_width():
    model = tiny_crnn()
    onnx_model = OnnxModel(model, export_onnx(model))
    x = torch.randn(3, 3, 32, 200)
    widths = [200, 90, 40]
    ref, got = model(x, widths=widths), onnx_model(x, widths=widths)
    for b, frames in enumerate(model.frame_lengths(widths, ref.shape[1])):
        assert torch.allclose(got[b, :frames], ref[b, :frames], atol=1e-4)


def test_cppd_exports_with_its_padding_mask():
    torch.manual_seed(0)
    model = create_model("cppd_mobilenet", charset="lower36", max_length=8, dim=32, heads=4, enc_layers=1,
                         dec_layers=1, dropout=0.0, backbone="rec_mobilenetv3_small",
                         backbone_args={"scale": 0.5}, max_width=128).eval()
    onnx_model = OnnxModel(model, export_onnx(model))
    for widths in ([100, 40], [100, 40, 192]):  # batch sizes other than the traced one too
        x = torch.randn(len(widths), 3, 32, 192)  # wider than the positions cover: columns past them are padding
        ref, got = model(x, widths=widths)["slots"], onnx_model(x, widths=widths)["slots"]
        assert torch.allclose(got, ref, atol=1e-4)


@pytest.mark.parametrize("wrapper", [lambda m, b: OnnxModel(m, b), lambda m, b: StandaloneModel(b)],
                         ids=["beside_torch", "standalone"])
def test_detector_export_gives_the_same_polygons_within_a_pixel(wrapper):
    from ocr.api import load_model

    model = load_model("det_default")
    onnx_model = wrapper(model, export_onnx(model))
    page = np.full((240, 400, 3), 250, np.uint8)
    for k, word in enumerate(["receipt", "TOTAL 12.50", "thank you"]):
        cv2.putText(page, word, (20 + 15 * k, 60 + 70 * k), cv2.FONT_HERSHEY_SIMPLEX, 1.1, (20, 20, 20), 2)
    ref = detect_images(model, [page, page[:, :250]], size=320, batch_size=2)
    got = detect_images(onnx_model, [page, page[:, :250]], size=320, batch_size=2)
    assert len(ref[0]) >= 3
    for r, g in zip(ref, got):
        assert len(r) == len(g)
        for a, b in zip(r, g):
            assert np.abs(a["polygon"] - b["polygon"]).max() <= 1.0
            assert abs(a["score"] - b["score"]) < 1e-3


def test_int8_is_quantized_smaller_and_still_reads(capsys):
    model = tiny_crnn()
    fp32 = export_onnx(model)
    int8 = quantize_int8(fp32, calibration_inputs(model, n=8))
    assert capsys.readouterr().out == ""  # nothing on standard output, which carries results
    graph = onnx.load_from_string(int8)
    ops = [n.op_type for n in graph.graph.node]
    assert "QuantizeLinear" in ops
    assert "LSTM" in ops and "DynamicQuantizeLSTM" not in ops  # per-batch activation scales: not used
    relus = [n for n in onnx.load_from_string(fp32).graph.node if n.op_type == "Relu"]
    assert relus and "Relu" not in ops  # each folded into the uint8 range of the convolution before it
    assert {p.key for p in graph.metadata_props} >= {"arch", "config", "outputs"}
    quantized = OnnxModel(model, int8, "int8")
    x = torch.randn(2, 3, 32, 120)
    ref, got = model(x, widths=[120, 60]), quantized(x, widths=[120, 60])
    assert got.shape == ref.shape
    assert torch.corrcoef(torch.stack([got.flatten(), ref.flatten()]))[0, 1] > 0.9


def test_int8_calibration_takes_the_feeds_one_at_a_time(monkeypatch):
    """Activations of all feeds at once took rec_default's calibration to 13 GB: the calibrator
    must fold each feed into its histograms before it runs the next."""
    from onnxruntime.quantization.calibrate import HistogramCalibrater

    sizes, collect = [], HistogramCalibrater.collect_data

    def counting(self, reader):  # how many feeds each collection runs
        get_next, count = reader.get_next, [0]

        def counted():
            feed = get_next()
            count[0] += feed is not None
            return feed

        reader.get_next = counted
        try:
            return collect(self, reader)
        finally:
            reader.get_next = get_next
            sizes.append(count[0])

    monkeypatch.setattr(HistogramCalibrater, "collect_data", counting)
    model = tiny_crnn()
    feeds = calibration_inputs(model, n=24)  # 48 crops: 3 feeds of 16
    quantize_int8(export_onnx(model), feeds)
    assert len(feeds) > 1 and sizes == [1] * len(feeds)


def test_int8_recognizer_reads_a_crop_the_same_whatever_the_batch():
    model = tiny_crnn()
    quantized = OnnxModel(model, quantize_int8(export_onnx(model), calibration_inputs(model, n=8)), "int8")
    images = crops()
    alone = [recognize_crops(quantized, [im], batch_size=1)[0] for im in images]
    together = recognize_crops(quantized, images, batch_size=len(images))
    assert [t for t, _ in together] == [t for t, _ in alone]
    # static scales: the same to the last bits (an LSTM quantized dynamically, with scales from the
    # whole batch, moved these confidences by 5e-7)
    assert np.allclose([c for _, c in together], [c for _, c in alone], rtol=0, atol=1e-7)


def test_a_crnn_is_quantized_in_its_backbone_only(tmp_path):
    """The int8 file a reader builds leaves the CTC head in fp32: quantized, its logits moved in
    steps that a rounding flip near the batch's edge turned into visible changes of confidence."""
    model = tiny_crnn()
    weights = save_model(model, tmp_path / "tiny.safetensors")
    with_backend(model, "onnxruntime", "int8", weights=weights)
    graph = onnx.load(str(next(cache_dir().glob("*int8*.onnx")))).graph
    made_by = {o: n.op_type for n in graph.node for o in n.output}
    convs = [n for n in graph.node if n.op_type == "Conv"]
    head = [n for n in graph.node if n.op_type == "MatMul"]
    assert convs and all(made_by.get(n.input[0]) == "DequantizeLinear" for n in convs)  # the backbone: int8
    assert head and all(made_by.get(i) != "DequantizeLinear" for n in head for i in n.input)  # the head: fp32


def test_int8_cache_files_change_with_the_quantization_recipe(monkeypatch):
    import ocr.runtime.quantize as quantize
    from ocr.runtime import cache_key

    model = tiny_crnn()
    before = cache_key(model, "int8"), cache_key(model, "fp32")
    monkeypatch.setattr(quantize, "RECIPE", quantize.RECIPE + 1)
    assert cache_key(model, "int8") != before[0] and cache_key(model, "fp32") == before[1]


def test_backend_choices_are_checked():
    assert resolve_backend("auto", "auto", "recognition", "cpu") == ("onnxruntime", "int8")
    assert resolve_backend("auto", "auto", "detection", "cpu") == ("onnxruntime", "fp32")
    assert resolve_backend("auto", "auto", "recognition", "cuda") == ("torch", "fp32")
    assert resolve_backend("auto", "auto", "fullpage", "cpu") == ("torch", "fp32")
    assert resolve_backend("torch", "bf16", "recognition") == ("torch", "bf16")
    for bad in (("torch", "int8", "recognition", "cpu"), ("onnxruntime", "bf16", "recognition", "cpu"),
                ("onnxruntime", "auto", "recognition", "cuda"), ("onnxruntime", "auto", "fullpage", "cpu"),
                ("tensorrt", "auto", "recognition", "cpu")):
        with pytest.raises(BackendError):
            resolve_backend(*bad)


def test_onnx_files_are_cached_by_weights_and_a_damaged_one_is_rebuilt(tmp_path):
    model = tiny_crnn()
    weights = save_model(model, tmp_path / "tiny.safetensors")
    first = with_backend(model, "onnxruntime", "fp32", weights=weights)
    files = list(cache_dir().glob("*.onnx"))
    assert len(files) == 1 and files[0].read_bytes() == onnx_bytes(model, "fp32", weights)
    files[0].write_bytes(b"not an onnx file")
    again = with_backend(model, "onnxruntime", "fp32", weights=weights)
    assert isinstance(first, StandaloneModel) and isinstance(again, StandaloneModel)
    x = np.random.default_rng(0).standard_normal((1, 3, 32, 64)).astype(np.float32)
    assert np.allclose(again(x, widths=[64]), first(x, widths=[64]))
    assert files[0].read_bytes() != b"not an onnx file"


def test_a_cached_model_is_found_from_its_weight_file_alone(tmp_path):
    model = tiny_crnn()
    weights = save_model(model, tmp_path / "tiny.safetensors")
    assert cached_standalone(weights, "recognition", "onnxruntime", "fp32") is None  # nothing cached yet
    with_backend(model, "onnxruntime", "fp32", weights=weights)
    found = cached_standalone(weights, "recognition", "onnxruntime", "fp32", source="tiny")
    assert isinstance(found, StandaloneModel) and found.source == "tiny"
    assert cached_standalone(weights, "recognition", "onnxruntime", "int8") is None  # another precision
    assert cached_standalone(weights, "recognition", "torch", "fp32") is None  # another backend
    assert cached_standalone(weights, "detection", "onnxruntime", "fp32") is None  # not a detector
    next(cache_dir().glob("*.onnx")).write_bytes(b"damaged")
    assert cached_standalone(weights, "recognition", "onnxruntime", "fp32") is None  # rebuilt by the torch path


def test_a_cached_file_that_decodes_otherwise_is_rebuilt(tmp_path):
    """A file whose decoding spec the model no longer has (another version wrote it) is built again."""
    from ocr.runtime.onnx_export import _with_metadata

    model = tiny_crnn()
    weights = save_model(model, tmp_path / "tiny.safetensors")
    with_backend(model, "onnxruntime", "fp32", weights=weights)
    path = next(cache_dir().glob("*.onnx"))
    proto = onnx.load_from_string(path.read_bytes())
    stale = [p for p in proto.metadata_props if p.key != "runtime"]
    del proto.metadata_props[:]
    proto.metadata_props.extend(stale)
    path.write_bytes(_with_metadata(proto.SerializeToString(), {"runtime": '{"task": "recognition"}'}))
    assert cached_standalone(weights, "recognition", "onnxruntime", "fp32") is None  # unusable: not used
    again = with_backend(model, "onnxruntime", "fp32", weights=weights)
    assert isinstance(again, StandaloneModel) and again.decoder.spec() == model.decoder.spec()
    assert isinstance(cached_standalone(weights, "recognition", "onnxruntime", "fp32"), StandaloneModel)


def test_models_given_as_objects_are_cached_by_their_config_too():
    from ocr.engine.checkpoint import with_config
    from ocr.runtime import cache_key

    model = tiny_detector()
    assert cache_key(with_config(model, score_thr=0.5), "fp32") != cache_key(model, "fp32")


NO_TORCH = """
import sys
import traceback
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "torch" and any(f.name == "_find_and_load" for f in traceback.extract_stack()):
            raise ImportError("PyTorch was imported")
sys.meta_path.insert(0, Block())
from ocr.api import Reader
reader = Reader(det=sys.argv[1], rec=sys.argv[2], precision="fp32")
print(repr(reader.detector), repr(reader.recognizer))
for text, conf in reader.recognize([__import__("cv2").imread(p)[:, :, ::-1] for p in sys.argv[3:]]):
    print(text, round(conf, 4))
print(len(reader.read(sys.argv[3]).lines), "lines")
"""


def test_a_reader_whose_models_are_cached_never_imports_torch(tmp_path):
    import subprocess
    import sys

    from ocr.api import Reader

    rec = save_model(tiny_crnn(), tmp_path / "rec.safetensors")
    det = save_model(tiny_detector(), tmp_path / "det.safetensors")
    files = []
    for k, crop in enumerate(crops(3)):
        files.append(str(tmp_path / f"{k}.png"))
        cv2.imwrite(files[-1], crop[:, :, ::-1])
    reader = Reader(det=str(det), rec=str(rec), precision="fp32")
    assert reader.detector is not None  # loading builds its ONNX file (with PyTorch) into the cache
    want = [f"{t} {round(c, 4)}" for t, c in reader.recognize([cv2.imread(f)[:, :, ::-1] for f in files])]
    want.append(f"{len(reader.read(files[0]).lines)} lines")
    run = subprocess.run([sys.executable, "-c", NO_TORCH, str(det), str(rec), *files], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == "StandaloneModel(fcenet_mobilenetv3, onnxruntime, fp32) StandaloneModel(crnn_mobilenet, onnxruntime, fp32)"
    assert lines[1:] == want


def test_reader_runs_each_backend_and_they_read_alike(tmp_path):
    from ocr.api import Reader

    rec = save_model(tiny_crnn(), tmp_path / "rec.safetensors")
    det = save_model(tiny_detector(), tmp_path / "det.safetensors")
    images = crops(4)
    texts = {}
    for backend, precision in (("torch", "fp32"), ("onnxruntime", "fp32"), ("torch", "bf16")):
        reader = Reader(det=str(det), rec=str(rec), backend=backend, precision=precision, straighten_crops=False)
        assert reader.recognizer.precision == precision if backend != "torch" or precision != "fp32" else True
        texts[backend, precision] = [t for t, _ in reader.recognize(images)]
    assert texts["onnxruntime", "fp32"] == texts["torch", "fp32"]
    with pytest.raises(BackendError, match="int8"):
        Reader(backend="torch", precision="int8")


def test_ocr_export_writes_an_onnx_file(tmp_path, capsys):
    from ocr.cli import main

    weights = save_model(tiny_crnn(), tmp_path / "tiny.safetensors")
    out = tmp_path / "tiny.onnx"
    assert main(["export", str(weights), "--format", "onnx", "-o", str(out)]) == 0
    graph = onnx.load(str(out))
    assert [i.name for i in graph.graph.input] == ["images", "widths"]
    assert "crnn_mobilenet" in capsys.readouterr().out


def test_a_model_that_cannot_be_exported_runs_in_torch_under_auto(capsys):
    from seq_fakes import TinySeqConfig, TinySeqRecognizer

    model = TinySeqRecognizer(TinySeqConfig()).eval()
    model.arch = "tiny_seq_test"
    model.forward = lambda images, widths=None, targets=None: (_ for _ in ()).throw(TypeError("not traceable"))
    assert with_backend(model, "auto", "auto") is model
    assert "tiny_seq_test runs in PyTorch" in capsys.readouterr().err
    with pytest.raises(BackendError, match="tiny_seq_test: cannot run in ONNX Runtime"):
        with_backend(model, "onnxruntime", "fp32")
