"""Fakes and synthetic pages shared by the pipeline tests (imported as ``test_pipeline_helpers``).

``FakeDetector`` finds dark blobs (one per synthetic "word") and honours the detector contract
(normalised input, ``scales`` back to original pixels). ``FakeRecognizer`` reads any crop with
dark pixels as ``word``, confident when the crop is darker in its top half than in its bottom
half: synthetic words carry a thick bar on top, so upside-down or sideways crops read poorly.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch

from ocr.models.contract import GREEDY, DetectionModel, RecognitionModel

MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)


def dark_mask(t: torch.Tensor) -> np.ndarray:
    """uint8 mask of the dark pixels of a normalised (3, H, W) detector input."""
    rgb = t.permute(1, 2, 0).numpy() * STD + MEAN
    return (rgb.max(axis=2) < 0.5).astype(np.uint8)


class FakeDetector(DetectionModel):
    """Dark connected blobs of the network input -> their rectangles in original pixels."""

    def forward(self, images: torch.Tensor) -> dict:
        return {"images": images}

    def postprocess(self, outputs: dict, scales=None, image_sizes=None) -> list[list[dict]]:
        results = []
        for b, t in enumerate(outputs["images"]):
            n, _, stats, _ = cv2.connectedComponentsWithStats(dark_mask(t))
            sx, sy = scales[b] if scales else (1.0, 1.0)
            dets = []
            for x, y, w, h, area in stats[1:n]:
                if area < 20:
                    continue
                poly = np.float32([[x, y], [x + w, y], [x + w, y + h], [x, y + h]]) / np.float32([sx, sy])
                dets.append({"polygon": poly, "score": 0.9})
            results.append(dets)
        return results


@dataclass(frozen=True)
class _RecConfig:
    img_height: int = 32
    max_width: int = 400
    max_length: int = 25


class FakeRecognizer(RecognitionModel):
    """forward -> (B, 2, W): per column, darkness of the top and bottom halves."""

    config = _RecConfig()

    def forward(self, images: torch.Tensor, widths=None, targets=None) -> torch.Tensor:
        dark = (images.mean(dim=1) < -0.2).float()  # (B, H, W); padding (0) is not dark
        half = dark.shape[1] // 2
        return torch.stack([dark[:, :half].mean(1), dark[:, half:].mean(1)], dim=1)

    def postprocess(self, logits: torch.Tensor, widths=None, options=GREEDY) -> list[tuple[str, float]]:
        out = []
        for b in range(len(logits)):
            w = widths[b] if widths else logits.shape[2]
            top, bottom = logits[b, 0, :w].mean().item(), logits[b, 1, :w].mean().item()
            if top + bottom < 0.05:
                out.append(("", 0.0))
            else:
                out.append(("word", float(np.clip(0.5 + (top - bottom), 0.0, 1.0))))
        return out


def draw_word(img: np.ndarray, x: int, y: int, w: int, h: int) -> None:
    """A synthetic word: a full dark bar on its top half, a thin stroke below."""
    img[y:y + h // 2, x:x + w] = 0
    img[y + h // 2:y + h, x:x + max(2, w // 8)] = 0


def page_with_words(boxes, size=(300, 400)) -> np.ndarray:
    """White RGB page (H, W) with a synthetic word in each (x, y, w, h) box."""
    img = np.full((*size, 3), 255, np.uint8)
    for box in boxes:
        draw_word(img, *box)
    return img


def tiny_crnn():
    """A tiny randomly initialised real CRNN, or None when the model code is not importable."""
    try:
        from ocr.registry import create_model

        torch.manual_seed(0)
        return create_model("crnn_mobilenet", hidden=16, num_layers=1).eval()
    except Exception:  # model families still being written
        return None


def test_fakes_find_words():
    from ocr.api import Reader

    img = page_with_words([(20, 20, 80, 20), (110, 20, 60, 20)])
    page = Reader(det=FakeDetector(), rec=FakeRecognizer(), device="cpu", det_size=320).read(img)
    assert page.text == "word word"
    assert page.lines[0].score > 0.6


def test_a_cpu_only_torch_build_is_told_without_importing_torch(tmp_path, monkeypatch):
    from types import SimpleNamespace

    import ocr.devices as devices

    folder = tmp_path / "torch"
    folder.mkdir()
    monkeypatch.setattr(devices, "find_spec", lambda name: SimpleNamespace(submodule_search_locations=[str(folder)]))
    for cuda, hip, has_gpu_build in (("None", "None", False), ("'12.4'", "None", True), ("None", "'6.2'", True)):
        (folder / "version.py").write_text(f"__version__ = '2.13.0'\ncuda: Optional[str] = {cuda}\nhip: Optional[str] = {hip}\n")
        assert devices.torch_has_cuda_build() is has_gpu_build
    (folder / "version.py").write_text("__version__ = '2.13.0'\n")  # a layout we do not know: ask PyTorch
    assert devices.torch_has_cuda_build() is True


def test_device_auto_is_cpu_without_torch_when_no_gpu_driver_is_there(tmp_path, monkeypatch):
    import sys

    import ocr.devices as devices

    monkeypatch.setattr(devices, "torch_has_cuda_build", lambda: True)  # a CUDA build of PyTorch...
    monkeypatch.setattr(devices, "GPU_DEVICE_FILES", (str(tmp_path / "nvidia0"),))  # ...on a machine without a GPU
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.delitem(sys.modules, "torch", raising=False)  # not loaded (restored after the test)
    assert devices._cuda_available() is False and "torch" not in sys.modules
    (tmp_path / "nvidia0").touch()
    assert devices.gpu_device_files() is True
