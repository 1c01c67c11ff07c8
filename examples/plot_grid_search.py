"""
==========================================================
Tuning how to transfer: the weight λ and the freeze depth
==========================================================

When the labelled source rows are at hand, ``fit`` can train on both domains at once:
``L = L_source + λ·L_target``. The weight λ (``target_weight``) and the freeze depth are
ordinary hyperparameters, so :class:`~sklearn.model_selection.GridSearchCV` tunes them;
every fold starts from the same pretrained source, which survives ``clone``.

Small size (1,000 MNIST rows carried by the source, 10 USPS labels per class, 3 epochs)
so that the documentation builds in minutes.
"""

# %%
# Source with data, target with few labels
# ----------------------------------------
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.model_selection import GridSearchCV, StratifiedKFold

from sktransfer import ImageMapping, Source, TransferClassifier, load_mnist, load_usps
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

pretrained = TransferClassifier(LeNet, max_epochs=2, batch_size=128, random_state=0)
pretrained.fit(X_mnist[:3000], y_mnist[:3000])
source = Source(weights=pretrained, X=X_mnist[3000:4000], y=y_mnist[3000:4000])

# %%
# The grid
# --------
# Six settings, two folds each. ``target_weight=0`` would ignore the target labels;
# large weights trust the 100 target images more than the 1,000 source images.
clf = TransferClassifier(source=source, max_epochs=3, lr=1e-4, batch_size=64,
                         random_state=0)  # fmt: skip
grid = {"target_weight": [0.3, 1.0, 3.0], "freeze_depth": [0, 2]}
search = GridSearchCV(clf, grid, cv=StratifiedKFold(2, shuffle=True, random_state=0))
search.fit(X_usps[few], y_usps[few])
print("best:", search.best_params_)
print(f"USPS test accuracy: {100 * search.score(X_test, y_test):.1f} %")

# %%
# The cross-validated accuracy of every setting
# ---------------------------------------------
results = pd.DataFrame(search.cv_results_)
table = results.pivot(
    index="param_freeze_depth", columns="param_target_weight", values="mean_test_score"
)
fig, ax = plt.subplots(figsize=(5, 3))
image = ax.imshow(100 * table.to_numpy(), cmap="viridis")
ax.set_xticks(range(table.shape[1]), [f"λ = {w:g}" for w in table.columns])
ax.set_yticks(range(table.shape[0]), [f"freeze_depth={d}" for d in table.index])
for (i, j), value in np.ndenumerate(100 * table.to_numpy()):
    ax.text(j, i, f"{value:.1f}", ha="center", va="center", color="white")
fig.colorbar(image, ax=ax, label="CV accuracy (%)")
fig.tight_layout()
