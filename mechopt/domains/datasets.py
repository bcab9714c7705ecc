"""Labelled instances — sampled type profiles with their outcomes under a rule — cached on disk.

:func:`make_dataset` samples ``size`` profiles of a domain with ``seed``
(:mod:`mechopt.domains.distributions`), labels them with an outcome rule
(:func:`mechopt.domains.rules.apply_rule`, MILPs through :class:`mechopt.parallel.Executor`
with a progress bar) and stores the result as ``.npz`` under the cache directory, keyed by
the domain settings, the rule, the size, the seed and the solver.  A repeated experiment
loads the file instead of re-solving thousands of MILPs.  Only fully proven-optimal labels
are cached.

Cache directory: the ``cache`` argument when it is a path, else ``$MECHOPT_CACHE``, else
``$XDG_CACHE_HOME/mechopt``, else ``~/.cache/mechopt``; datasets live in its ``datasets/``
folder, one file per key (``<domain>-<rule>-<size>-seed<seed>-<hash>.npz``).  Never inside
the repository.  Files are written atomically and carry a SHA-256 of their arrays and
settings (a readable file whose outcomes were altered — e.g. zeroed — would otherwise be
used silently and change every metric); a corrupt, altered or mismatching file is ignored
with a warning and regenerated.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mechopt.domains.distributions import AssignmentProfiles, XORProfiles
from mechopt.domains.rules import RULE_ALIASES, apply_rule
from mechopt.errors import InputError
from mechopt.io.atomic import atomic_write_bytes
from mechopt.parallel import Executor
from mechopt.solve import DEFAULT_SOLVER, SolveStatus

__all__ = ["LabelledDataset", "make_dataset", "cache_dir", "dataset_key", "CACHE_FORMAT"]

#: bump when the sampling or the labelling changes, so old cache files are not reused
CACHE_FORMAT = 1


@dataclass(frozen=True)
class LabelledDataset:
    """``profiles`` and the rule's ``outcomes`` ``(N, n)`` (encoding: see domains.py).

    ``status`` is the least favourable solver status of the labels (``OPTIMAL`` for every
    cached dataset); ``label_seconds`` the wall-clock seconds sampling + labelling took when
    the dataset was generated (also for one loaded from the cache); ``cache_path`` the file.
    """

    domain: Any
    rule: str
    seed: int
    profiles: XORProfiles | AssignmentProfiles
    outcomes: np.ndarray
    status: SolveStatus
    label_seconds: float
    from_cache: bool = False
    cache_path: Path | None = None

    def __len__(self) -> int:
        return self.profiles.n_instances

    def take(self, index: Any) -> LabelledDataset:
        """A sub-dataset (slice, integer array or boolean mask over instances)."""
        outcomes = self.outcomes[index]
        if outcomes.ndim == 1:
            outcomes = outcomes[None]
        return LabelledDataset(
            self.domain, self.rule, self.seed, self.profiles.take(index), outcomes, self.status,
            self.label_seconds, self.from_cache, self.cache_path,
        )


def cache_dir(override: str | os.PathLike | None = None) -> Path:
    """The cache directory (see the module docstring)."""
    if override is not None:
        return Path(override).expanduser()
    env = os.environ.get("MECHOPT_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "mechopt"


def dataset_key(domain: Any, rule: str, size: int, seed: int, solver: str) -> dict[str, Any]:
    """The settings a cached dataset is keyed by."""
    return {
        "format": CACHE_FORMAT,
        "domain": domain.settings(),
        "rule": rule,
        "size": int(size),
        "seed": int(seed),
        "solver": str(solver),
    }


def _key_hash(key: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]


def _cache_file(directory: Path, key: dict[str, Any]) -> Path:
    name = f"{key['domain']['domain']}-{key['rule']}-{key['size']}-seed{key['seed']}-{_key_hash(key)}.npz"
    return directory / "datasets" / name


def _entry_sha256(meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> str:
    """SHA-256 of a cache entry: its settings (without the checksum) and every array's name,
    dtype, shape and bytes."""
    h = hashlib.sha256(json.dumps({k: v for k, v in meta.items() if k != "sha256"}, sort_keys=True).encode())
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}:{a.dtype.str}:{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _save(path: Path, key: dict[str, Any], data: LabelledDataset) -> None:
    buffer = io.BytesIO()
    meta = dict(key, kind=data.profiles.kind, label_seconds=data.label_seconds)
    arrays = {f"profile_{k}": np.asarray(v) for k, v in data.profiles.arrays().items()}
    arrays["outcomes"] = np.asarray(data.outcomes)
    meta["sha256"] = _entry_sha256(meta, arrays)
    np.savez_compressed(buffer, meta=np.array(json.dumps(meta, sort_keys=True)), **arrays)  # type: ignore[arg-type]  # numpy's stubs match **arrays against allow_pickle
    atomic_write_bytes(path, buffer.getvalue())


def _load(path: Path, key: dict[str, Any], domain: Any) -> LabelledDataset | None:
    try:
        with np.load(path, allow_pickle=False) as npz:
            meta = json.loads(str(npz["meta"]))
            if {k: meta.get(k) for k in key} != key:
                warnings.warn(f"cache file {path} does not match its key; regenerating", stacklevel=3)
                return None
            stored = {k: npz[k] for k in npz.files if k != "meta"}
            if meta.get("sha256") != _entry_sha256(meta, stored):
                warnings.warn(f"cache file {path} does not match its checksum (altered or written by an "
                              "older mechopt); regenerating", stacklevel=3)
                return None
            arrays = {k[len("profile_"):]: v for k, v in stored.items() if k.startswith("profile_")}
            cls = AssignmentProfiles if meta["kind"] == AssignmentProfiles.kind else XORProfiles
            profiles = cls.from_arrays(arrays)
            outcomes = np.array(stored["outcomes"], dtype=np.int64)
    except Exception as exc:  # corrupt, truncated, foreign file: regenerate
        warnings.warn(f"ignoring unreadable cache file {path}: {exc}", stacklevel=3)
        return None
    if outcomes.shape != (profiles.n_instances, profiles.n_agents):
        warnings.warn(f"cache file {path} holds inconsistent shapes; regenerating", stacklevel=3)
        return None
    return LabelledDataset(
        domain, key["rule"], key["seed"], profiles, outcomes, SolveStatus.OPTIMAL,
        float(meta.get("label_seconds", 0.0)), True, path,
    )


def make_dataset(
    domain: Any,
    rule: str,
    size: int,
    seed: int,
    *,
    executor: Executor | None = None,
    solver: str = DEFAULT_SOLVER,
    time_limit: float | None = None,
    cache: bool | str | os.PathLike = True,
    progress: str | None = None,
) -> LabelledDataset:
    """Sample ``size`` instances of ``domain`` with ``seed`` and label them with ``rule``.

    ``cache``: True (default cache directory), a directory, or False (no cache).  Labels
    must be proven optimal (:class:`mechopt.solve.NotProvenOptimal` otherwise).
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"seed must be a non-negative integer, got {seed!r}")
    rule = RULE_ALIASES.get(rule, rule)
    if rule not in domain.rules:
        raise InputError(
            f"rule {rule!r} is not defined for domain {domain.name!r} (choose from {', '.join(domain.rules)})"
        )
    key = dataset_key(domain, rule, size, seed, solver)
    path = None
    if cache is not False:
        path = _cache_file(cache_dir(None if cache is True else cache), key)
        if path.exists():
            loaded = _load(path, key, domain)
            if loaded is not None:
                return loaded
    start = time.perf_counter()
    profiles = domain.sample(size, seed)
    labels = apply_rule(
        profiles, rule, executor=executor, solver=solver, time_limit=time_limit, progress=progress,
        require_optimal=True,
    )
    data = LabelledDataset(
        domain, rule, int(seed), profiles, labels.outcomes, labels.status, time.perf_counter() - start,
        False, path,
    )
    if path is not None:
        _save(path, key, data)
    return data
