"""Random text for synthetic samples: dictionary words and realistic strings.

Words come from a system word list (``/usr/share/dict/words``, Debian package ``wamerican``) plus
a bundled list of very common English words (``ocr/assets/words/common.txt``) drawn more often, a
crude frequency bias. Other strings imitate what OCR meets in the wild: numbers, prices, dates,
times, codes, phone numbers, e-mails/URLs, punctuated words, and multi-word lines such as receipt
rows and form fields. Every output is printable ASCII with single spaces.
"""
from __future__ import annotations

import string
from functools import lru_cache
from pathlib import Path

import numpy as np

DICT_PATHS = ("/usr/share/dict/words", "/usr/share/dict/american-english")
COMMON_PATH = Path(__file__).resolve().parents[2] / "assets" / "words" / "common.txt"
PRINTABLE = set(string.printable[:95])
MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
TLDS = ["com", "org", "net", "io", "co.uk", "com.my", "edu", "gov", "de", "info"]
CURRENCY = ["$", "$", "$", "RM ", "RM", "USD ", "EUR ", "S$", "Rs. ", "GBP "]
PUNCT_AFTER = [".", ",", ":", ";", "!", "?", "...", ")", "'s", "%"]
WRAPS = [("(", ")"), ('"', '"'), ("'", "'"), ("[", "]"), ("<", ">"), ("*", "*"), ("-", "-")]
FIELDS = ["Name", "Date", "Time", "Tel", "Phone", "Fax", "Email", "Address", "Invoice No",
          "Receipt #", "Order No", "Ref", "Table", "Cashier", "Total", "Amount", "Account",
          "Customer", "Due Date", "Balance", "Page", "ID", "Code", "Qty", "Price"]


@lru_cache(maxsize=4)
def load_words(path: str | None = None) -> tuple[str, ...]:
    """Printable-ASCII words of a word list (one per line; possessives dropped). Raises a clear
    error if no list is installed."""
    paths = [path] if path else list(DICT_PATHS)
    for p in paths:
        if p and Path(p).is_file():
            lines = Path(p).read_text(encoding="utf-8", errors="ignore").split("\n")
            words = tuple(w for w in (x.strip() for x in lines)
                          if w and not w.endswith("'s") and set(w) <= PRINTABLE and " " not in w)
            if words:
                return words
    raise FileNotFoundError(f"no word list at {', '.join(paths)}: install the Debian package "
                            "'wamerican' (apt-get install wamerican) or pass --words PATH")


@lru_cache(maxsize=1)
def load_common() -> tuple[str, ...]:
    """The bundled list of very common words."""
    return tuple(COMMON_PATH.read_text(encoding="utf-8").split())


