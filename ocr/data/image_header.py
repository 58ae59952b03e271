"""Declared image size read from the file header alone, before any decoder sees the pixels.

``declared_size(data)`` parses the headers of PNG, JPEG, GIF, BMP, WebP, TIFF and PNM itself
(a few bytes each, no library), so that the size limit holds whichever library decodes the file
and whatever the rest of the file contains (a broken chunk, a bad checksum, junk). Other formats
(e.g. JPEG 2000) are left to Pillow's header parser. ``None``: the size cannot be told.
"""
from __future__ import annotations

import io
import struct

_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def declared_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) the header declares, or None when the header is unknown or broken."""
    for sniff, parse in _PARSERS:
        if sniff(data):
            try:
                return parse(data)
            except (struct.error, IndexError, ValueError):
                return None
    return _pil_size(data)


def might_have_alpha(data: bytes) -> bool:
    """Whether the image may carry transparency (then it is decoded with its alpha channel):
    PNG with an alpha colour type or a tRNS chunk, WebP flagged with alpha, and any TIFF, GIF or
    BMP; JPEG and PNM never."""
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return len(data) > 25 and data[25] in (4, 6) or _png_has_trns(data)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        kind = data[12:16]
        return kind == b"VP8X" and len(data) > 20 and bool(data[20] & 0x10) or kind == b"VP8L"
    return not (data[:2] == b"\xff\xd8" or data[:1] == b"P")


def is_png(data: bytes) -> bool:
    return data[:8] == b"\x89PNG\r\n\x1a\n"


def png_chunks_fit(d: bytes) -> bool:
    """Whether every chunk of a PNG lies inside the file (some decoders allocate whatever
    length a chunk declares, up to 2 GB, before finding that the file is shorter)."""
    i = 8
    while i + 12 <= len(d):
        (n,) = struct.unpack(">I", d[i:i + 4])
        if i + 12 + n > len(d):
            return False
        if d[i + 4:i + 8] == b"IEND":
            return True
        i += 12 + n
    return False


def _png_has_trns(d: bytes) -> bool:
    i = 8
    while i + 8 <= len(d):
        (n,) = struct.unpack(">I", d[i:i + 4])
        kind = d[i + 4:i + 8]
        if kind == b"tRNS":
            return True
        if kind in (b"IDAT", b"IEND"):
            return False
        i += 12 + n
    return False


def _png(d: bytes):
    if d[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", d[16:24])


def _jpeg(d: bytes):
    i = 2
    while i + 9 < len(d):
        if d[i] != 0xFF:
            return None
        marker = d[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # markers without a length
            i += 2
            continue
        if marker in _JPEG_SOF:
            h, w = struct.unpack(">HH", d[i + 5:i + 9])
            return w, h
        if marker == 0xDA:  # start of scan before any frame header
            return None
        i += 2 + struct.unpack(">H", d[i + 2:i + 4])[0]
    return None


def _gif(d: bytes):
    return struct.unpack("<HH", d[6:10])


def _bmp(d: bytes):
    (dib,) = struct.unpack("<I", d[14:18])
    if dib == 12:
        return struct.unpack("<HH", d[18:22])
    w, h = struct.unpack("<ii", d[18:26])
    return abs(w), abs(h)


def _webp(d: bytes):
    kind = d[12:16]
    if kind == b"VP8X":
        w = int.from_bytes(d[24:27], "little") + 1
        h = int.from_bytes(d[27:30], "little") + 1
        return w, h
    if kind == b"VP8L" and d[20] == 0x2F:
        bits = int.from_bytes(d[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if kind == b"VP8 " and d[23:26] == b"\x9d\x01\x2a":
        w, h = struct.unpack("<HH", d[26:30])
        return w & 0x3FFF, h & 0x3FFF
    return None


def _tiff(d: bytes):
    """Largest width and height over the first IFDs (pages are decoded one at a time)."""
    end = "<" if d[:2] == b"II" else ">"
    (offset,) = struct.unpack(end + "I", d[4:8])
    best_w = best_h = 0
    for _ in range(64):  # pages probed; a loop of IFDs ends here
        if offset == 0 or offset + 2 > len(d):
            break
        (n,) = struct.unpack(end + "H", d[offset:offset + 2])
        size = {}
        for k in range(n):
            e = offset + 2 + 12 * k
            tag, typ = struct.unpack(end + "HH", d[e:e + 4])
            if tag in (256, 257):
                fmt = end + ("H" if typ == 3 else "I")
                size[tag] = struct.unpack(fmt, d[e + 8:e + 8 + struct.calcsize(fmt)])[0]
        if 256 not in size or 257 not in size:
            return None
        best_w, best_h = max(best_w, size[256]), max(best_h, size[257])
        (offset,) = struct.unpack(end + "I", d[offset + 2 + 12 * n:offset + 6 + 12 * n])
    return (best_w, best_h) if best_w else None


def _pnm(d: bytes):
    tokens, i = [], 2
    while len(tokens) < 2 and i < min(len(d), 4096):
        c = d[i:i + 1]
        if c == b"#":
            while i < len(d) and d[i:i + 1] not in (b"\n", b"\r"):
                i += 1
        elif c.isspace():
            i += 1
        else:
            j = i
            while j < len(d) and d[j:j + 1].isdigit():
                j += 1
            if j == i:
                return None
            tokens.append(int(d[i:j]))
            i = j
    return tuple(tokens) if len(tokens) == 2 else None


def _pil_size(data: bytes):
    """Pillow's header parser (it reads no pixels); its own bomb check counts as 'too large'."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as im:
            return im.size
    except Image.DecompressionBombError:
        return (1 << 31, 1)
    except Exception:
        return None


_PARSERS = [
    (lambda d: d[:8] == b"\x89PNG\r\n\x1a\n", _png),
    (lambda d: d[:2] == b"\xff\xd8", _jpeg),
    (lambda d: d[:6] in (b"GIF87a", b"GIF89a"), _gif),
    (lambda d: d[:2] == b"BM", _bmp),
    (lambda d: d[:4] == b"RIFF" and d[8:12] == b"WEBP", _webp),
    (lambda d: d[:4] in (b"II*\x00", b"MM\x00*"), _tiff),
    (lambda d: len(d) > 2 and d[:1] == b"P" and d[1:2] in b"123456", _pnm),
]
