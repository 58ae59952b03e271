"""Character sets: the alphabet a recognizer reads.

Built-ins: ``lower36`` (0-9a-z), ``ascii94`` (printable ASCII without space), ``ascii95``
(printable ASCII with space, for text lines), ``ascii96`` (ascii95 and newline, for whole pages). Any other script comes from a UTF-8 file with one
character per line (``file:PATH``), e.g. Latin accents or CJK.
"""
from __future__ import annotations

import string
import unicodedata
from dataclasses import dataclass, field, replace
from pathlib import Path

LOWER36 = string.digits + string.ascii_lowercase
ASCII94 = string.digits + string.ascii_letters + string.punctuation
ASCII95 = ASCII94 + " "
ASCII96 = ASCII95 + "\n"  # whole pages: lines separated by newlines

BUILTIN = {"lower36": LOWER36, "ascii94": ASCII94, "ascii95": ASCII95, "ascii96": ASCII96}


@dataclass(frozen=True)
class Charset:
    """An ordered set of characters. ``name`` tells where it came from (for checkpoints)."""

    name: str
    chars: str
    _set: frozenset = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        if not self.chars:
            raise ValueError(f"charset {self.name!r} is empty")
        dup = {c for c in self.chars if self.chars.count(c) > 1}
        if dup:
            raise ValueError(f"charset {self.name!r} repeats characters: {''.join(sorted(dup))!r}")
        object.__setattr__(self, "_set", frozenset(self.chars))

    def __len__(self) -> int:
        return len(self.chars)

    def __contains__(self, ch: str) -> bool:
        return ch in self._set

    @property
    def case_sensitive(self) -> bool:
        return any(c.isupper() for c in self.chars)

    def normalize(self, text: str) -> str:
        """Map text into this charset's conventions: NFC, lowercase if the charset has no
        capitals, and spaces collapsed (within each line, when the charset holds newlines).
        Characters outside the charset are kept (callers count them)."""
        text = unicodedata.normalize("NFC", text)
        if not self.case_sensitive:
            text = text.lower()
        if " " not in self._set:
            return text
        if "\n" in self._set:
            return "\n".join(" ".join(line.split()) for line in text.split("\n") if line.strip())
        return " ".join(text.split())

    def unknown(self, text: str) -> list[str]:
        """Characters of ``text`` (after ``normalize``) that the charset lacks, in order."""
        s = self._set
        return [c for c in self.normalize(text) if c not in s]


def load_charset(spec: str) -> Charset:
    """``lower36`` | ``ascii94`` | ``ascii95`` | ``file:PATH`` (one character per line; a line
    holding only a space stands for the space) | a literal string prefixed with ``chars:``."""
    if spec in BUILTIN:
        return Charset(spec, BUILTIN[spec])
    if spec.startswith("chars:"):
        return Charset(spec, spec[len("chars:"):])
    if spec.startswith("file:"):
        path = Path(spec[len("file:"):])
        try:
            lines = path.read_text(encoding="utf-8").split("\n")
        except OSError as e:
            raise ValueError(f"charset file {path}: cannot read ({e.strerror})") from None
        chars = "".join(dict.fromkeys(line.rstrip("\r") for line in lines if line.rstrip("\r")))
        bad = [line for line in lines if len(line.rstrip("\r")) > 1]
        if bad:
            raise ValueError(f"charset file {path}: expected one character per line, got {bad[0]!r}")
        return Charset(f"file:{path}", chars)
    raise ValueError(f"unknown charset {spec!r}; use one of {', '.join(BUILTIN)} or file:PATH or chars:ABC")


def self_contained(spec: str) -> tuple[Charset, str]:
    """The charset of ``spec`` and a spec that rebuilds it with no outside file (built-in names and
    ``chars:`` specs as they are, anything else as ``chars:...``), so checkpoints carry their charset."""
    charset = load_charset(spec)
    return charset, spec if spec in BUILTIN or spec.startswith("chars:") else "chars:" + charset.chars


def with_own_charset(config):
    """``config`` (a model config dataclass with a ``charset`` spec) made to carry its charset, as
    checkpoints must (``self_contained``), and that charset."""
    charset, spec = self_contained(config.charset)
    return replace(config, charset=spec), charset
