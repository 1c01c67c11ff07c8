"""
=================================================
Fine-tuning, freezing, or features + linear model
=================================================

Three ways to reuse a source network's parameters, against the number of target labels
per class: fine-tune every layer, freeze the convolutional blocks and train the rest, or
take a layer's output as fixed features for a logistic regression. Training from scratch
is the baseline they must beat. A :class:`~sktransfer.plotting.TransferCurveDisplay`
draws one line per strategy.

Small size (3,000 MNIST images, 2 epochs of pretraining, one draw of the labelled rows)
so that the documentation builds in minutes; ``benchmarks/results/mnist_usps.md`` has
the full-size curve over 3 seeds.
"""

# %%
# Source and target
# -----------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sktransfer import (
    FeatureTransferTransformer,
    ImageMapping,
    TransferClassifier,
    load_mnist,
    load_usps,
)
from sktransfer.models import LeNet
from sktransfer.plotting import TransferCurveDisplay

X_mnist, y_mnist = load_mnist(return_X_y=True)
X_usps, y_usps = load_usps(subset="train", return_X_y=True)
X_test, y_test = load_usps(subset="test", return_X_y=True)
to_mnist = ImageMapping(size=(28, 28), method="resize_pad", box=20, center="mass")
X_usps, X_test = to_mnist.fit_transform(X_usps), to_mnist.transform(X_test)

source = TransferClassifier(LeNet, max_epochs=2, batch_size=128, random_state=0)
source.fit(X_mnist[:3000], y_mnist[:3000])

# %%
# The strategies
# --------------
# ``classes`` is given because one label per class means a fit may see each class once;
# the features pipeline reads the penultimate block (``fc1``, 128 values per image).
common = dict(
    module=LeNet, classes=np.arange(10), max_epochs=20, batch_size=32, random_state=0
)
strategies = {
    "scratch": TransferClassifier(lr=1e-3, **common),
    "fine-tune all": TransferClassifier(source=source, lr=1e-4, **common),
    "convs frozen": TransferClassifier(
        source=source, freeze_depth=2, lr=1e-4, **common
    ),
    "features + logistic regression": make_pipeline(
        FeatureTransferTransformer(source, layer="fc1"),
        StandardScaler(),
        LogisticRegression(C=0.1, max_iter=2000),
    ),
}

# %%
# The transfer curve
# ------------------
# For each number of labels per class, the same rows are drawn for every strategy,
# each strategy is fitted (a clone) and scored on the USPS test images.
fig, ax = plt.subplots(figsize=(6, 4))
display = TransferCurveDisplay.from_estimators(
    strategies,
    X_usps,
    y_usps,
    X_test,
    y_test,
    labels_per_class=(1, 3, 10),
    random_state=0,
    ax=ax,
)
ax.set_title("MNIST → USPS")
for name, scores in display.results.items():
    print(
        f"{name:<32}", {k: round(100 * float(np.mean(v)), 1) for k, v in scores.items()}
    )

# %%
# With a handful of labels, fine-tuning from the source is far ahead of training from
# scratch, and the gap closes as labels accumulate. Fixed features with a linear model
# need more labels than fine-tuning: the last layers still have to adapt to USPS.
# Fine-tuning all layers and freezing the convolutions are close; the frozen network
# trains fewer parameters, which is cheaper (its frozen part is computed once).