class TextSource:
    """Samples label strings. ``sample(rng)`` draws one; every generator is a method taking rng."""

    def __init__(self, words=None, common=None, max_len: int = 80):
        self.words = tuple(words) if words is not None else load_words()
        self.common = tuple(common) if common is not None else load_common()
        self.names = tuple(w for w in self.words if w[:1].isupper() and w[1:].islower()) or self.words
        self.max_len = max_len
        self.kinds = [  # (generator, weight)
            (self.word, 30), (self.punct_word, 8), (self.number, 6), (self.price, 5),
            (self.date, 3), (self.time, 2), (self.code, 4), (self.phone, 2), (self.email_url, 2),
            (self.random_chars, 3), (self.short_line, 20), (self.long_line, 12), (self.field, 3)]
        w = np.array([k[1] for k in self.kinds], float)
        self.kind_p = w / w.sum()

    def sample(self, rng: np.random.Generator) -> str:
        """One random label: printable ASCII, single spaces, no leading/trailing space."""
        gen = self.kinds[rng.choice(len(self.kinds), p=self.kind_p)][0]
        text = " ".join(gen(rng).split())
        if len(text) > self.max_len:
            text = text[: self.max_len].rsplit(" ", 1)[0] if " " in text[: self.max_len] else text[: self.max_len]
        return text or "0"

    # -- single tokens -------------------------------------------------------------------------
    def raw_word(self, rng) -> str:
        if rng.random() < 0.4:
            return self.common[int(rng.integers(len(self.common)))]
        return self.words[int(rng.integers(len(self.words)))]

    def word(self, rng, case_p=(0.5, 0.3, 0.2)) -> str:
        """A dictionary word in lower, Capitalized or UPPER case."""
        w = self.raw_word(rng)
        r = rng.random()
        if r < case_p[0]:
            return w if w[:1].isupper() else w.lower()
        if r < case_p[0] + case_p[1]:
            return w[:1].upper() + w[1:]
        return w.upper()

    def punct_word(self, rng) -> str:
        """A word with punctuation attached: ``end.``, ``(note)``, ``"quote"``."""
        w = self.word(rng)
        if rng.random() < 0.6:
            return w + PUNCT_AFTER[int(rng.integers(len(PUNCT_AFTER)))]
        a, b = WRAPS[int(rng.integers(len(WRAPS)))]
        return a + w + b

    def number(self, rng) -> str:
        """Integers, decimals, thousands separators, percentages, signs, ordinals."""
        k = rng.integers(6)
        n = int(10 ** rng.uniform(0, 7))
        if k == 0:
            return str(n)
        if k == 1:
            return f"{n:,}"
        if k == 2:
            return f"{rng.uniform(0, 100):.{int(rng.integers(1, 4))}f}"
        if k == 3:
            return f"{rng.uniform(0, 100):.{int(rng.integers(0, 2))}f}%"
        if k == 4:
            return f"{'-+'[int(rng.integers(2))]}{rng.uniform(0, 1000):.2f}"
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(n % 10 if n % 100 not in (11, 12, 13) else 0, "th")
        return f"{n % 1000}{suffix}"

    def price(self, rng) -> str:
        """Money amounts: ``$12.50``, ``1,299.00``, ``RM 8.90``."""
        v = 10 ** rng.uniform(-0.5, 4.5)
        s = f"{v:,.2f}" if rng.random() < 0.7 else f"{v:.2f}"
        r = rng.random()
        if r < 0.55:
            return CURRENCY[int(rng.integers(len(CURRENCY)))] + s
        if r < 0.65:
            return "-" + CURRENCY[0] + s
        return s

    def date(self, rng) -> str:
        """Dates in common numeric and written formats."""
        y, m, d = int(rng.integers(1970, 2031)), int(rng.integers(1, 13)), int(rng.integers(1, 29))
        fmts = [f"{d:02d}/{m:02d}/{y}", f"{y}-{m:02d}-{d:02d}", f"{m}/{d}/{y % 100:02d}",
                f"{d:02d}.{m:02d}.{y}", f"{d} {MONTHS[m - 1]} {y}", f"{MONTHS[m - 1]} {d}, {y}",
                f"{d:02d}-{MONTHS[m - 1].upper()}-{y}", f"{d:02d}/{m:02d}/{y % 100:02d}"]
        return fmts[int(rng.integers(len(fmts)))]

    def time(self, rng) -> str:
        """Clock times: ``09:30``, ``9:30 PM``, ``23:59:01``."""
        h, mi, s = int(rng.integers(24)), int(rng.integers(60)), int(rng.integers(60))
        fmts = [f"{h:02d}:{mi:02d}", f"{h % 12 or 12}:{mi:02d} {'AM' if h < 12 else 'PM'}",
                f"{h:02d}:{mi:02d}:{s:02d}", f"{h % 12 or 12}:{mi:02d}{'am' if h < 12 else 'pm'}"]
        return fmts[int(rng.integers(len(fmts)))]

    def _alnum(self, rng, n, chars=string.ascii_uppercase + string.digits) -> str:
        return "".join(chars[i] for i in rng.integers(len(chars), size=n))

    def code(self, rng) -> str:
        """Identifiers: ``AB-1234``, ``INV-2021-0042``, ``No. 123456``, ``#A12B``, ``SKU 004512``."""
        L, D = string.ascii_uppercase, string.digits
        k = rng.integers(7)
        if k == 0:
            return f"{self._alnum(rng, int(rng.integers(1, 4)), L)}-{self._alnum(rng, int(rng.integers(2, 7)), D)}"
        if k == 1:
            pre = ["INV", "ORD", "REF", "PO", "TXN", "CS", "SO"][int(rng.integers(7))]
            return f"{pre}{'-/'[int(rng.integers(2))]}{int(rng.integers(2000, 2031))}-{int(rng.integers(1, 99999)):05d}"
        if k == 2:
            return f"{['No.', 'No:', '#', 'Nr.'][int(rng.integers(4))]} {int(rng.integers(1, 10 ** 7))}"
        if k == 3:
            return "#" + self._alnum(rng, int(rng.integers(3, 9)))
        if k == 4:
            return f"{['SKU', 'ID', 'Ref', 'S/N'][int(rng.integers(4))]} {self._alnum(rng, int(rng.integers(4, 10)), D)}"
        if k == 5:
            return self._alnum(rng, int(rng.integers(4, 13)))
        return "-".join(self._alnum(rng, int(rng.integers(3, 5))) for _ in range(int(rng.integers(2, 5))))

    def phone(self, rng) -> str:
        """Phone numbers in several national styles."""
        d = lambda n: self._alnum(rng, n, string.digits)  # noqa: E731
        fmts = [f"({d(3)}) {d(3)}-{d(4)}", f"+1 {d(3)} {d(3)} {d(4)}", f"0{d(1)}-{d(4)} {d(4)}",
                f"01{d(1)}-{d(3)} {d(4)}", f"+60 {d(1)}-{d(4)} {d(4)}", f"{d(3)}-{d(3)}-{d(4)}",
                f"+44 {d(2)} {d(4)} {d(4)}", f"Tel: {d(3)}.{d(3)}.{d(4)}"]
        return fmts[int(rng.integers(len(fmts)))]

    def email_url(self, rng) -> str:
        """E-mail addresses and URLs built from words."""
        a = self.raw_word(rng).lower()
        b = self.raw_word(rng).lower()
        tld = TLDS[int(rng.integers(len(TLDS)))]
        fmts = [f"{a}.{b}@{self.raw_word(rng).lower()}.{tld}", f"{a}{int(rng.integers(100))}@gmail.com",
                f"www.{a}{b}.{tld}", f"https://{a}.{tld}/{b}", f"http://www.{a}.{tld}",
                f"{a}_{b}@{b}.{tld}", f"{a}.{tld}/{b}?id={int(rng.integers(1000))}"]
        return fmts[int(rng.integers(len(fmts)))]

    def random_chars(self, rng) -> str:
        """Mixed-case letters, digits and punctuation with no structure."""
        pools = [string.ascii_letters + string.digits, string.ascii_letters + string.digits + string.punctuation,
                 string.ascii_uppercase + string.digits]
        chars = pools[int(rng.integers(len(pools)))]
        return self._alnum(rng, int(rng.integers(1, 13)), chars)

    # -- lines ----------------------------------------------------------------------------------
    def token(self, rng) -> str:
        """One token of a line: mostly words, sometimes numbers, prices, codes..."""
        r = rng.random()
        if r < 0.68:
            return self.word(rng, case_p=(0.65, 0.25, 0.1))
        if r < 0.78:
            return self.punct_word(rng)
        gens = [self.number, self.price, self.date, self.time, self.code, self.phone]
        return gens[int(rng.integers(len(gens)))](rng)

    def _line(self, rng, n) -> str:
        toks = [self.token(rng) for _ in range(n)]
        if rng.random() < 0.3:  # consistent case across a line, as in headings and signs
            toks = [t.upper() for t in toks] if rng.random() < 0.5 else [t[:1].upper() + t[1:] for t in toks]
        return " ".join(toks)

    def short_line(self, rng) -> str:
        """Two or three tokens."""
        return self._line(rng, int(rng.integers(2, 4)))

    def long_line(self, rng) -> str:
        """4-12 tokens: sentences, receipt rows (item, qty, price) and form lines."""
        r = rng.random()
        if r < 0.35:
            return self.receipt_row(rng)
        if r < 0.5:
            return f"{self.field(rng)} {self._line(rng, int(rng.integers(1, 4)))}"
        return self._line(rng, int(rng.integers(4, 13)))

    def receipt_row(self, rng) -> str:
        """``2 x Chicken Rice 8.90`` style rows."""
        item = " ".join(self.word(rng, case_p=(0.3, 0.3, 0.4)) for _ in range(int(rng.integers(1, 4))))
        qty, unit = int(rng.integers(1, 13)), round(10 ** rng.uniform(-0.3, 2.5), 2)
        fmts = [f"{item} {qty} {unit:.2f} {qty * unit:.2f}", f"{qty} x {item} {qty * unit:.2f}",
                f"{item} {qty * unit:,.2f}", f"{qty} {item} @ {unit:.2f}",
                f"{self.code(rng)} {item} {qty * unit:.2f}"]
        return fmts[int(rng.integers(len(fmts)))]

    def field(self, rng) -> str:
        """A form field label like ``Invoice No:``, sometimes with its value."""
        f = FIELDS[int(rng.integers(len(FIELDS)))]
        f = f.upper() if rng.random() < 0.3 else f
        sep = [":", ":", " :", "", "."][int(rng.integers(5))]
        if rng.random() < 0.5:
            return f + sep
        vals = [self.date, self.time, self.phone, self.code, self.price, self.number]
        return f"{f}{sep} {vals[int(rng.integers(len(vals)))](rng)}"
