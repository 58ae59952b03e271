"""Full-page reading without a detector: each page image, fitted into the model's input size, is
read by a ``FullPageModel`` (``ocr.models.contract``) into lines of text in reading order."""
from __future__ import annotations

import numpy as np
import torch

from ocr.data.page_dataset import fit_page
from ocr.models.contract import GREEDY, DecodeOptions, check_decode_options


@torch.inference_mode()
def read_pages(model, images: list[np.ndarray], batch_size: int = 4, device: str = "cpu",
               options: DecodeOptions = GREEDY) -> list[list[tuple[str, float]]]:
    """Per page, its lines as (text, confidence), top to bottom."""
    check_decode_options(model, options)
    c, out = model.config, []
    for start in range(0, len(images), batch_size):
        batch = torch.stack([fit_page(im, c.img_height, c.img_width)[0] for im in images[start:start + batch_size]])
        out += model.postprocess(model(batch.to(device)), options=options)
    return out
