"""Reading official LION checkpoint containers (docs/checkpoints.md sections 1.1 and 2.1).

  load_container(path) -> dict   a pickled .pt/.pth/.bin (restricted unpickler) or a
                                 .safetensors file
Pickles are read with an unpickler that builds tensors, plain containers and
argparse.Namespace, and turns every other class (Composer, torchmetrics,
optimizers, ...) into an inert `UnknownObject` that keeps its state, so no code
from the checkpoint runs and no training library must be installed.
"""

from __future__ import annotations

import argparse
import collections
import os
import pickle
import types

import torch

_ALLOWED = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("collections", "defaultdict"): collections.defaultdict,
    ("argparse", "Namespace"): argparse.Namespace,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("builtins", "slice"): slice,
    ("builtins", "complex"): complex,
    ("builtins", "bytearray"): bytearray,
}


class UnknownObject:
    """Stand-in for a class the checkpoint names but we do not trust or have."""

    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs

    def __setstate__(self, state):
        self.state = state
        if isinstance(state, dict):
            self.__dict__.update({k: v for k, v in state.items() if isinstance(k, str)})

    def __call__(self, *args, **kwargs):       # used as a reduce function
        return UnknownObject(*args, **kwargs)


def _unknown_class(module, name):
    return type(name, (UnknownObject,), {"__module__": f"unknown:{module}"})


def _reconstructor(cls, base, state):
    if isinstance(cls, type) and issubclass(cls, UnknownObject):
        return cls()
    return base.__new__(cls) if base is object else base.__new__(cls, state)


def _is_safe_torch(module, name):
    if module == "torch._utils":
        return name.startswith("_rebuild")
    if module == "torch":
        return name.endswith("Storage") or name == "Size" or isinstance(
            getattr(torch, name, None), (torch.dtype, type(torch.device("cpu"))))
    return (module, name) in {("torch.storage", "UntypedStorage"),
                              ("torch.storage", "TypedStorage"),
                              ("torch._tensor", "_rebuild_from_type_v2"),
                              ("torch.nn.parameter", "Parameter")}


def _is_safe_numpy(module, name):
    return (module in ("numpy.core.multiarray", "numpy._core.multiarray")
            and name in ("_reconstruct", "scalar")) or \
        (module == "numpy" and name in ("ndarray", "dtype")) or module == "numpy.dtypes"


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) == ("copyreg", "_reconstructor"):
            return _reconstructor
        if (module, name) in _ALLOWED:
            return _ALLOWED[(module, name)]
        if _is_safe_torch(module, name) or _is_safe_numpy(module, name):
            return super().find_class(module, name)
        return _unknown_class(module, name)


restricted_pickle = types.SimpleNamespace(Unpickler=_RestrictedUnpickler,
                                          load=pickle.load, __name__="restricted_pickle")


def load_container(path):
    """The top-level object of a checkpoint file (tensors on the CPU)."""
    path = os.fspath(path)
    if path.endswith(".safetensors"):
        from safetensors.torch import load_file

        return load_file(path)
    return torch.load(path, map_location="cpu", pickle_module=restricted_pickle,
                      weights_only=False)


def is_tensor_dict(obj) -> bool:
    return isinstance(obj, dict) and bool(obj) and all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items())
