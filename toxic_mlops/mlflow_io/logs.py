"""Logging results on the active run: reports, figures, epochs, data read, validation; and the
steps' progress lines."""

from __future__ import annotations

import json
import warnings
from typing import TYPE_CHECKING

import mlflow
import pandas as pd
from tqdm.auto import tqdm

from toxic_mlops.contract import (
    DATA_SHA256_TAG,
    DATA_SOURCES_TAG,
    VALIDATION_REPORT_ARTIFACT,
    VALIDATION_STATUS_TAG,
)
from toxic_mlops.data.download import FetchedFile
from toxic_mlops.monitoring.reports import Report
from toxic_mlops.monitoring.validation import ValidationReport

# Types only: every step imports this module, and most of them neither plot nor train (torch,
# scikit-learn and matplotlib are seconds of start-up for each `mlflow run` step).
if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from toxic_mlops.model.training import EpochResult


def say(message: str) -> None:
    """A progress line on stdout that does not break a running progress bar."""
    tqdm.write(message)


def log_report(report: Report, title: str, artifact_base: str) -> None:
    """<artifact_base>.md (a table for people) and .json (for programs)."""
    mlflow.log_text(report.to_markdown(title), f"{artifact_base}.md")
    mlflow.log_dict(report.to_dict(), f"{artifact_base}.json")


# What MLflow says when it records a dataset input, that no user can act on: a local path matches
# its file source class twice, and an integer label column gets a hint about model signatures.
DATASET_NOISE = (
    "The specified dataset source can be interpreted in multiple ways",
    "Hint: Inferred schema contains integer column",
)


def log_dataset(frame: pd.DataFrame, name: str, context: str, source: str | None = None) -> None:
    """The frame as a dataset input of the active run: name, digest, rows, source."""
    with warnings.catch_warnings():
        for message in DATASET_NOISE:
            warnings.filterwarnings("ignore", message=message, category=UserWarning)
        dataset = mlflow.data.from_pandas(frame, source=source, name=name)
    mlflow.log_input(dataset, context=context)


def log_figures(figures: dict[str, Figure]) -> None:
    import matplotlib.pyplot as plt  # only the steps that plot pay for it

    for path, figure in figures.items():
        mlflow.log_figure(figure, path)
    plt.close("all")


def log_epoch(result: EpochResult) -> None:
    metrics = {
        "epoch_train_loss": result.train_loss,
        "epoch_val_loss": result.val_loss,
        "epoch_val_macro_roc_auc": result.val_macro_roc_auc,
        "epoch_learning_rate": result.learning_rate,
        "epoch_seconds": result.seconds,
        **{f"epoch_val_roc_auc_{label}": auc for label, auc in result.val_roc_auc.items()},
    }
    mlflow.log_metrics(metrics, step=result.epoch)
    say(
        f"epoch {result.epoch}: train loss {result.train_loss:.4f}, "
        f"val loss {result.val_loss:.4f}, "
        f"val macro ROC-AUC {result.val_macro_roc_auc:.4f} ({result.seconds:.0f}s)"
    )


def data_tags(sources: list[str], files: list[FetchedFile]) -> dict[str, str]:
    """What a run read: the sources as given (JSON) and the digest of every file fetched."""
    return {
        DATA_SOURCES_TAG: json.dumps(sources),
        DATA_SHA256_TAG: ",".join(f.sha256 for f in files),
    }


def log_validation(report: ValidationReport, source: str) -> str:
    """Report artifacts, counts and the validation.status tag on the active run; the status."""
    status = "fail" if report.failures else "warn" if report.warnings else "ok"
    log_report(report, f"Validation of {source}", VALIDATION_REPORT_ARTIFACT)
    mlflow.log_metrics(
        {
            "validation_failures": len(report.failures),
            "validation_warnings": len(report.warnings),
        }
    )
    mlflow.set_tag(VALIDATION_STATUS_TAG, status)
    return status
