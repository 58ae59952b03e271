"""Post-training int8 quantization of an exported model (ONNX Runtime, static, QDQ).

Weights are quantized per output channel, activations per tensor with ranges calibrated on a
small fixed set of synthetic data (``calibration_inputs``: crops for a recognizer, pages and scenes
for a detector, rendered by ``ocr.data.synth`` with a fixed seed, so a rebuild gives the same
file). Only the operators in ``OPS`` are quantized; recurrent layers stay in fp32: ONNX Runtime
quantizes an LSTM dynamically, with activation scales taken from the whole batch, so a crop's
reading would depend on the crops beside it (the LSTM in int8 was 15% faster). A ReLU after a
quantized convolution is quantized with it, which removes it (the uint8 range starts at 0) and with
it a dequantize-ReLU-quantize round trip: on 10 receipts' crops, the round trip after
rec_default's stem alone took 8% of the recognizer's time, and folding the ReLUs made it 8% faster.
"""
from __future__ import annotations

import contextlib
import io
import tempfile
from pathlib import Path

import numpy as np

CALIBRATION_SEED = 7100  # no recipe trains on it (tests/test_recipes checks the validation seeds)
OPS = ("Conv", "MatMul", "Gemm", "Relu")
RECIPE = 4  # bumped when OPS, a model's int8_scope or the calibration change, so that cached int8 files are rebuilt
# Feeds the calibrator runs before it folds their activations into its histograms (or ranges) and
# lets them go. All 12 recognizer feeds at once (recipe 2) took building rec_default's int8 file to
# a 13 GB peak and a MobileNet recognizer's past 21 GB: a laptop's first `ocr read` was killed.
CALIBRATION_STRIDE = 1


def calibration_inputs(model, n: int | None = None) -> list[dict[str, np.ndarray]]:
    """ONNX input feeds for calibrating ``model`` (a detection or recognition model)."""
    from ocr.data.synth import make_generator
    from ocr.data.synth.engine import make_sample

    if model.task == "detection":
        from ocr.pipeline.defaults import DET_SIZE
        from ocr.pipeline.detect import prepare

        feeds = []
        for kind in ("pages", "scenes"):
            gen = make_generator(kind, CALIBRATION_SEED)
            for i in range(n or 6):
                img, _ = make_sample(gen, CALIBRATION_SEED, i)
                feeds.append({"images": prepare(img, DET_SIZE)[0][None]})
        return feeds
    from ocr.data.rec_transforms import pad_for_reading, resize_crop, to_array, trailing_grey

    h, w = int(model.config.img_height), int(model.config.max_width)
    crops = []
    for geometry in ("plain", "scene"):
        gen = make_generator("crops", CALIBRATION_SEED, geometry=geometry)
        crops += [resize_crop(make_sample(gen, CALIBRATION_SEED, i)[0], h, w) for i in range(n or 96)]
    crops.sort(key=lambda c: c.shape[1])
    feeds = []
    for start in range(0, len(crops), 16):
        # two heights of edge grey, as recipes 3 and 4 were calibrated (the reader now pads none)
        batch, read = pad_for_reading([to_array(c) for c in crops[start:start + 16]], trailing_grey(model), edge=2.0)
        feeds.append({"images": batch, "widths": np.asarray(read, np.int64)})
    return feeds


def same_shape(feeds: list[dict[str, np.ndarray]]) -> list[dict[str, np.ndarray]]:
    """Feeds padded to one shape (zero = mid-grey / the mean colour; a padded batch row reads 16
    columns), as histogram calibration needs."""
    shape = np.max([f["images"].shape for f in feeds], axis=0)
    out = []
    for f in feeds:
        x = np.zeros(shape, np.float32)
        b, _, h, w = f["images"].shape
        x[:b, :, :h, :w] = f["images"]
        feed = {"images": x}
        if "widths" in f:
            feed["widths"] = np.full(shape[0], 16, np.int64)
            feed["widths"][:b] = f["widths"]
        out.append(feed)
    return out


def quantize_int8(onnx_fp32: bytes, feeds: list[dict[str, np.ndarray]], ops=OPS, method: str = "percentile",
                  scope: tuple[str, ...] | None = None) -> bytes:
    """The int8 (QDQ) version of an fp32 ONNX model, calibrated on ``feeds``: activation ranges
    from their 99.999th percentile (``method="percentile"``; on rec_default it cost 0.42 points of
    average accuracy where min/max cost 0.72) or their extremes (``"minmax"``). ``scope``: only
    nodes whose names start with one of these prefixes are quantized (a model's ``int8_scope``)."""
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType,
                                          quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process

    methods = {"percentile": CalibrationMethod.Percentile, "minmax": CalibrationMethod.MinMax}
    if method == "percentile":
        feeds = same_shape(feeds)

    class Feeds(CalibrationDataReader):
        """The feeds, handed to the calibrator ``CALIBRATION_STRIDE`` at a time (``set_range``)."""

        def __init__(self):
            self.it = iter(feeds)

        def __len__(self):
            return len(feeds)

        def set_range(self, start_index: int, end_index: int):
            self.it = iter(feeds[start_index:end_index])

        def get_next(self):
            return next(self.it, None)

    exclude = _outside(onnx_fp32, scope) if scope else []
    with tempfile.TemporaryDirectory(prefix="ocr-quant-") as tmp:
        src, pre, out = (Path(tmp) / n for n in ("fp32.onnx", "pre.onnx", "int8.onnx"))
        src.write_bytes(onnx_fp32)
        quant_pre_process(str(src), str(pre), skip_symbolic_shape=True)
        with contextlib.redirect_stdout(io.StringIO()):  # the calibrator prints its progress
            quantize_static(str(pre), str(out), Feeds(), quant_format=QuantFormat.QDQ, per_channel=True,
                            op_types_to_quantize=list(ops), activation_type=QuantType.QUInt8,
                            weight_type=QuantType.QInt8, calibrate_method=methods[method],
                            nodes_to_exclude=exclude, extra_options={"CalibStridedMinMax": CALIBRATION_STRIDE})
        return _keep_metadata(out.read_bytes(), onnx_fp32)


def _outside(onnx_bytes: bytes, scope: tuple[str, ...]) -> list[str]:
    import onnx

    return [n.name for n in onnx.load_from_string(onnx_bytes).graph.node if not n.name.startswith(scope)]


def _keep_metadata(data: bytes, source: bytes) -> bytes:
    import onnx

    proto, src = onnx.load_from_string(data), onnx.load_from_string(source)
    have = {p.key for p in proto.metadata_props}
    for p in src.metadata_props:
        if p.key not in have:
            entry = proto.metadata_props.add()
            entry.key, entry.value = p.key, p.value
    return proto.SerializeToString()
