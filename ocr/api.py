"""The Python API: ``Reader`` (detect + recognize + layout) and ``load_model``.

    from ocr.api import Reader
    reader = Reader()                      # shipped default models, loaded on first use
    page = reader.read("photo.jpg")        # path, numpy array, PIL image or encoded bytes
    print(page.text)
    for line in page.lines:
        print(line.text, line.score, line.polygon)
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from ocr.data.images import ImageError
from ocr.devices import resolve_device
from ocr.models.decoding import GREEDY, DecodeOptions, check_decode_options
from ocr.pipeline.defaults import CROP_MARGIN, DET_SIZE, MIN_SCORE
from ocr.pipeline.detect import check_size, detect_images
from ocr.pipeline.inputs import InputItem, load_image, load_item
from ocr.pipeline.layout import build_lines, order_regions
from ocr.pipeline.memory import release_memory
from ocr.pipeline.orientation import orient_pages, to_original, unrotate
from ocr.pipeline.recognize import REREAD_WIDTHS, read_crops, recognize_crops, turnable_on_page
from ocr.pipeline.rectify import crop_polygon, is_tall
from ocr.runtime import cached_standalone, resolve_backend, with_backend
from ocr.types import Line, Page, Word, _as_polygon
from ocr.weights import resolve_path


def load_model(spec: str, device: str = "cpu", backend: str = "torch", precision: str = "fp32"):
    """A model from a weight file path or a shipped model name (see ``ocr models``), as a PyTorch
    module, or set up for another ``backend``/``precision`` (``ocr.runtime``: e.g. "onnxruntime",
    "int8"; "auto" picks the fastest measured to read the same on the device)."""
    from ocr.runtime import load

    return load(spec, resolve_device(device), backend, precision)


@dataclass
class _Decoded:
    img: np.ndarray
    name: str


ENGINES = ("pipeline", "fullpage")


class Reader:
    """Reads text in images: detection -> rectified crops -> recognition -> lines in reading order.

    ``det`` / ``rec``: a shipped model name, a weight file path, or a model object (None = the
    shipped default, loaded on first use). ``det_size``: long side the detector sees (small images
    are enlarged at most 2x). ``orientation``: find pages turned by 90/180/270 degrees and read them
    upright. ``beam`` / ``lexicon``: recognition decoding (lexicon: a list of words or a file path).
    ``engine``: ``"pipeline"`` (detect, then recognize each word) or ``"fullpage"`` (the full-page
    model ``page`` reads each image as ``page_chunks`` horizontal chunks, by default as many as its
    height needs; no detector; each line's polygon is the strip of the chunk it was read from). ``crop_margin``: each word box (or curved band) is lengthened by this fraction of its height at
    both ends, along the text, before it is cut out. ``min_score``: words read with a lower
    confidence are left out of pages (``recognize`` returns every reading). ``straighten_crops``: ``recognize`` also reads
    a given crop cut out straight along the word the detector finds in it, when that word is tilted
    or curved (the most confident reading is kept). ``reread``: ``recognize`` reads a crop read with
    low confidence again stretched and squeezed (``recognize.REREAD_WIDTHS``). ``read`` does not:
    on pages it cost 1.4x to 1.8x the time and scored SROIE val word F1 0.567 against 0.577 without. ``backend`` / ``precision``: how the models
    the reader loads run (``ocr.runtime``; "auto": ONNX Runtime on CPU, int8 recognition, when
    installed; models given as objects are used as they are unless a backend is named).
    """

    def __init__(self, det=None, rec=None, device: str = "auto", batch_size: int = 32,
                 det_size: int = DET_SIZE, det_batch_size: int | None = None, orientation: bool = True,
                 beam: int = 0, lexicon=None, crop_margin: float = CROP_MARGIN, min_score: float = MIN_SCORE,
                 straighten_crops: bool = True, engine: str = "pipeline", page=None,
                 page_chunks: int | None = None, backend: str = "auto", precision: str = "auto",
                 reread: bool = True):
        if engine not in ENGINES:
            raise ValueError(f"unknown engine {engine!r}; valid: {', '.join(ENGINES)}")
        det_size = check_size(det_size)  # a number of pixels >= 32, or "auto"
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1 (got {batch_size})")
        if not isinstance(beam, int) or beam < 0:
            raise ValueError(f"beam must be a whole number >= 0 (0 = greedy), got {beam!r}")
        if not 0.0 <= crop_margin <= 1.0:
            raise ValueError(f"crop_margin must be within [0, 1], got {crop_margin}")
        if not 0.0 <= min_score <= 1.0:
            raise ValueError(f"min_score must be within [0, 1], got {min_score}")
        self.crop_margin, self.min_score = crop_margin, min_score
        self.straighten_crops = straighten_crops
        self.reread = REREAD_WIDTHS if reread else ()
        self.device = resolve_device(device)
        self.batch_size, self.det_size, self.orientation, self.engine = batch_size, det_size, orientation, engine
        self.det_batch_size = det_batch_size or (4 if self.device.startswith("cuda") else 1)
        self.options = DecodeOptions(beam=beam, lexicon=_load_lexicon(lexicon))
        for task in ("detection", "recognition"):
            resolve_backend(backend, precision, task, self.device)  # a combination that cannot run: now
        self.backend, self.precision = backend, precision
        self._det, self._rec, self._fullpage = self._prepared(det), self._prepared(rec), page
        self.page_chunks = page_chunks

    # --- models, loaded lazily ------------------------------------------------------------------
    @property
    def detector(self):
        """The detection model (loaded on first use)."""
        if self._det is None or isinstance(self._det, (str, os.PathLike)):
            self._det = self._load(self._det, "detection")
        return self._det

    @property
    def recognizer(self):
        """The recognition model (loaded on first use)."""
        if self._rec is None or isinstance(self._rec, (str, os.PathLike)):
            self._rec = self._load(self._rec, "recognition")
        return self._rec

    @property
    def page_model(self):
        """The full-page model of ``engine="fullpage"`` (loaded on first use)."""
        if self._fullpage is None or isinstance(self._fullpage, str):
            self._fullpage = self._load(self._fullpage, "fullpage")
        return self._fullpage

    def _prepared(self, model):
        """A model object set up for the backend the reader was asked for (``auto``: as it is)."""
        if model is None or isinstance(model, (str, os.PathLike)) or self.backend == "auto":
            return model
        return with_backend(model, self.backend, self.precision, device=self.device)

    def _load(self, spec, task: str):
        from ocr.weights import DEFAULTS

        spec = spec or DEFAULTS[task]
        fast = cached_standalone(resolve_path(str(spec)), task, self.backend, self.precision, self.device, str(spec))
        if fast is not None:  # its ONNX file is cached: no PyTorch model to load
            if task == "recognition":
                check_decode_options(fast, self.options)
            return fast
        model = load_model(str(spec), self.device)
        if getattr(model, "task", task) != task:
            raise ValueError(f"{spec}: is a {model.task} model, a {task} model is needed here")
        if task == "fullpage":
            return model
        if task == "recognition":
            check_decode_options(model, self.options)  # before any export: the error names the model
        return with_backend(model, self.backend, self.precision, weights=resolve_path(str(spec)), device=self.device)

    def check_decoding(self) -> None:
        """Raise ``UnsupportedOption`` naming the model when it cannot decode with ``beam`` /
        ``lexicon`` as asked (loads the model that reads)."""
        check_decode_options(self.page_model if self.engine == "fullpage" else self.recognizer, self.options)

    # --- public entry points --------------------------------------------------------------------
    def read(self, x, name: str | None = None) -> Page:
        """Read one image (path, numpy array, PIL image or encoded bytes; a PDF's or TIFF's first
        page, or ``file.pdf#page2``; see ``read_document`` for all pages) -> Page."""
        img, name = load_image(x, name)
        return self.read_images([_Decoded(img, name)])[0]

    def read_document(self, x, dpi: float = 300, name: str | None = None) -> list[Page]:
        """Every page of a PDF or TIFF (path or bytes; PDF pages rendered at ``dpi``), or the one
        page of an image -> Pages, named ``name#pageN`` when there are several."""
        from ocr.pipeline.inputs import document_items

        return self.read_batch(document_items(x, dpi, name))

    def read_batch(self, items, errors: str = "raise", chunk: int = 8) -> list[Page]:
        """Read many images (anything ``read`` takes, or ``InputItem``s), ``chunk`` at a time.

        ``errors="raise"`` stops at the first unreadable image; ``"return"`` gives that image a
        Page with ``.error`` set (and no lines) and goes on."""
        if errors not in ("raise", "return"):
            raise ValueError(f"errors must be 'raise' or 'return', got {errors!r}")
        pages: list[Page] = []
        for start in range(0, len(items), chunk):
            pages += self._read_chunk(items[start:start + chunk], errors)
        return pages

    def detect_batch(self, items, errors: str = "raise", chunk: int = 8) -> list[Page]:
        """``detect`` for many images; ``errors`` as in ``read_batch``."""
        if errors not in ("raise", "return"):
            raise ValueError(f"errors must be 'raise' or 'return', got {errors!r}")
        pages: list[Page] = []
        for start in range(0, len(items), chunk):
            pages += self._read_chunk(items[start:start + chunk], errors, detect_only=True)
        return pages

    def detect(self, x, name: str | None = None) -> Page:
        """Text regions only: a Page whose lines are the detected regions (empty text), in reading order."""
        img, name = load_image(x, name)
        return self.detect_images([_Decoded(img, name)])[0]

    def recognize(self, crops):
        """Text of cropped word/line images: a list of (text, confidence), or one pair for one crop."""
        single = not isinstance(crops, (list, tuple))
        imgs = [load_image(c)[0] for c in ([crops] if single else crops)]
        out = read_crops(self.recognizer, imgs, self.batch_size, self.device, self.options,
                         straighten_with=self.detector if self.straighten_crops else None, reread=self.reread)
        release_memory()
        return out[0] if single else out

    # --- batched internals ----------------------------------------------------------------------
    def _read_chunk(self, items, errors: str, detect_only: bool = False) -> list[Page]:
        decoded: list[_Decoded | Page] = []
        for x in items:
            try:
                if isinstance(x, InputItem):
                    decoded.append(_Decoded(load_item(x), x.name))
                else:
                    decoded.append(_Decoded(*load_image(x)))
            except ImageError as e:
                if errors == "raise":
                    raise
                name = x.name if isinstance(x, InputItem) else (str(x) if isinstance(x, str) else "<input>")
                decoded.append(Page(image=name, width=0, height=0, error=str(e)))
        good = [d for d in decoded if isinstance(d, _Decoded)]
        done = iter(self.detect_images(good) if detect_only else self.read_images(good))
        return [next(done) if isinstance(d, _Decoded) else d for d in decoded]

    def detect_images(self, images: list[_Decoded]) -> list[Page]:
        """Detection for decoded images -> Pages of unrecognised regions."""
        found = detect_images(self.detector, [d.img for d in images], self.det_size,
                              self.det_batch_size, self.device)
        pages = []
        for d, dets in zip(images, found):
            order = order_regions([r["polygon"] for r in dets])
            lines = [Line(words=[Word("", dets[i]["polygon"], dets[i]["score"], dets[i]["score"])],
                          polygon=dets[i]["polygon"], score=dets[i]["score"]) for i in order]
            pages.append(Page(image=d.name, width=d.img.shape[1], height=d.img.shape[0], lines=lines))
        return pages

    def read_images(self, images: list[_Decoded]) -> list[Page]:
        """The full pipeline on decoded images, with recognition batched across all of them."""
        if not images:
            return []
        if self.engine == "fullpage":
            return self._read_full_pages(images)
        rotations, found, page_crops, known = self._detect_upright([d.img for d in images])
        slots = [(k, i) for k, page in enumerate(page_crops) for i in range(len(page))]
        crops = [page_crops[k][i] for k, i in slots]
        turnable = [t for page in page_crops for t in turnable_on_page(page)]
        pick = [j for j, slot in enumerate(slots) if slot not in known]
        fresh = iter(read_crops(self.recognizer, [crops[j] for j in pick], self.batch_size, self.device,
                                self.options, [turnable[j] for j in pick]))
        readings = [known[slot] if slot in known else next(fresh) for slot in slots]
        words: list[list[Word]] = [[] for _ in images]
        flat = [det for dets in found for det in dets]
        for (k, _), det, (text, conf) in zip(slots, flat, readings):
            if text.strip() and conf >= self.min_score:
                words[k].append(Word(text.strip(), det["polygon"], conf, det["score"]))
        pages = [self._page(d, rot, ws) for d, rot, ws in zip(images, rotations, words)]
        release_memory()  # this chunk's buffers back to the system: RSS stays flat over long runs
        return pages

    def _detect_upright(self, imgs: list[np.ndarray]):
        """Detect; find turned pages and detect again on them turned upright. Returns the pages'
        turns, their regions and each region's crop (of the upright page), and the readings of the
        crops that the orientation check read as recognition would, keyed (page, region), so that
        recognition does not read them again."""
        found = detect_images(self.detector, imgs, self.det_size, self.det_batch_size, self.device)
        page_crops = [self._crops(img, dets) for img, dets in zip(imgs, found)]
        rotations, known = [0] * len(imgs), {}
        if self.orientation:
            read = lambda crops: recognize_crops(self.recognizer, crops, self.batch_size, self.device)  # noqa: E731
            polygons = [[d["polygon"] for d in dets] for dets in found]
            # quarter turns judged on the polygons as they are: with the reading margin, 2 of 60
            # turned receipts and forms were taken the wrong way (none without)
            standing = lambda k, i: crop_polygon(imgs[k], polygons[k][i])  # noqa: E731
            rotations, known = orient_pages(polygons, read, standing, lambda k, i: page_crops[k][i])
            # a crop recognition reads as it is, with the options the check read it with, is read once
            known = {(k, i): r for (k, i), r in known.items() if rotations[k] == 0 and self.options == GREEDY
                     and not is_tall(page_crops[k][i])}
        uprights = [unrotate(img, r) for img, r in zip(imgs, rotations)]
        turned = [k for k, r in enumerate(rotations) if r]
        if turned:
            again = detect_images(self.detector, [uprights[k] for k in turned], self.det_size,
                                  self.det_batch_size, self.device)
            for k, dets in zip(turned, again):
                found[k], page_crops[k] = dets, self._crops(uprights[k], dets)
        return rotations, found, page_crops, known

    def _crops(self, img: np.ndarray, dets: list[dict]) -> list[np.ndarray]:
        return [crop_polygon(img, det["polygon"], self.crop_margin) for det in dets]

    def _read_full_pages(self, images: list[_Decoded]) -> list[Page]:
        """``engine="fullpage"``: each image read by the page model in horizontal chunks, lines top
        to bottom, each line's polygon the strip of the chunk it was read from."""
        from ocr.pipeline.fullpage import read_pages

        found = read_pages(self.page_model, [d.img for d in images], self.batch_size, self.device, self.options,
                           self.page_chunks)
        pages = []
        for d, lines in zip(images, found):
            h, w = d.img.shape[:2]
            strips = [[[0, ln.top], [w, ln.top], [w, ln.bottom], [0, ln.bottom]] for ln in lines]
            pages.append(Page(image=d.name, width=w, height=h,
                              lines=[Line(words=[Word(ln.text, strip, ln.score)], polygon=strip, score=ln.score)
                                     for ln, strip in zip(lines, strips) if ln.text]))
        return pages

    @staticmethod
    def _page(d: _Decoded, rotation: int, words: list[Word]) -> Page:
        """Lines in reading order (judged upright), polygons mapped back to the image as given."""
        h, w = d.img.shape[:2]
        lines = build_lines(words)
        if rotation:
            for line in lines:
                line.polygon = _as_polygon(to_original(line.polygon, rotation, w, h))
                for word in line.words:
                    word.polygon = _as_polygon(to_original(word.polygon, rotation, w, h))
        return Page(image=d.name, width=w, height=h, lines=lines, rotation=rotation)


def _load_lexicon(lexicon) -> list[str] | None:
    """A list of words, a file with one word per line, or None."""
    if lexicon is None or isinstance(lexicon, (list, tuple)):
        return list(lexicon) if lexicon else None
    try:
        with open(lexicon, encoding="utf-8") as f:
            words = [w.strip() for w in f if w.strip()]
    except OSError as e:
        raise ValueError(f"lexicon {lexicon}: cannot read ({e.strerror})") from None
    if not words:
        raise ValueError(f"lexicon {lexicon}: no words in it")
    return words
