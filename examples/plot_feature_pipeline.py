"""
A pretrained network's layer as features in a Pipeline
======================================================

The cheapest way to reuse a trained network is not to train it at all: run the
new data through it and hand the activations of one of its layers to an
ordinary scikit-learn model. :class:`~sktransfer.FeatureTransferTransformer`
does that as a transformer, so the network becomes one step of a
:class:`~sklearn.pipeline.Pipeline` and the layer it reads from is a
hyperparameter like any other.

This example pretrains a LeNet on MNIST digits, then classifies USPS digits
from only 10 labelled images per class with a logistic regression on the
network's features. It shows the features as a named DataFrame, and compares
the layers: early layers hold generic strokes and edges, late layers features
close to MNIST's classes.
"""

# %%
# The data
# --------
# The source is MNIST (28x28). The target is USPS (16x16), mapped to MNIST's
# layout by :class:`~sktransfer.ImageMapping` so that the network takes it;
# only 10 labelled USPS images per class are used to train, the 2007 images
# of the USPS test set to measure.

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
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

SEED = 0
K = 10  # labelled USPS images per class

X_mnist, y_mnist = load_mnist(return_X_y=True)
X_usps, y_usps = load_usps(subset="train", return_X_y=True)
X_test, y_test = load_usps(subset="test", return_X_y=True)
to_mnist = ImageMapping(size=(28, 28), method="resize_pad", box=20, center="mass")
X_usps, X_test = to_mnist.fit_transform(X_usps), to_mnist.transform(X_test)

rng = np.random.RandomState(SEED)
few = np.concatenate(
    [rng.choice(np.flatnonzero(y_usps == c), K, replace=False) for c in range(10)]
)
X_few, y_few = X_usps[few], y_usps[few]
print(f"{len(y_few)} labelled USPS images, {len(y_test)} to test on")

# %%
# The source network
# ------------------
# A LeNet trained on part of MNIST for a few epochs, so that this page runs in
# seconds. For the full-size result train it on all 10000 images
# (``N_PRETRAIN = 10000``) for ``PRETRAIN_EPOCHS = 10`` with affine
# augmentation (:class:`~sktransfer.augmentation.RandomAffine`), as
# ``benchmarks/results/features_prefix.md`` does (about 95 % on the USPS test
# set from the last layer's features with 10 labels per class).

N_PRETRAIN, PRETRAIN_EPOCHS = 3000, 2

source = TransferClassifier(
    LeNet, max_epochs=PRETRAIN_EPOCHS, batch_size=64, random_state=SEED
).fit(X_mnist[:N_PRETRAIN], y_mnist[:N_PRETRAIN])
print(f"the MNIST network on USPS, no USPS label: {source.score(X_test, y_test):.3f}")

# %%
# The pipeline
# ------------
# The network's blocks, in forward order, are ``conv1``, ``conv2``, ``fc1``
# and ``fc2``; ``layer`` takes a block index (``-2`` is the penultimate
# block, ``fc1``) or a module name. The output of a convolution block is a
# map of shape ``(channels, height, width)``; ``pooling="max"`` keeps the
# largest value of each channel, one feature per channel.
#
# Nothing in the network is trained here: ``fit`` only checks that the network
# takes the images, and the source stays as it was.
#
# ``set_output(transform="pandas")``, set before fitting, makes the feature
# steps return DataFrames (the logistic regression then learns from named
# columns).

pipe = make_pipeline(
    FeatureTransferTransformer(source, layer=-2, pooling="max"),
    StandardScaler(),
    LogisticRegression(max_iter=1000),
).set_output(transform="pandas")
pipe.fit(X_few, y_few)
print(f"fc1 features + logistic regression: {pipe.score(X_test, y_test):.3f}")

# %%
# The features as a DataFrame
# ---------------------------
# ``pipe[:-1]`` is the feature part of the fitted pipeline. Its output is a
# DataFrame whose columns are named after the layer, ``fc1_0``, ``fc1_1``, ...
# (``get_feature_names_out``), so each coefficient of the logistic regression
# can be traced back to a unit of the network.

table = pipe[:-1].transform(X_few)
print(f"{table.shape[1]} columns, from {table.columns[0]!r} to {table.columns[-1]!r}")
print(table.iloc[:, :5].head().round(3).to_string())
coefficients = pd.Series(pipe[-1].coef_[3], index=pipe[-1].feature_names_in_)
print("largest weights for the digit 3:", list(coefficients.nlargest(3).index))

# %%
# Which layer?
# ------------
# ``GridSearchCV`` tunes the layer like any other parameter, by 5-fold
# cross-validation on the 100 labelled images. Every candidate shares the one
# source network (it is kept by reference, never copied per fold).

blocks = pipe[0].blocks_
search = GridSearchCV(
    pipe,
    {"featuretransfertransformer__layer": list(range(len(blocks)))},
    cv=StratifiedKFold(5, shuffle=True, random_state=SEED),
)
search.fit(X_few, y_few)
best = search.best_params_["featuretransfertransformer__layer"]
print(f"cross-validation picks block {best} ({blocks[best]})")
print(f"its accuracy on the USPS test set: {search.score(X_test, y_test):.3f}")

# %%
# To see how good each choice would have been, refit the pipeline on each
# layer and score it on the test set (the test labels are used only for
# this). The dashed line is the MNIST network's own predictions, with no USPS
# label at all.

results = []
for layer, (name, cv_accuracy) in enumerate(
    zip(blocks, search.cv_results_["mean_test_score"], strict=True)
):
    pipe.set_params(featuretransfertransformer__layer=layer)
    test_accuracy = pipe.fit(X_few, y_few).score(X_test, y_test)
    n_features = pipe[0].n_features_out_
    results.append((f"{layer}: {name} ({n_features})", cv_accuracy, test_accuracy))
results = pd.DataFrame(
    results, columns=["layer (features)", "CV accuracy", "test accuracy"]
).set_index("layer (features)")
print(results.round(3).to_string())

# %%
# Here the deeper the layer, the better: USPS has MNIST's ten classes, so the
# layers closest to them carry over best, and the ten outputs of ``fc2`` are
# enough. For a target whose classes differ from the source's, a middle layer
# can win instead; the search tells, from the labelled target rows alone.

ax = (100 * results).plot.bar(rot=0, figsize=(9, 4), color=["0.65", "C0"])
ax.axhline(
    100 * source.score(X_test, y_test),
    color="0.3",
    linestyle="--",
    label="the MNIST network alone",
)
ax.set_ylim(0, 100)
ax.set_ylabel("accuracy on USPS (%)")
ax.set_title(f"Logistic regression on a LeNet layer, {K} USPS labels per class")
ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5))
plt.tight_layout()
plt.show()
