"""``verbose="auto"``: progress lines for a long fit, none for a quick one.

:class:`Progress` is a skorch callback. It stays silent for the first
:data:`AFTER_S` seconds of training, so that a quick fit (a doctest, an estimator
check, most grid-search fits) prints nothing; after that it prints one line at
the end of an epoch, at most one every :data:`EVERY_S` seconds (and the last
epoch's), and inside an epoch that runs long, a line every
:data:`BATCH_EVERY_S` seconds. A line gives the epoch, its mean training
loss, the time per epoch and an estimate of the time left::

    [LeNet fit] epoch 3/10  train_loss 0.4123  12.1 s/epoch  ~1 min 25 s left
    [LeNet fit] epoch 4/10, batch 40/79  train_loss 0.3870 so far  0.31 s/batch
    ~2 min 37 s left

(the second one line; the label is the estimator's class name).
"""

from __future__ import annotations

import math
import time

from skorch.callbacks import Callback

#: Seconds of training before the first line (a quicker fit prints none).
AFTER_S = 5.0
#: Seconds between two epoch lines (the last epoch's line always comes).
EVERY_S = 5.0
#: Seconds between two lines inside one epoch that runs long.
BATCH_EVERY_S = 30.0


class Progress(Callback):
    """Concise progress lines for a fit longer than :data:`AFTER_S` seconds."""

    def __init__(self, label: str) -> None:
        self.label = label

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        # The limits are read here, so that a test can lower the module's values.
        self.after_, self.every_, self.batch_every_ = AFTER_S, EVERY_S, BATCH_EVERY_S
        self.start_ = time.monotonic()
        self.last_line_ = self.start_  # when the last line was printed
        self.printed_ = False
        self.epoch_start_ = self.start_
        self.epochs_ = 0  # epochs ended in this fit
        self.batches_ = None  # batches per epoch, once one epoch has ended
        self.batches_guess_ = None

    def on_epoch_begin(self, net, dataset_train=None, **kwargs):
        self.epoch_start_ = time.monotonic()
        self.batch_ = 0
        self.loss_sum_, self.loss_rows_ = 0.0, 0
        if self.batches_ is None:
            self.batches_guess_ = _batches_per_epoch(net, dataset_train)

    def on_batch_end(self, net, batch=None, training=None, **kwargs):
        if not training:
            return
        self.batch_ += 1
        record = net.history[-1]["batches"][-1] if len(net.history) else {}
        loss, rows = record.get("train_loss"), record.get("train_batch_size", 1)
        if isinstance(loss, float) and math.isfinite(loss):
            self.loss_sum_ += loss * rows
            self.loss_rows_ += rows
        now = time.monotonic()
        total = self.batches_ or self.batches_guess_
        if self.batch_ == total or not self._due(now, self.batch_every_):
            return  # the epoch's own line comes next
        epoch = self.epochs_ + 1
        per_batch = (now - self.epoch_start_) / self.batch_
        where = f"batch {self.batch_}" + (f"/{total}" if total else "")
        loss_text = (
            f"  train_loss {self.loss_sum_ / self.loss_rows_:.4f} so far"
            if self.loss_rows_
            else ""
        )
        left = ""
        if total:
            rest = max(total - self.batch_, 0) + total * max(net.max_epochs - epoch, 0)
            left = f"  ~{_duration(rest * per_batch)} left"
        self._print(
            f"epoch {epoch}/{net.max_epochs}, {where}{loss_text}  "
            f"{per_batch:.2f} s/batch{left}",
            now,
        )

    def on_epoch_end(self, net, **kwargs):
        now = time.monotonic()
        self.epochs_ += 1
        self.batches_ = self.batch_ or self.batches_
        epoch, last = self.epochs_, self.epochs_ >= net.max_epochs
        if not (self._due(now, self.every_) or (last and self.printed_)):
            return
        per_epoch = (now - self.start_) / self.epochs_
        row = net.history[-1]
        scores = "".join(
            f"  {key} {row[key]:.4f}"
            for key in ("train_loss", "valid_loss", "valid_acc")
            if isinstance(row.get(key), float)
        )
        tail = (
            f"  done in {_duration(now - self.start_)}"
            if last
            else f"  ~{_duration(per_epoch * (net.max_epochs - epoch))} left"
        )
        self._print(
            f"epoch {epoch}/{net.max_epochs}{scores}  {per_epoch:.1f} s/epoch{tail}",
            now,
        )

    def _due(self, now: float, every: float) -> bool:
        return now - self.start_ >= self.after_ and now - self.last_line_ >= every

    def _print(self, line: str, now: float) -> None:
        print(f"[{self.label}] {line}", flush=True)
        self.last_line_, self.printed_ = now, True


def _batches_per_epoch(net, dataset) -> int | None:
    """Training steps per epoch, before the first epoch has counted them:
    the domain nets' own count, else the rows over the batch size."""
    domain = getattr(net, "domain", None)
    steps = getattr(domain, "total_steps", None)
    if steps and net.max_epochs:
        return max(steps // net.max_epochs, 1)
    try:
        rows = len(dataset)
    except TypeError:
        return None
    size = getattr(net, "iterator_train__batch_size", None) or net.batch_size
    return math.ceil(rows / size) if isinstance(size, int) and size > 0 else None


def _duration(seconds: float) -> str:
    """``"42 s"``, ``"3 min 05 s"``, ``"1 h 02 min"``."""
    seconds = max(int(round(seconds)), 0)
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"
