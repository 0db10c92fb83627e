"""Content keys of stage inputs, so a stage whose inputs did not change is not recomputed.

A key hashes what a stage computes from (tables, config, dates, earlier results) together with
the code version: the package version and the source of ``forecasting``, ``replenishment`` and
the flow's jobs. Cached results therefore never outlive the code that produced them, whatever
folder they are kept in.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import time
from collections.abc import Iterable, Mapping
from datetime import date
from functools import cache
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import BaseModel

import flows.pipeline.stages
import forecasting
import replenishment
from flows.storage.hashing import hash_frame

__all__ = ["code_version", "content_key", "fingerprint", "prune_stage_results"]

_KEY = re.compile(r"^(?P<stage>[a-z][a-z0-9_-]*)-[0-9a-f]{64}$")


@cache
def code_version() -> str:
    """The package version and a hash of the source the cached stages run."""
    try:
        version = metadata.version("replenish")
    except metadata.PackageNotFoundError:  # running from a source tree without install
        version = "unknown"
    digest = hashlib.sha256()
    roots = [Path(forecasting.__file__).parent, Path(replenishment.__file__).parent]
    sources = sorted(p for root in roots for p in root.rglob("*.py"))
    for path in [*sources, Path(flows.pipeline.stages.__file__)]:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return f"{version}+{digest.hexdigest()[:16]}"


def _ordered_hash(values: np.ndarray | pd.Index) -> str:
    if isinstance(values, pd.Index):
        data = pd.util.hash_pandas_object(values, index=False).to_numpy()
    else:
        data = np.ascontiguousarray(values)
    shape = str(getattr(values, "shape", len(values))).encode()
    return hashlib.sha256(shape + str(data.dtype).encode() + data.tobytes()).hexdigest()


def fingerprint(value: object) -> object:
    """A JSON-able stand-in for ``value`` that changes whenever its content does.

    Frames hash their rows (in any order), arrays and indexes their ordered bytes, pydantic
    models their JSON; dataclasses, mappings and sequences are walked. Anything else raises
    ``TypeError``, so a new kind of input cannot silently share a key.
    """
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, pd.DataFrame):
        return {"frame": hash_frame(value)}
    if isinstance(value, np.ndarray | pd.Index):
        return {"array": _ordered_hash(value)}
    if isinstance(value, date):  # also datetime and pandas.Timestamp
        return {"date": value.isoformat()}
    if isinstance(value, Path):
        return {"path": str(value)}
    if isinstance(value, BaseModel):
        return {type(value).__name__: value.model_dump(mode="json")}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {type(value).__name__: {f.name: fingerprint(getattr(value, f.name))
                                       for f in dataclasses.fields(value)}}
    if isinstance(value, Mapping):
        return {"mapping": [[str(k), fingerprint(v)] for k, v in sorted(
            value.items(), key=lambda item: str(item[0]))]}
    if isinstance(value, list | tuple):
        return [fingerprint(v) for v in value]
    raise TypeError(f"no content fingerprint for {type(value).__name__}")


def content_key(stage: str, inputs: Mapping[str, object]) -> str:
    """``stage-<sha256>`` of the stage's inputs and the code version."""
    payload = json.dumps({"code": code_version(), "inputs": fingerprint(dict(inputs))},
                         sort_keys=True, default=str)
    return f"{stage}-{hashlib.sha256(payload.encode()).hexdigest()}"


def prune_stage_results(folder: Path, stages: Iterable[str], max_age_s: float) -> list[Path]:
    """Delete cached results of ``stages`` in ``folder`` older than ``max_age_s`` seconds.

    Keys change whenever the sales do, so without pruning the cache grows by a run's worth
    of results every day. Only files named like :func:`content_key` keys of the given stages
    are touched; return the deleted paths.
    """
    wanted = set(stages)
    cutoff = time.time() - max_age_s
    deleted: list[Path] = []
    if not folder.is_dir():
        return deleted
    for path in folder.iterdir():
        match = _KEY.match(path.name)
        if match and match["stage"] in wanted and path.is_file() \
                and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            deleted.append(path)
    return deleted
