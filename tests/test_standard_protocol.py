"""The standard digit benchmark's protocol rules (benchmarks/standard.py):
schedules converted by a fixed rule, and no evaluation label within reach of
a fit."""

import dataclasses
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository
from benchmarks import standard  # noqa: E402


def test_schedules_keep_the_development_number_of_steps():
    steps = 469  # ceil(60000 / 128)
    assert [standard.standard_epochs(e, steps) for e in (5, 10, 20, 40)] == [1, 2, 4, 7]
    assert standard.standard_epochs(5, standard.DEV_STEPS) == 5


def _task(n=40, seed=0):
    rng = np.random.RandomState(seed)
    y = np.arange(n) % 10
    X = rng.rand(n, 1, 28, 28).astype(np.float32)
    return standard.Task("MNIST -> USPS", X, y, X + 0.1, X[:8], y[::-1].copy())


def test_a_task_holds_no_evaluation_label():
    fields = {f.name for f in dataclasses.fields(standard.Task)}
    assert fields == {"name", "X_source", "y_source", "X_target", "X_eval", "_y_target"}
    # What a fit receives carries the evaluation images, never their labels.
    assert not any("eval" in name and name.startswith("y") for name in fields)


@pytest.mark.parametrize("k", [1, 2])
def test_few_labels_reveals_k_rows_per_class(k):
    task = _task()
    y = task.few_labels(k, seed=0)
    labelled = y != -1
    assert np.bincount(y[labelled], minlength=10).tolist() == [k] * 10
    np.testing.assert_array_equal(y[labelled], task._y_target[labelled])
    # Another seed draws other rows; the stored labels are not touched.
    assert not np.array_equal(task.few_labels(k, seed=1), y)
    np.testing.assert_array_equal(task._y_target, np.arange(40)[::-1] % 10)


def test_fit_rows_returns_predictions_not_scores():
    task = _task()
    fitted, timing = standard.fit_rows(
        task, seed=0, rows={"shot", "selector"}, quick=True
    )
    names = [f.method for f in fitted]
    assert names[0] == "source only" and "SHOT, source-free" in names
    assert any(n.startswith("label-free pick") for n in names)
    for row in fitted:
        assert row.predicted.shape == (len(task.X_eval),)
    pick = fitted[-1]
    assert "picked" in pick.note
    grader = standard.Grader(np.zeros(8, dtype=int), None)
    assert 0.0 <= grader.accuracy(pick.predicted) <= 100.0


def _part(folder, name, seeds, values, note="", frozen=None):
    import json

    rows = [{"setting": "T", "method": "m", "values": values, "unit": "% acc",
             "note": note}]  # fmt: skip
    data = {"description": f"Standard digit protocol ({len(seeds)} seed(s); x",
            "frozen": json.loads(json.dumps(frozen or standard.FROZEN)),
            "seeds": seeds, "rows": rows, "machine": {}, "seconds": 1.0,
            "seconds_per_epoch": {}, "complete": False}  # fmt: skip
    (folder / f"{name}.json").write_text(json.dumps(data))


def test_merge_joins_seeds_and_refuses_mixed_parts(tmp_path, monkeypatch):
    from benchmarks import _harness

    monkeypatch.setattr(_harness, "RESULTS", tmp_path)
    monkeypatch.setattr(standard.Table, "save", lambda self, extra=None: None)
    _part(tmp_path, "a", [0], [97.0], note="picked 'SHOT'")
    _part(tmp_path, "b", [1, 2], [98.0, 99.0], note="picked 'IM'")
    table = standard.merge(("a", "b"), "ab")
    row = table.rows["T", "m"]
    assert row.values == [97.0, 98.0, 99.0] and table.extra["seeds"] == [0, 1, 2]
    assert "seeds [0]: picked 'SHOT'; seeds [1, 2]: picked 'IM'" == row.note
    _part(tmp_path, "c", [1], [98.0])
    with pytest.raises(ValueError, match="share a seed"):
        standard.merge(("b", "c"), "bc")
    _part(tmp_path, "d", [3], [98.0], frozen={**standard.FROZEN, "lr": 1.0})
    with pytest.raises(ValueError, match="other settings"):
        standard.merge(("a", "d"), "ad")
    _part(tmp_path, "e", [4, 5], [98.0])  # one value for two seeds
    with pytest.raises(ValueError, match="lacks a row"):
        standard.merge(("a", "e"), "ae")
