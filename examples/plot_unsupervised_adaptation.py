"""
Unsupervised domain adaptation, chosen without target labels
============================================================

A LeNet trained on USPS digits loses accuracy on MNIST digits: the same ten
classes, but another scanner, another stroke width, other writers.
Unsupervised domain adaptation trains on the labelled source rows and the
*unlabelled* target rows together, with a loss that makes the network work
alike on both domains. There are several such losses, none wins on every task,
and without target labels there is nothing to cross-validate them on.

This example trains four candidates (no adaptation, DANN, Deep CORAL,
information maximisation), lets :class:`~sktransfer.TransferSelector` keep one
by a score that needs no label, guarded by "no adaptation" (the pick must agree
with the ensemble of all candidates at least as well as the source model does),
and then looks at what the adaptation did to the network's features.

The MNIST labels are used **only to report** how good each choice was: nothing
that trains or chooses sees them.
"""

# %%
# The two domains
# ---------------
# USPS digits are 16x16 and fill their frame; MNIST digits are 28x28, drawn in
# a 20x20 box centred by mass. :class:`~sktransfer.ImageMapping` puts USPS in
# MNIST's layout, so that one network takes both.
#
# The sizes are kept small so that this page runs in well under a minute on a
# laptop CPU. For the full-size result use every row (``N_SOURCE = 7291``,
# ``N_TARGET = 10000``), ``PRETRAIN_EPOCHS = 10`` with affine augmentation
# (:class:`~sktransfer.augmentation.RandomAffine`), ``ADAPT_EPOCHS = 5`` and
# ``LR = 1e-4`` (with that many more steps a smaller learning rate is better):
# ``benchmarks/results/adaptation.md`` and ``benchmarks/results/selection.md``
# have those numbers (USPS -> MNIST: about 91 % for the source model, about
# 98 % after information maximisation).

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from sktransfer import (
    FeatureTransferTransformer,
    ImageMapping,
    Source,
    TransferClassifier,
    TransferSelector,
    information_maximization_score,
    load_mnist,
    load_usps,
)
from sktransfer.adaptation import DANN, DeepCORAL, InformationMaximization
from sktransfer.metrics import coral_distance, mmd, proxy_a_distance
from sktransfer.models import LeNet
from sktransfer.plotting import DomainGapDisplay, TrainingCurvesDisplay

N_SOURCE, N_TARGET = 1000, 1000  # rows of USPS (labelled) and MNIST (unlabelled)
PRETRAIN_EPOCHS, ADAPT_EPOCHS, LR = 3, 3, 1e-3
SEED = 0

X_usps, y_usps = load_usps(subset="train", return_X_y=True)
X_mnist, y_mnist = load_mnist(return_X_y=True)
X_usps = ImageMapping(
    size=(28, 28), method="resize_pad", box=20, center="mass"
).fit_transform(X_usps)

rng = np.random.RandomState(SEED)
source_rows = rng.choice(len(X_usps), N_SOURCE, replace=False)
target_rows = rng.choice(len(X_mnist), N_TARGET, replace=False)
X_source, y_source = X_usps[source_rows], y_usps[source_rows]
X_target = X_mnist[target_rows]
y_target = y_mnist[target_rows]  # only to report accuracies, never to fit
unlabelled = np.full(N_TARGET, -1)  # what fit gets: -1 marks a row without label
print(f"source: {X_source.shape} USPS, target: {X_target.shape} MNIST")

# %%
# The source model
# ----------------
# A LeNet trained on the USPS rows only. :class:`~sktransfer.Source` bundles
# its weights with the labelled USPS rows: an estimator given such a source
# trains across domains, ``L_source + adaptation_weight * L_adapt``, on
# batches of source rows and target rows.

source_model = TransferClassifier(
    LeNet, max_epochs=PRETRAIN_EPOCHS, batch_size=64, random_state=SEED
).fit(X_source, y_source)
source = Source(weights=source_model, X=X_source, y=y_source)

# %%
# The candidates
# --------------
# The same start and the same training budget, four ways. ``max_epochs=0``
# keeps the source weights as they are: include such a candidate so that
# "no adaptation" can win. DANN gets a small weight (``0.3``): its adversarial
# term can otherwise pull the features apart from the classes.

common = dict(
    source=source,
    max_epochs=ADAPT_EPOCHS,
    lr=LR,
    batch_size=128,
    random_state=SEED,
)
candidates = [
    ("source only", TransferClassifier(**{**common, "max_epochs": 0})),
    ("DANN", TransferClassifier(adaptation=DANN(), adaptation_weight=0.3, **common)),
    ("Deep CORAL", TransferClassifier(adaptation=DeepCORAL(), **common)),
    (
        "information maximisation",
        TransferClassifier(adaptation=InformationMaximization(), **common),
    ),
]

# %%
# Choosing one without a label
# ----------------------------
# With every ``y`` equal to ``-1``, :class:`~sktransfer.TransferSelector`
# trains every candidate on the unlabelled target rows and keeps the best by
# ``label_free_scoring``, here the information-maximisation score (the mutual
# information between inputs and predicted classes). That score is exactly
# what the information-maximisation loss optimises, so it can be fooled by
# that loss. ``baseline="source only"`` guards it: each candidate also gets its
# agreement with the ensemble of all candidates (the fraction of target rows
# on which it predicts what the mean of all candidates' probabilities
# predicts, EnsV), and the score's pick is kept only if it agrees at least as
# well as the source model does. On the 14 benchmark tasks this keeps the
# choice from falling below "no adaptation"
# (``benchmarks/results/selection_label_free.md``).

