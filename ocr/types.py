"""Results of reading an image: a Page holds Lines (grouped into blocks), a Line holds Words.

Polygons are lists of ``[x, y]`` in the pixels of the image as given (before any internal
rotation or resizing). ``to_dict()`` gives the JSON shape written by ``ocr read --format json``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def _as_polygon(points) -> list[list[float]]:
    """Any (N, 2) sequence or array -> ``[[x, y], ...]`` of Python floats rounded to 0.1 px."""
    return np.round(np.asarray(points, dtype=np.float64).reshape(-1, 2), 1).tolist()


@dataclass
class Word:
    """One recognized (or, for ``detect``, only located) text instance."""

    text: str
    polygon: list
    score: float
    det_score: float | None = None

    def __post_init__(self):
        self.polygon = _as_polygon(self.polygon)
        self.score = float(self.score)

    def to_dict(self) -> dict:
        return {"text": self.text, "score": round(self.score, 4), "polygon": self.polygon}


@dataclass
class Line:
    """Words on one text line, left to right; ``text`` joins them with spaces. ``block``: the
    number of the text block (paragraph, column, table row) the line belongs to on its page."""

    words: list[Word]
    polygon: list
    score: float = field(default=-1.0)
    block: int = 0

    def __post_init__(self):
        self.polygon = _as_polygon(self.polygon)
        if self.score < 0:
            self.score = float(np.mean([w.score for w in self.words])) if self.words else 0.0

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words if w.text)

    def to_dict(self, words: bool = False, text: bool = True) -> dict:
        """``{"text", "score", "polygon"}``; ``words=True`` adds the words, ``text=False`` drops the text."""
        d = {"text": self.text} if text else {}
        d.update(score=round(self.score, 4), polygon=self.polygon)
        if words:
            d["words"] = [w.to_dict() for w in self.words]
        return d


@dataclass
class Page:
    """The result for one image: its name, size and lines in reading order.

    ``error`` is set (and ``lines`` empty) when the image could not be read and the caller
    asked for errors to be returned rather than raised. ``rotation`` is the clockwise page
    rotation in degrees that was undone before reading (0, 90, 180, 270).
    """

    image: str
    width: int
    height: int
    lines: list[Line] = field(default_factory=list)
    error: str | None = None
    rotation: int = 0

    @property
    def text(self) -> str:
        """The page text in reading order, one line per text line."""
        return "\n".join(line.text for line in self.lines if line.text)

    @property
    def words(self) -> list[Word]:
        return [w for line in self.lines for w in line.words]

    @property
    def blocks(self) -> list[list[Line]]:
        """The lines grouped into text blocks, in reading order."""
        blocks: list[list[Line]] = []
        for i, line in enumerate(self.lines):
            if i and line.block == self.lines[i - 1].block:
                blocks[-1].append(line)
            else:
                blocks.append([line])
        return blocks

    def to_hocr(self) -> str:
        """This page as an hOCR 1.2 document (see ``ocr.export``)."""
        from ocr.export import export

        return export(self, "hocr")

    def to_alto(self) -> str:
        """This page as an ALTO v4 document (see ``ocr.export``)."""
        from ocr.export import export

        return export(self, "alto")

    def to_pdf(self, image, dpi: float = 300) -> bytes:
        """A searchable PDF of ``image`` (the page's image, RGB uint8) with this page's words as an
        invisible text layer; ``dpi`` sets the page size."""
        from ocr.export import export

        return export(self, "pdf", images=[image], dpi=dpi)

    def to_dict(self, words: bool = False, text: bool = True) -> dict:
        """The JSON Lines object of DESIGN.md: ``{"image", "width", "height", "lines": [...]}``;
        a failed image gives ``{"image", "error"}``."""
        if self.error is not None:
            return {"image": self.image, "error": self.error}
        d = {"image": self.image, "width": self.width, "height": self.height}
        if self.rotation:
            d["rotation"] = self.rotation
        d["lines"] = [line.to_dict(words=words, text=text) for line in self.lines]
        return d
