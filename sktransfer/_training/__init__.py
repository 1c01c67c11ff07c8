"""Training a prepared network: the strategies, their skorch nets, the prefix cache.

``choose_strategy`` picks one strategy per fit from a table of rules;
``Training`` carries what the estimator asks of it.
"""

from .choose import RULES, choose_strategy, why_not
from .strategies import AcrossDomains, FineTune, FrozenPrefix, SourceFree, Training

__all__ = [
    "RULES",
    "AcrossDomains",
    "FineTune",
    "FrozenPrefix",
    "SourceFree",
    "Training",
    "choose_strategy",
    "why_not",
]
