"""cache_frozen=<folder> checks what it reads and keeps to a byte budget
(issue 26)."""

from __future__ import annotations

import json
import os
import time
import warnings

import joblib
import numpy as np
import pytest

from sktransfer import TransferClassifier, prefix
from sktransfer.models import MLP
from sktransfer.prefix import cache_info, clear_cache


def _data(n=120, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 8)).astype(np.float32)
    return X, (X[:, 0] + X[:, 1] > 0).astype(int)


@pytest.fixture(scope="module")
def source():
    X, y = _data(seed=1)
    return TransferClassifier(MLP, max_epochs=2, random_state=0).fit(X, y)


def _fit(source, folder, X, y):
    return TransferClassifier(
        source=source, freeze_depth=1, max_epochs=2, random_state=0,
        cache_frozen=folder,
    ).fit(X, y)  # fmt: skip


def _entries(folder):
    return sorted(folder.glob("sktransfer-prefix-*.npy"))


@pytest.fixture
def cached(tmp_path, source):
    """One entry in the folder, written by a fit; the memory cache emptied."""
    X, y = _data()
    clear_cache()
    first = _fit(source, tmp_path, X, y)
    assert first.training_strategy_ == "frozen_prefix"
    (path,) = _entries(tmp_path)
    clear_cache()  # as in another process: only the folder holds the outputs
    return path, first.predict_proba(X), X, y


def _refit_warns(source, path, X, y, match):
    with pytest.warns(UserWarning, match=match) as record:
        refit = _fit(source, path.parent, X, y)
    assert any(str(path) in str(w.message) for w in record)
    assert cache_info().disk_hits == 0  # computed again, not read
    return refit


def test_entry_is_written_with_its_checksum_record(cached):
    path, _, _, _ = cached
    record = json.loads(path.with_suffix(".json").read_text())
    assert record["key"] == path.stem.removeprefix("sktransfer-prefix-")
    assert record["nbytes"] == path.stat().st_size
    assert len(record["sha256"]) == 64


def test_intact_entry_is_read(cached, source):
    path, proba, X, y = cached
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        second = _fit(source, joblib.Memory(path.parent, verbose=0), X, y)
    assert cache_info().disk_hits == 1
    np.testing.assert_array_equal(second.predict_proba(X), proba)


def test_entry_overwritten_with_other_values_of_the_same_shape_is_recomputed(
    cached, source
):
    path, proba, X, y = cached
    stored = np.load(path)
    np.save(path, np.full_like(stored, 3.0))  # same shape, same size, other model
    refit = _refit_warns(source, path, X, y, "do not match the sha256")
    np.testing.assert_array_equal(refit.predict_proba(X), proba)
    np.testing.assert_array_equal(np.load(path), stored)  # rewritten
    clear_cache()
    _fit(source, path.parent, X, y)
    assert cache_info().disk_hits == 1  # and used again


def test_truncated_entry_is_recomputed_naming_the_file(cached, source):
    path, proba, X, y = cached
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    refit = _refit_warns(source, path, X, y, "truncated or overwritten")
    np.testing.assert_array_equal(refit.predict_proba(X), proba)
    assert path.read_bytes() == raw


def test_entry_without_its_record_is_recomputed(cached, source):
    path, proba, X, y = cached
    path.with_suffix(".json").unlink()
    refit = _refit_warns(source, path, X, y, "has no checksum record")
    np.testing.assert_array_equal(refit.predict_proba(X), proba)
    assert path.with_suffix(".json").is_file()


def test_entry_whose_record_is_garbled_is_recomputed(cached, source):
    path, _, X, y = cached
    path.with_suffix(".json").write_text("{not json")
    _refit_warns(source, path, X, y, "checksum record is unreadable")


def _folder_bytes(folder):
    return sum(
        p.stat().st_size
        for p in folder.iterdir()
        if p.name.startswith("sktransfer-prefix-")
        and p.suffix in (".npy", ".json")
        and p.name != "sktransfer-prefix-limit.json"
    )


def test_folder_keeps_to_its_limit_evicting_the_least_recently_used(tmp_path, source):
    assert prefix.get_disk_cache_limit(tmp_path) == 4 << 30
    X, y = _data(seed=10)
    clear_cache()
    _fit(source, tmp_path, X, y)
    (one,) = _entries(tmp_path)
    entry = one.stat().st_size + one.with_suffix(".json").stat().st_size
    prefix.set_disk_cache_limit(str(tmp_path), 3 * entry)
    assert prefix.get_disk_cache_limit(joblib.Memory(tmp_path, verbose=0)) == 3 * entry
    datasets = [_data(seed=s) for s in range(10, 16)]
    for i, (X, y) in enumerate(datasets[1:], start=1):
        if i >= 2:  # read the first entry again: it is the most recently used
            clear_cache()
            os.utime(one, (time.time() - 100, time.time() - 100))
            _fit(source, tmp_path, *datasets[0])
            assert cache_info().disk_hits == 1
        clear_cache()
        _fit(source, tmp_path, X, y)
        assert _folder_bytes(tmp_path) <= 3 * entry
    assert len(_entries(tmp_path)) == 3
    assert one in _entries(tmp_path)  # kept: used before every write
    # No record without its data file is left behind.
    records = sorted(tmp_path.glob("sktransfer-prefix-*.json"))
    records.remove(tmp_path / "sktransfer-prefix-limit.json")
    assert [r.with_suffix(".npy") for r in records] == _entries(tmp_path)


def test_outputs_larger_than_the_limit_are_not_written(tmp_path, source):
    prefix.set_disk_cache_limit(tmp_path, 1000)
    X, y = _data()
    clear_cache()
    assert _fit(source, tmp_path, X, y).training_strategy_ == "frozen_prefix"
    assert _entries(tmp_path) == []
    assert cache_info().entries == 1  # still cached in memory


def test_lowering_the_limit_evicts_at_once(cached):
    path, _, _, _ = cached
    prefix.set_disk_cache_limit(path.parent, 0)
    assert _entries(path.parent) == []
    assert not path.with_suffix(".json").exists()


@pytest.mark.parametrize("nbytes", [-1, 1.5, True, "1 GiB"])
def test_disk_cache_limit_must_be_a_byte_count(tmp_path, nbytes):
    with pytest.raises(ValueError, match="nbytes must be an int >= 0"):
        prefix.set_disk_cache_limit(tmp_path, nbytes)


def test_disk_cache_limit_needs_an_existing_folder(tmp_path):
    with pytest.raises(ValueError, match="path of an existing folder"):
        prefix.set_disk_cache_limit(tmp_path / "missing", 10)


def test_garbled_limit_file_is_reported(tmp_path):
    (tmp_path / "sktransfer-prefix-limit.json").write_text("[1]")
    with pytest.raises(ValueError, match="sktransfer-prefix-limit.json"):
        prefix.get_disk_cache_limit(tmp_path)
