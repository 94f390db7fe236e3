"""The append-only prediction store (crash-safe, resumable, rank-independent)."""

from savbench.store._store import PredictionStore, ReadReport, StoreKey, iter_store_files, read_predictions

__all__ = ["PredictionStore", "ReadReport", "StoreKey", "iter_store_files", "read_predictions"]
