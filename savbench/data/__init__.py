"""Samples and where they come from."""

from savbench.data._sample import MediaRef, Sample

__all__ = ["MediaRef", "Sample"]