selector = TransferSelector(
    candidates,
    label_free_scoring=information_maximization_score,
    baseline="source only",
    random_state=SEED,
)
selector.fit(X_target, unlabelled)
print(f"kept: {selector.best_name_!r}, by {selector.decided_by_}")
report = selector.report_[
    ["candidate", "label_free_score", "ensemble_agreement", "selected"]
]
print(report.to_string(index=False))

# %%
# What another score would pick, and how good each really is
# ----------------------------------------------------------
# To look inside, train the same candidates once more (each fit is
# reproducible bit for bit with its ``random_state``).
#
# The last column uses the MNIST labels, here and nowhere else: the accuracy
# on the unlabelled MNIST rows the candidates adapted to (transductive, as in
# the benchmarks).

fitted = {name: model.fit(X_target, unlabelled) for name, model in candidates}
table = pd.DataFrame(
    {
        "IM score (no label)": selector.report_.set_index("candidate")[
            "label_free_score"
        ],
        "EnsV (no label)": selector.report_.set_index("candidate")[
            "ensemble_agreement"
        ],
        "target accuracy (labels)": {
            name: model.score(X_target, y_target) for name, model in fitted.items()
        },
    }
)
print(table.round(4).to_string())
print(f"EnsV picks {table['EnsV (no label)'].idxmax()!r}")
print(f"the IM score picks {table['IM score (no label)'].idxmax()!r}")
print(f"the labels would pick {table['target accuracy (labels)'].idxmax()!r}")

# %%
# The domain gap, before and after
# --------------------------------
# How far apart do the two domains lie in the network's penultimate layer
# (``fc1``)? :func:`~sktransfer.metrics.proxy_a_distance` trains a classifier
# to tell source rows from target rows (0: it cannot, 2: it always can);
# :func:`~sktransfer.metrics.mmd` compares the two distributions with a
# Gaussian kernel and :func:`~sktransfer.metrics.coral_distance` their
# covariances. For all three, smaller means closer. A few hundred rows of each
# domain are enough.

n_gap = 400
gaps = {}
for name, model in fitted.items():
    features = FeatureTransferTransformer(model, layer=-2).fit(X_source[:n_gap])
    F_source = features.transform(X_source[:n_gap])
    F_target = features.transform(X_target[:n_gap])
    gaps[name] = {
        "proxy A-distance": proxy_a_distance(F_source, F_target, random_state=SEED),
        "MMD": mmd(F_source, F_target),
        "CORAL distance": coral_distance(F_source, F_target),
    }
gaps = pd.DataFrame(gaps).T
print(gaps.round(4).to_string())
before, after = gaps.loc["source only"], gaps.loc[selector.best_name_]
print(
    f"kept model: proxy A-distance {before['proxy A-distance']:.3f} -> "
    f"{after['proxy A-distance']:.3f}, MMD {before['MMD']:.4f} -> {after['MMD']:.4f}"
)

# %%
# Deep CORAL and DANN act on these features directly and bring the domains
# closer; information maximisation acts on the predictions only, so it can
# raise the accuracy most while leaving the gap measured here almost as it
# was. A smaller gap is a means, not the goal: the classes must also line up
# across the domains, which no label-free gap measures.
#
# :class:`~sktransfer.plotting.DomainGapDisplay` draws the same features in
# two dimensions (a PCA of both domains' rows together): the source model,
# the kept model and, when it is another one, the candidate with the smallest
# MMD.

chosen = selector.best_estimator_
panels = {
    "before: source model": source_model,
    f"after: {selector.best_name_} (kept)": chosen,
}
closest = gaps["MMD"].idxmin()
if closest != selector.best_name_:
    panels[f"smallest MMD: {closest}"] = fitted[closest]
fig, axes = plt.subplots(1, len(panels), figsize=(4.5 * len(panels), 4.2))
for ax, (title, model) in zip(axes, panels.items(), strict=True):
    DomainGapDisplay.from_estimator(
        model,
        X_source[:300],
        X_target[:300],
        layer=-2,
        color_by="domain",
        random_state=SEED,
        ax=ax,
    )
    ax.set_title(title)
fig.tight_layout()

# %%
# The loss terms during adaptation
# --------------------------------
# :class:`~sktransfer.plotting.TrainingCurvesDisplay` plots each term of the
# objective per epoch: the classification loss on the source rows, the
# adaptation loss and their weighted sum. DANN's term is the cross-entropy of
# its domain classifier, which grows as the network learns to fool it; Deep
# CORAL's is the distance between the covariances, which falls; information
# maximisation's is the mean entropy of the target predictions minus the
# entropy of their mean, negative and falling as the predictions become
# confident and diverse.

trained = [name for name, _ in candidates if fitted[name].max_epochs > 0]
fig, axes = plt.subplots(1, len(trained), figsize=(4 * len(trained), 3.8))
for ax, name in zip(axes, trained, strict=True):
    TrainingCurvesDisplay.from_estimator(fitted[name], ax=ax)
    ax.set_title(name + (" (kept)" if name == selector.best_name_ else ""))
fig.tight_layout()
plt.show()
