"""Charsets and tokenizers."""
from ocr.text.charset import BUILTIN, Charset, load_charset
from ocr.text.tokenizer import CTCTokenizer, SeqTokenizer

__all__ = ["BUILTIN", "Charset", "load_charset", "CTCTokenizer", "SeqTokenizer"]
