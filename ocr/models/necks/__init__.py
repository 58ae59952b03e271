"""Necks: modules that fuse multi-scale backbone features."""
from .fpn import FPN

__all__ = ["FPN"]
