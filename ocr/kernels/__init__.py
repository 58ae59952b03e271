"""Triton kernels (one op per module): ``ctc_loss`` and ``attention``.

Each module holds its jitted kernel(s), a host wrapper and a ``torch.autograd.Function``.
Only this package and :mod:`ocr.ops` import triton; everything else goes through
:mod:`ocr.ops`, which picks these kernels or the PyTorch reference.  Importing this package
does not import triton; the submodules do.

Triton decides at *decoration* time whether a kernel is compiled for the GPU or run by its
CPU interpreter (``TRITON_INTERPRET=1`` before triton is imported).  :func:`launch` hides
that: on CPU tensors it runs any compiled-mode kernel through the interpreter, so tests can
exercise the real kernels on CPU whatever the environment was when triton was imported.
"""
from __future__ import annotations

import contextlib
import threading
import types

__all__ = ["launch", "is_interpreted", "can_interpret", "compile_for_gpu"]

_LOCK = threading.RLock()
_INTERPRETED_CACHE: dict = {}


def is_interpreted(kernel) -> bool:
    """True when ``kernel`` was decorated in interpreter mode (TRITON_INTERPRET=1)."""
    return type(kernel).__name__ == "InterpretedFunction"


def can_interpret() -> bool:
    """Whether this triton can run our kernels on CPU tensors (its interpreter hooks exist)."""
    try:
        from triton.runtime.interpreter import InterpretedFunction, _patch_lang  # noqa: F401
        from triton.runtime.jit import JITFunction  # noqa: F401
    except Exception:
        return False
    return True


def _interpreted(fn):
    """A cached interpreter wrapper of the plain Python function behind a ``@triton.jit``."""
    from triton.runtime.interpreter import InterpretedFunction

    if fn not in _INTERPRETED_CACHE:
        _INTERPRETED_CACHE[fn] = InterpretedFunction(fn)
    return _INTERPRETED_CACHE[fn]


def _noop():
    """Body for the function whose globals tell triton's interpreter what to patch."""


@contextlib.contextmanager
def _jit_calls_interpreted():
    """While active, calling any compiled-mode ``@triton.jit`` function (our helpers and
    triton's own ``tl.sum``/``tl.max``...) from interpreted code runs it interpreted."""
    import triton.language as tl
    from triton.runtime.interpreter import _patch_lang
    from triton.runtime.jit import JITFunction

    # patch triton.language *and* triton.language.core (used by tl.sum & co) once per launch
    scope = _patch_lang(types.FunctionType(_noop.__code__, {"tl": tl, "core": tl.core}))
    original = JITFunction.__call__

    def _call(self, *args, **kwargs):
        return _interpreted(self.fn).rewrite()(*args, **kwargs)

    JITFunction.__call__ = _call
    try:
        yield
    finally:
        JITFunction.__call__ = original
        scope.restore()


def launch(kernel, grid, *args, interpret: bool = False, **kwargs) -> None:
    """``kernel[grid](*args, **kwargs)``; with ``interpret=True`` (CPU tensors) it runs in
    the Triton interpreter even if the kernel was decorated for compilation."""
    if not interpret or is_interpreted(kernel):
        kernel[grid](*args, **kwargs)
        return
    with _LOCK, _jit_calls_interpreted():
        _interpreted(kernel.fn)[grid](*args, **kwargs)


_SIG_DTYPES = {"float16": "fp16", "bfloat16": "bf16", "float32": "fp32", "float64": "fp64",
               "int8": "i8", "uint8": "u8", "int16": "i16", "int32": "i32", "int64": "i64",
               "bool": "i1"}


def _arg_type(value) -> str:
    """Triton signature type of one runtime argument."""
    if hasattr(value, "data_ptr"):
        return "*" + _SIG_DTYPES[str(value.dtype).replace("torch.", "")]
    if isinstance(value, bool):
        return "i1"
    if isinstance(value, int):
        return "i32" if -2**31 <= value < 2**31 else "i64"
    return "fp32"


def compile_for_gpu(kernel, args, kwargs, arch: int = 90):
    """Compile one launch (``launch``'s arguments) for an NVIDIA GPU of compute capability
    ``arch`` without needing a GPU; returns the compiled kernel (``.asm``, ``.metadata``).

    Used by tests on CPU machines to catch constructs the interpreter accepts but the
    compiler rejects. Integer/pointer arguments get the same divisible-by-16 hints as JIT.
    """
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource, compile as triton_compile

    kwargs = dict(kwargs)
    kwargs.pop("interpret", None)
    options = {k: kwargs.pop(k) for k in ("num_warps", "num_stages") if k in kwargs}
    values = dict(zip(kernel.arg_names, args), **kwargs)
    constexpr = {p.name for p in kernel.params if p.is_constexpr}
    signature, constants, attrs = {}, {}, {}
    for i, name in enumerate(kernel.arg_names):
        value = values[name]
        if name in constexpr:
            signature[name], constants[name] = "constexpr", value
            continue
        signature[name] = _arg_type(value)
        aligned = hasattr(value, "data_ptr") or (
            isinstance(value, int) and not isinstance(value, bool) and value and value % 16 == 0)
        if aligned:
            attrs[(i,)] = [["tt.divisibility", 16]]
    src = ASTSource(fn=kernel, signature=signature, constexprs=constants, attrs=attrs)
    return triton_compile(src, target=GPUTarget("cuda", arch, 32), options=options)
