"""Labelled datasets: generation, the on-disk cache and its keys."""

from __future__ import annotations

import numpy as np
import pytest

from mechopt.domains.datasets import cache_dir, make_dataset
from mechopt.domains.distributions import AssignmentProblem, MultiMindedCA


def test_cache_roundtrip_and_keys(tmp_path, monkeypatch):
    monkeypatch.setenv("MECHOPT_CACHE", str(tmp_path))
    assert cache_dir() == tmp_path
    d = MultiMindedCA(n_agents=3)
    first = make_dataset(d, "optimal", 10, seed=1)
    assert not first.from_cache and first.status.is_optimal
    assert first.cache_path is not None and first.cache_path.parent == tmp_path / "datasets"
    again = make_dataset(d, "optimal", 10, seed=1)
    assert again.from_cache and again.cache_path == first.cache_path
    np.testing.assert_array_equal(again.outcomes, first.outcomes)
    np.testing.assert_array_equal(again.profiles.bundles, first.profiles.bundles)
    np.testing.assert_array_equal(again.profiles.values, first.profiles.values)
    assert again.label_seconds == pytest.approx(first.label_seconds)
    # every setting is part of the key
    others = [
        make_dataset(d, "optimal", 10, seed=2),
        make_dataset(d, "greedy", 10, seed=1),
        make_dataset(MultiMindedCA(n_agents=3, gamma=0.5), "optimal", 10, seed=1),
        make_dataset(d, "optimal", 11, seed=1),
    ]
    assert not any(o.from_cache for o in others)
    assert len({o.cache_path for o in others} | {first.cache_path}) == 5


def test_assignment_dataset_and_explicit_directory(tmp_path):
    d = AssignmentProblem(3)
    a = make_dataset(d, "egalitarian", 4, seed=0, cache=tmp_path)
    b = make_dataset(d, "egalitarian", 4, seed=0, cache=tmp_path)
    assert b.from_cache and np.array_equal(a.outcomes, b.outcomes)
    assert len(a.take(slice(0, 2))) == 2


def test_corrupt_cache_file_is_regenerated(tmp_path):
    d = MultiMindedCA(n_agents=2)
    a = make_dataset(d, "greedy", 5, seed=0, cache=tmp_path)
    a.cache_path.write_bytes(b"not an npz file")
    with pytest.warns(UserWarning, match="unreadable cache file"):
        b = make_dataset(d, "greedy", 5, seed=0, cache=tmp_path)
    assert not b.from_cache and np.array_equal(a.outcomes, b.outcomes)
    assert make_dataset(d, "greedy", 5, seed=0, cache=tmp_path).from_cache


def test_altered_cache_entry_is_detected_and_regenerated(tmp_path):
    """A valid .npz whose outcomes were zeroed was used silently (VCG accuracy 100 % -> 60 %)."""
    import json

    d = MultiMindedCA(n_agents=3)
    a = make_dataset(d, "optimal", 12, seed=4, cache=tmp_path)
    assert a.outcomes.any()
    with np.load(a.cache_path) as npz:
        entry = {k: npz[k] for k in npz.files}
    meta = json.loads(str(entry["meta"]))
    entry["outcomes"] = np.zeros_like(entry["outcomes"])
    np.savez_compressed(a.cache_path, **entry)
    with pytest.warns(UserWarning, match="does not match its checksum"):
        b = make_dataset(d, "optimal", 12, seed=4, cache=tmp_path)
    assert not b.from_cache and np.array_equal(a.outcomes, b.outcomes)
    again = make_dataset(d, "optimal", 12, seed=4, cache=tmp_path)
    assert again.from_cache and np.array_equal(a.outcomes, again.outcomes)
    # an entry without a checksum (older mechopt) is regenerated too
    with np.load(a.cache_path) as npz:
        entry = {k: npz[k] for k in npz.files}
    entry["meta"] = np.array(json.dumps({k: v for k, v in meta.items() if k != "sha256"}, sort_keys=True))
    np.savez_compressed(a.cache_path, **entry)
    with pytest.warns(UserWarning, match="does not match its checksum"):
        assert not make_dataset(d, "optimal", 12, seed=4, cache=tmp_path).from_cache


def test_no_cache_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("MECHOPT_CACHE", str(tmp_path))
    data = make_dataset(MultiMindedCA(n_agents=2), "greedy", 5, seed=0, cache=False)
    assert data.cache_path is None and not any(tmp_path.iterdir())


def test_bad_dataset_requests(tmp_path):
    with pytest.raises(ValueError, match="not defined for domain 'mmca'"):
        make_dataset(MultiMindedCA(), "egalitarian", 5, seed=0, cache=tmp_path)
    with pytest.raises(ValueError, match="seed"):
        make_dataset(MultiMindedCA(), "greedy", 5, seed=-3, cache=tmp_path)
