"""The base of backend wrappers: a model whose forward pass runs elsewhere, with the rest of its
contract (config, tokenizer, ``postprocess``, ``decode_options``, names) taken from the model."""
from __future__ import annotations


class ModelProxy:
    backend = "torch"
    precision = "fp32"

    def __init__(self, model):
        self._model = model.eval()

    def __getattr__(self, name):
        if name.startswith("__") or name == "_model":
            raise AttributeError(name)
        return getattr(self._model, name)

    def __setattr__(self, name, value):
        if name == "source":  # the name the model was asked by, for error messages
            self._model.source = value
        object.__setattr__(self, name, value)

    def eval(self):
        return self

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)  # an instance attribute may wrap it (tools/profile_read.py)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._model.arch}, {self.backend}, {self.precision})"
