"""verbose="auto" (the default): progress lines for a fit that runs long, none
for a quick one; verbose=0 is silent."""

import time

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from skorch.callbacks import Callback

from sktransfer import Source, TransferClassifier, TransferRegressor
from sktransfer._training import progress

RNG = np.random.RandomState(0)
X = RNG.normal(size=(60, 4)).astype(np.float32)
Y = (X[:, 0] > 0).astype(int)


class Sleep(Callback):
    """Makes every training step slow enough to cross a lowered threshold."""

    def on_batch_end(self, net, training=None, **kwargs):
        if training:
            time.sleep(0.02)


@pytest.fixture
def lowered(monkeypatch):
    """The threshold at 0.2 s instead of 5 s, a line at every epoch end."""
    monkeypatch.setattr(progress, "AFTER_S", 0.2)
    monkeypatch.setattr(progress, "EVERY_S", 0.0)
    monkeypatch.setattr(progress, "BATCH_EVERY_S", 1e9)


def test_default_is_auto_and_survives_clone():
    clf = TransferClassifier()
    assert clf.verbose == "auto" and TransferRegressor().verbose == "auto"
    assert clone(clf).get_params()["verbose"] == "auto"
    assert clone(clf.set_params(verbose=0)).verbose == 0


def test_a_slow_default_fit_prints_epoch_lines(capsys, lowered):
    clf = TransferClassifier(
        max_epochs=4, batch_size=10, callbacks=[Sleep()], random_state=0
    ).fit(X, Y)
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if "[TransferClassifier] epoch" in line]
    assert lines and ", batch " not in out  # no epoch ran 1e9 s
    assert lines[-1].startswith("[TransferClassifier] epoch 4/4  train_loss ")
    assert "s/epoch  done in" in lines[-1]
    assert all("s/epoch" in line for line in lines)
    assert any("left" in line for line in lines[:-1])
    # skorch's own table stays off, and nothing of it reaches the history.
    assert "dur" not in out and "sktransfer_progress" in dict(clf.net_.callbacks_)


def test_a_long_epoch_prints_batch_lines(capsys, monkeypatch):
    monkeypatch.setattr(progress, "AFTER_S", 0.0)
    monkeypatch.setattr(progress, "EVERY_S", 0.0)
    monkeypatch.setattr(progress, "BATCH_EVERY_S", 0.0)
    source = TransferClassifier(max_epochs=1, random_state=0, verbose=0).fit(X, Y)
    TransferClassifier(
        source=Source(weights=source, X=X, y=Y), max_epochs=2, batch_size=20,
        random_state=0,
    ).fit(X, Y)  # fmt: skip
    out = capsys.readouterr().out
    assert "epoch 1/2, batch 1/3  train_loss " in out  # across domains: 3 steps
    assert "s/batch  ~" in out and "epoch 2/2  train_loss" in out


def test_verbose_0_prints_nothing(capsys, monkeypatch):
    monkeypatch.setattr(progress, "AFTER_S", 0.0)
    monkeypatch.setattr(progress, "EVERY_S", 0.0)
    monkeypatch.setattr(progress, "BATCH_EVERY_S", 0.0)
    TransferClassifier(max_epochs=2, random_state=0, verbose=0).fit(X, Y)
    TransferRegressor(max_epochs=2, random_state=0, verbose=False).fit(X, X[:, 0])
    assert capsys.readouterr().out == ""


def test_quick_default_fits_print_nothing(capsys):
    TransferClassifier(max_epochs=3, random_state=0).fit(X, Y)
    TransferRegressor(max_epochs=3, random_state=0).fit(X, X[:, 0])
    GridSearchCV(TransferClassifier(max_epochs=2), {"lr": [1e-3, 1e-2]}, cv=2).fit(X, Y)
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("value", ["loud", -1, 1.5, None])
def test_other_values_are_refused_in_fit(value):
    clf = TransferClassifier(max_epochs=1, verbose=value)  # stored as it is
    assert clf.verbose is value or clf.verbose == value
    with pytest.raises(ValueError, match="verbose"):
        clf.fit(X, Y)


def test_durations_read_well():
    assert progress._duration(4.4) == "4 s"
    assert progress._duration(125) == "2 min 05 s"
    assert progress._duration(3 * 3600 + 120) == "3 h 02 min"
