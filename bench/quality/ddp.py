"""Benchmark: the deep network trained by N DDP processes against one process, same data.

    nice python -m bench.quality.ddp --config configs/jigsaw_wiki.yaml \
        --source ../shared/data/jigsaw_wiki_train.csv [-P processes=2] [-P master=local[2]]

Prepares the splits once, then fits the config's model three times as the train step does (the
wide path, then the deep epochs), one torch thread per process: in this process; in
`processes` PyTorch DDP processes that Spark's TorchDistributor starts on `master` (default
local[processes]), with the same splits, seeds and settings; and in this process with the next
seed, the yardstick: how far two trainings of the same model land apart anyway. Each kept model
scores validation and test; the report gives each one's macro ROC-AUC (validation: the metric
train logs and keeps the best epoch by), the single-process model's 95 % bootstrap intervals,
the paired intervals of the other two's differences from it, every epoch's validation AUC, and
the DDP processes' throughput and communication share. On a machine with fewer cores than
processes the timings say what the run costs there, not how DDP scales.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench.cli import bench_parser, overrides
from bench.common import Summary, figure, interval, record
from bench.fitting import FittedModel, fit_model, saved_tokenizer
from toxic_mlops.config import TRAIN_SECTIONS, Config, load_config
from toxic_mlops.data.preprocessing import prepare
from toxic_mlops.evaluation.bootstrap import intervals, resampled_macro_auc

DEFAULT_PROCESSES = "2"


def fitted_run(
    config: Config, prepared: Any, processes: int, seed: int | None = None
) -> tuple[FittedModel, float]:
    """The config's model fitted with `processes` DDP processes (0: in this process), with
    training.seed replaced when a seed is given."""
    config = replace(config, distributed=replace(config.distributed, processes=processes))
    if seed is not None:
        config = replace(config, training=replace(config.training, seed=seed))
    started = time.perf_counter()
    with saved_tokenizer(prepared) as tokenizer_file:
        model = fit_model(config, prepared, tokenizer_file)
    return model, time.perf_counter() - started


def run_figures(model: FittedModel, seconds: float) -> dict[str, Any]:
    result = model.trained.fitted.result
    figures: dict[str, Any] = {
        "val_macro_roc_auc": round(model.trained.metrics["val_macro_roc_auc"], 4),
        "test_macro_roc_auc": round(model.trained.metrics["test_macro_roc_auc"], 4),
        "best_epoch": result.best_epoch,
        "val_macro_roc_auc_per_epoch": model.val_per_epoch(),
        "epoch_seconds": {r.epoch: round(r.seconds, 1) for r in result.history},
        "train_rows": len(model.trained.fitted.encoded["train"]),
        "fit_seconds": round(seconds, 1),
    }
    if result.distributed is not None:
        figures["ddp"] = result.distributed.to_dict()
    return figures


def compared(
    single: FittedModel, other: FittedModel, config: Config, split: str
) -> dict[str, float]:
    """The single-process model's interval of macro ROC-AUC on a split and the other model's
    difference from it, on the same bootstrap resamples of the split's rows."""
    targets = single.trained.fitted.encoded[split].targets
    scores = [model.trained.probabilities[split] for model in (single, other)]
    labels = config.dataset.label_columns
    resampled = resampled_macro_auc(
        targets, scores, labels, config.dataset.positive_threshold, config.evaluation
    )
    found = intervals(
        {"single": resampled[0], "difference": resampled[1] - resampled[0]},
        config.evaluation.confidence,
    )
    metric = f"{split}_macro_roc_auc"
    found["difference"] = other.trained.metrics[metric] - single.trained.metrics[metric]
    return {key: round(value, 4) for key, value in found.items()}


