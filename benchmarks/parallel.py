"""A grid search on a Dask cluster: bytes each task carries, and the speed-up.

``python -m benchmarks --only parallel``: MNIST(10k) -> USPS, LeNet.

- **Bytes per task.** What dask pickles for one task's estimator, measured in
  the client's event loop thread, where dask pickles the tasks it submits:
  for a fitted ``TransferClassifier`` as source and for
  ``Source(weights=..., X=3000 MNIST rows)``. "Before" is the source pickled in
  full, which is what every task carried before sources were shared.
- **Speed-up.** ``GridSearchCV`` over freeze depth x learning rate, 3 folds
  (12 fits, no refit), ``n_jobs=1`` in this process (at torch's default
  number of threads, and at one) against two Dask workers of one thread each
  (``LocalCluster``, ``joblib.parallel_backend("dask")``, the workers started
  without dask's ``MALLOC_TRIM_THRESHOLD_``, see ``_worker_environ``), on the
  same machine, one after the other. The cross-validated scores must equal
  those of ``n_jobs=1`` at one thread (more threads sum in another order).
"""

from __future__ import annotations

import os
import threading
import time

import cloudpickle
import dask
import joblib
import numpy as np
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from sktransfer import ImageMapping, Source, TransferClassifier, load_mnist, load_usps
from sktransfer.models import LeNet

from ._harness import Table
from .mnist_usps import CHOSEN, MAPPINGS

GRID = {"freeze_depth": [0, 2], "lr": [1e-3, 3e-4]}


def run(quick: bool = False, seeds: int = 3) -> Table:
    from distributed import Client, LocalCluster

    epochs = 1 if quick else 5
    n_target = 2000 if quick else None
    table = Table(
        "parallel",
        "GridSearchCV on a Dask LocalCluster vs n_jobs=1, same machine. Bytes: "
        "one task's estimator as dask pickles it (in the client's event loop), "
        "against the source pickled in full. Time: "
        f"{len(GRID['freeze_depth']) * len(GRID['lr']) * 3} fits (freeze_depth x "
        f"lr x 3 folds) of a LeNet pretrained on MNIST, {epochs} epoch(s) each on "
        f"USPS train ({n_target or 'all 7291'} rows), batch 64, no refit. "
        f"Machine: {os.cpu_count()} cores. Quick mode: {quick}.",
        quick=quick,
    )
    X_mnist, y_mnist = load_mnist(return_X_y=True)
    X_raw, y_usps = load_usps(subset="train", return_X_y=True)
    X_usps = ImageMapping(**MAPPINGS[CHOSEN]).fit_transform(X_raw)[:n_target]
    y_usps = y_usps[:n_target]
    print("pretraining the source on MNIST", flush=True)
    fitted = TransferClassifier(
        LeNet, max_epochs=1 if quick else 3, batch_size=128, random_state=0
    ).fit(X_mnist, y_mnist)
    estimators = {
        "fitted TransferClassifier": TransferClassifier(source=fitted, max_epochs=1),
        "Source(weights, X=3000 rows)": TransferClassifier(
            source=Source(weights=fitted, X=X_mnist[:3000], y=y_mnist[:3000]),
            max_epochs=1,
        ),
    }
    before = {
        "fitted TransferClassifier": len(cloudpickle.dumps(fitted)),
        "Source(weights, X=3000 rows)": len(cloudpickle.dumps(fitted))
        + len(cloudpickle.dumps((X_mnist[:3000], y_mnist[:3000]))),
    }

    search = GridSearchCV(
        TransferClassifier(
            source=fitted, max_epochs=epochs, batch_size=64, random_state=0
        ),
        GRID,
        cv=3,
        refit=False,
    )
    threads = torch.get_num_threads()
    serial, times = {}, {}
    # Threads change the order of floating-point sums, hence the results:
    # the Dask workers' scores must equal n_jobs=1's at their one thread.
    for n_threads in dict.fromkeys((threads, 1)):
        print(f"n_jobs=1, {n_threads} torch thread(s)", flush=True)
        torch.set_num_threads(n_threads)
        start = time.perf_counter()
        serial[n_threads] = clone(search).fit(X_usps, y_usps)
        times[n_threads] = time.perf_counter() - start
    torch.set_num_threads(threads)

    with (
        dask.config.set({"distributed.nanny.pre-spawn-environ": _worker_environ()}),
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True) as cluster,
        Client(cluster) as client,
    ):
        for name, estimator in estimators.items():
            with joblib.parallel_backend("dask"):
                task = clone(estimator)  # sends the source, once
            shipped = _pickled_in_loop(client, task)
            table.add("bytes per task", name, shipped, unit="bytes",
                      note=f"before: {before[name]} bytes")  # fmt: skip
            table.add("bytes per task", f"{name}: times fewer than before",
                      before[name] / shipped, unit="ratio")  # fmt: skip
        print("2 Dask workers, 1 thread each", flush=True)
        start = time.perf_counter()
        with joblib.parallel_backend("dask"):
            parallel = clone(search).set_params(n_jobs=-1).fit(X_usps, y_usps)
        t_dask = time.perf_counter() - start

    scores = parallel.cv_results_["mean_test_score"]
    same = np.array_equal(serial[1].cv_results_["mean_test_score"], scores)
    for n_threads, seconds in times.items():
        table.add("grid time", f"n_jobs=1, {n_threads} torch thread(s)", seconds,
                  unit="s")  # fmt: skip
    table.add("grid time", "Dask, 2 workers x 1 thread", t_dask, unit="s",
              note=f"cv scores equal to n_jobs=1's at 1 thread: {same}")  # fmt: skip
    for n_threads, seconds in times.items():
        table.add("grid time", f"speed-up over n_jobs=1 at {n_threads} thread(s)",
                  seconds / t_dask, unit="ratio")  # fmt: skip
    table.extra["mean_test_score"] = {
        **{f"n_jobs=1, {n} thread(s)": s.cv_results_["mean_test_score"].tolist()
           for n, s in serial.items()},
        "dask": scores.tolist(),
    }  # fmt: skip
    if not same:
        raise AssertionError("the Dask search's scores differ from n_jobs=1's")
    return table


def _worker_environ() -> dict:
    """Dask's worker environment without ``MALLOC_TRIM_THRESHOLD_``: its
    default (64 KiB) has glibc hand every freed activation buffer back to the
    system, which made a LeNet fit 1.7 times slower in a worker here."""
    environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ"))
    environ.pop("MALLOC_TRIM_THRESHOLD_", None)
    return environ


def _pickled_in_loop(client, estimator) -> int:
    """Bytes of ``estimator`` pickled in ``client``'s event loop thread, as
    dask pickles the tasks it submits."""
    done, out = threading.Event(), {}

    def measure() -> None:
        try:
            out["bytes"] = len(cloudpickle.dumps(estimator))
        except Exception as exc:  # re-raised in the caller's thread
            out["error"] = exc
        done.set()

    client.loop.add_callback(measure)
    done.wait()
    if "error" in out:
        raise out["error"]
    return out["bytes"]
