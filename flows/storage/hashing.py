"""Stable content hashes of data frames: the input hashes of a run and cache keys of its stages."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

import numpy as np
import pandas as pd

__all__ = ["hash_frame", "hash_frames", "hash_mapping"]


def hash_frame(frame: pd.DataFrame) -> str:
    """SHA-256 (hex) of a frame's columns, dtypes and rows.

    Row order, column order and the index do not count: the same export written in another
    order is the same input. Values, column names and dtypes do count.
    """
    order = sorted(range(frame.shape[1]), key=lambda i: str(frame.columns[i]))
    ordered = frame.iloc[:, order]
    schema = [[str(column), str(dtype)] for column, dtype in ordered.dtypes.items()]
    digest = hashlib.sha256(json.dumps(schema).encode())
    if len(ordered.columns) and len(ordered):
        row_hashes = pd.util.hash_pandas_object(ordered, index=False).to_numpy()
        # Sorting the 64-bit row hashes makes the digest independent of row order while still
        # telling apart frames whose rows differ in count or content.
        digest.update(np.sort(row_hashes).tobytes())
    digest.update(str(len(ordered)).encode())
    return digest.hexdigest()


def hash_frames(frames: Mapping[str, pd.DataFrame]) -> dict[str, str]:
    """``{name: hash_frame(frame)}`` of every frame, e.g. the tables of a dataset."""
    return {name: hash_frame(frame) for name, frame in frames.items()}


def hash_mapping(values: Mapping[str, str]) -> str:
    """SHA-256 (hex) of a mapping of strings, independent of its insertion order."""
    return hashlib.sha256(json.dumps(dict(values), sort_keys=True).encode()).hexdigest()
