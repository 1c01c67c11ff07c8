"""
======================================
MNIST → USPS: transfer a digit network
======================================

The worked example everybody knows: a LeNet learnt on MNIST digits, reused for USPS
digits, of which only 10 per class are labelled. We compare training from scratch on
those 100 images with the source network as it is, fine-tuned, and fine-tuned with its
convolutional blocks frozen, and look at what was transferred.

This runs at a small size (3,000 MNIST images, 2 epochs of pretraining) so that the
documentation builds in minutes; ``examples/mnist_to_usps.py`` and
``benchmarks/results/mnist_usps.md`` have the full-size run (96.7 % with fine-tuning).
"""

# %%
# The data
# --------
# MNIST's images are 28×28, USPS's 16×16. ``ImageMapping`` resizes USPS digits into
# MNIST's layout (a 20×20 box centred by mass), so that one network reads both.
import matplotlib.pyplot as plt
import numpy as np

from sktransfer import ImageMapping, TransferClassifier, load_mnist, load_usps
from sktransfer.models import LeNet
from sktransfer.plotting import TransferReportDisplay

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
print(f"source: {len(X_mnist)} MNIST images; target: {len(y)} labelled USPS images")

# %%
# The source network
# ------------------
# Any fitted estimator, ``torch.nn.Module``, state dict or path to one can be a
# source. Raise ``max_epochs`` to 10 and use all 10,000 rows for the full result.
source = TransferClassifier(LeNet, max_epochs=2, batch_size=128, random_state=0)
source.fit(X_mnist[:3000], y_mnist[:3000])

# %%
# Four ways to get a USPS model
# -----------------------------
# ``max_epochs=0`` keeps the source as it is. ``freeze_depth=2`` freezes the first two
# blocks (the convolutions, with their batch-norm statistics) and trains the rest.
common = dict(module=LeNet, max_epochs=30, batch_size=32, random_state=0)
models = {
    "scratch": TransferClassifier(lr=1e-3, **common),  # lr 1e-4 from a source
    "source only": TransferClassifier(source=source, **{**common, "max_epochs": 0}),
    "fine-tune all": TransferClassifier(source=source, lr=1e-4, **common),
    "convs frozen": TransferClassifier(
        source=source, freeze_depth=2, lr=1e-4, **common
    ),
}
accuracy = {}
for name, model in models.items():
    accuracy[name] = 100 * model.fit(X, y).score(X_test, y_test)
    print(f"{name:<14} {accuracy[name]:5.1f} % on the 2007 USPS test images")

# %%
# The results, and what was transferred
# -------------------------------------
# The transfer report says, block by block, which weights came from the source and
# which were trained.
fig, (ax_bar, ax_report) = plt.subplots(1, 2, figsize=(11, 3.8))
ax_bar.barh(list(accuracy), list(accuracy.values()), color="tab:blue")
ax_bar.set_xlabel("USPS test accuracy (%)")
ax_bar.set_xlim(min(accuracy.values()) - 5, 100)
ax_bar.invert_yaxis()
TransferReportDisplay.from_estimator(models["convs frozen"], ax=ax_report)
ax_report.set_title("convs frozen")
fig.tight_layout()