def main() -> None:
    parser = bench_parser(__doc__, config=True, source=True, params=True)
    args = parser.parse_args()
    started = time.perf_counter()
    settings = overrides(args, num_threads="1", processes=DEFAULT_PROCESSES)
    config = load_config(args.config, settings, TRAIN_SECTIONS)
    prepared = prepare(config, args.source)
    single, single_seconds = fitted_run(config, prepared, 0)
    print("1 process:", single.trained.summary(), flush=True)
    ddp, ddp_seconds = fitted_run(config, prepared, config.distributed.processes)
    print(f"{config.distributed.processes} DDP processes:", ddp.trained.summary(), flush=True)
    # What another seed alone moves (the folds, the disguised copies, the initial weights, the
    # batches, dropout): the yardstick for the DDP run's differences.
    other_seed = config.training.seed + 1
    reference, reference_seconds = fitted_run(config, prepared, 0, other_seed)
    print(f"1 process, seed {other_seed}:", reference.trained.summary(), flush=True)
    report = {
        "source": Path(args.source).name,
        "config": args.config,
        "overrides": settings,
        "label_columns": config.dataset.label_columns,
        "rows": {name: len(part) for name, part in prepared.splits.items()},
        "single": run_figures(single, single_seconds),
        "ddp": run_figures(ddp, ddp_seconds),
        "val_bootstrap": compared(single, ddp, config, "val"),
        "test_bootstrap": compared(single, ddp, config, "test"),
        "reference": {
            "seed": other_seed,
            **run_figures(reference, reference_seconds),
            "val_bootstrap": compared(single, reference, config, "val"),
            "test_bootstrap": compared(single, reference, config, "test"),
        },
        "resamples": config.evaluation.bootstrap_resamples,
        "seconds": round(time.perf_counter() - started, 1),
    }
    record(f"ddp-{config.dataset.name}", report)


def _difference(boot: dict[str, float]) -> str:
    return interval(boot["difference"], boot["difference_ci_low"], boot["difference_ci_high"])


def summarize(report: dict) -> Summary:
    """Every run's macro ROC-AUC, the single run's validation interval, the paired differences
    from it (validation, test), and what each run cost."""
    single, ddp, boot = report["single"], report["ddp"], report["val_bootstrap"]
    processes = ddp["ddp"]["ddp_processes"]
    inside = boot["single_ci_low"] <= ddp["val_macro_roc_auc"] <= boot["single_ci_high"]
    on_test = report.get("test_bootstrap")
    sentence = (
        f"{processes} DDP processes against 1 process on {report['source']} "
        f"({report['rows']['train']:,} training rows): validation macro ROC-AUC "
        f"{figure(ddp['val_macro_roc_auc'])}, "
        f"{'inside' if inside else 'outside'} the single-process model's 95 % bootstrap interval "
        f"{interval(single['val_macro_roc_auc'], boot['single_ci_low'], boot['single_ci_high'])}; "
        f"paired difference {_difference(boot)}"
        + (f" (test: {_difference(on_test)})" if on_test else "")
        + (
            f"; 1 process, next seed: {_difference(reference['val_bootstrap'])} "
            f"(test: {_difference(reference['test_bootstrap'])})"
            if (reference := report.get("reference"))
            else ""
        )
        + f". DDP: {figure(ddp['ddp']['ddp_rows_per_s_per_process'])} rows/s per process, "
        f"{figure(100 * ddp['ddp']['ddp_communication_share'], 2)} % of the training time in "
        "all-reduces."
    )
    rows = [
        (
            name,
            run["val_macro_roc_auc"],
            run["test_macro_roc_auc"],
            run["best_epoch"],
            figure(list(run["val_macro_roc_auc_per_epoch"].values())),
            run["fit_seconds"],
        )
        for name, run in (
            (f"{processes} DDP processes", ddp),
            ("1 process", single),
            *([("1 process, next seed", report["reference"])] if "reference" in report else []),
        )
    ]
    columns = ("run", "val macro AUC", "test macro AUC", "best epoch", "val AUC per epoch", "fit s")
    return Summary(sentence, columns, rows)


if __name__ == "__main__":
    main()
