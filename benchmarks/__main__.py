"""Run the benchmarks: ``python -m benchmarks [--quick] [--seeds N] [--only NAME]``.

Each benchmark prints its rows as they come, then a markdown table, and writes
``benchmarks/results/<name>.json`` and ``<name>.md``. Data is read through
``SKTRANSFER_DATA`` like everywhere else.
"""

from __future__ import annotations

import argparse

from . import (
    adaptation,
    ceiling,
    features_prefix,
    federated,
    mnist_usps,
    parallel,
    regularized,
    selection,
    shallow,
    standard,
)

BENCHMARKS = {
    "mnist_usps": mnist_usps.run,
    "adaptation": adaptation.run,
    "adaptation_mmd": adaptation.run_mmd,
    "adaptation_timing": adaptation.run_timing,
    "adaptation_new_losses": adaptation.run_new_losses,
    "adaptation_mean_teacher": adaptation.run_mean_teacher,
    "adaptation_loss_scales": adaptation.run_loss_scales,
    "adaptation_source_free": adaptation.run_source_free,
    "adaptation_defaults": adaptation.run_defaults,
    "adaptation_skada_new_losses": adaptation.run_skada_new_losses,
    "adaptation_oracle": adaptation.run_oracle,
    "adaptation_ceiling": adaptation.run_ceiling,
    "adaptation_few_shot_teacher": adaptation.run_few_shot_teacher,
    "adaptation_ceiling_networks": ceiling.run,
    "features_prefix": features_prefix.run,
    "features_layout": features_prefix.run_layout,
    "federated": federated.run,
    "selection": selection.run,
    "selection_labels": selection.run_with_labels,
    "selection_label_free": selection.run_label_free,
    "shallow": shallow.run,
    "parallel": parallel.run,
    "regularized": regularized.run_regularized,
    "standard_digits": standard.run,
    "standard_memory": standard.run_memory,
}


def main() -> None:
    parser = argparse.ArgumentParser(description="sktransfer benchmarks")
    parser.add_argument("--quick", action="store_true", help="one seed, few epochs")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--only", choices=sorted(BENCHMARKS), action="append")
    args = parser.parse_args()
    for name in args.only or BENCHMARKS:
        print(f"== {name}", flush=True)
        table = BENCHMARKS[name](quick=args.quick, seeds=args.seeds)
        path = table.save()
        print("\n" + table.markdown() + f"\n\nwritten: {path}\n", flush=True)


if __name__ == "__main__":
    main()
