"""
==========================================
Choosing how to transfer, without the grid
==========================================

A grid search trains every candidate on every fold.
:class:`~sktransfer.TransferSelector` scores every candidate first, without
training (LogME of the representation its new head learns from, in a fraction of a
second), trains only the best few, and keeps the most accurate on held-out labelled
rows. Its ``report_`` says what each candidate
scored and what decided.

Small size (3,000 MNIST images, 2 epochs of pretraining) so that the documentation
builds in minutes; ``benchmarks/results/selection_labels.md`` compares the selector
with the full grid (accuracy and time).
"""

# %%
# Source and target
# -----------------
import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sktransfer import (
    FeatureTransferTransformer,
    ImageMapping,
    TransferClassifier,
    TransferSelector,
    load_mnist,
    load_usps,
)
from sktransfer.models import LeNet

X_mnist, y_mnist = load_mnist(return_X_y=True)
X_usps, y_usps = load_usps(subset="train", return_X_y=True)
X_test, y_test = load_usps(subset="test", return_X_y=True)
to_mnist = ImageMapping(size=(28, 28), method="resize_pad", box=20, center="mass")
X_usps, X_test = to_mnist.fit_transform(X_usps), to_mnist.transform(X_test)
rng = np.random.RandomState(0)
few = np.concatenate(
    [rng.choice(np.flatnonzero(y_usps == c), 10, replace=False) for c in range(10)]
)
X, y = X_usps[few], y_usps[few]

source = TransferClassifier(LeNet, max_epochs=2, batch_size=128, random_state=0)
source.fit(X_mnist[:3000], y_mnist[:3000])

# %%
# The candidates
# --------------
# Fine-tuning with four freeze depths, and the features of three layers with a
# logistic regression: seven ways to transfer the same source.
tune = dict(source=source, lr=1e-4, max_epochs=30, batch_size=32, random_state=0)
candidates = [
    (f"fine-tune, freeze_depth={k}", TransferClassifier(freeze_depth=k, **tune))
    for k in range(4)
] + [
    (
        f"features of {layer} + LR",
        make_pipeline(
            FeatureTransferTransformer(source, layer=layer, pooling=pooling),
            StandardScaler(),
            LogisticRegression(C=0.1, max_iter=2000),
        ),
    )
    for layer, pooling in (("conv1", "max"), ("conv2", "max"), ("fc1", None))
]

# %%
# Rank, train the top two, keep the best
# --------------------------------------
# Every freeze depth of one source gets the same LogME (the new head reads the same
# penultimate features); the tie goes to the one with the fewest trainable parameters.
start = time.perf_counter()
selector = TransferSelector(candidates, top_k=2, random_state=0).fit(X, y)
print(f"chose {selector.best_name_!r} in {time.perf_counter() - start:.1f} s")
print(selector.decided_by_)
print(f"USPS test accuracy: {100 * selector.score(X_test, y_test):.1f} %")
report = selector.report_
print(report[["candidate", "transferability", "trained", "validation_accuracy"]])

# %%
# The report as a picture
# -----------------------
fig, ax = plt.subplots(figsize=(7, 3.5))
colors = [
    "tab:green" if s else ("tab:orange" if t else "tab:gray")
    for s, t in zip(report["selected"], report["trained"], strict=True)
]
ax.barh(report["candidate"], report["transferability"], color=colors)
ax.invert_yaxis()
ax.set_xlabel("LogME (before training)")
ax.set_title("green: selected, orange: trained, grey: scored only")
fig.tight_layout()
