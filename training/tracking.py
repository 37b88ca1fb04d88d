"""MLflow tracking that degrades to a warning when MLflow is not installed."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

DEFAULT_TRACKING_URI = "file:./mlruns"


class Tracker:
    """Logs params/metrics/artifacts to MLflow (``MLFLOW_TRACKING_URI`` or ``./mlruns``) if available."""

    def __init__(self, experiment: str, run_name: str | None = None, enabled: bool = True) -> None:
        self.mlflow: Any = None
        if not enabled:
            return
        try:
            import mlflow
        except ImportError:
            warnings.warn("MLflow is not installed: training runs are not tracked (pip install 'clearbg-desktop[train]')",
                          stacklevel=2)
            return
        uri = os.environ.get("MLFLOW_TRACKING_URI", DEFAULT_TRACKING_URI)
        if uri.startswith("file:") or "://" not in uri:
            # MLflow 3 keeps the file store in maintenance mode behind this opt-in; a local,
            # dependency-free mlruns/ folder is what a photographer's laptop needs.
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        mlflow.set_tracking_uri(uri)
        mlflow.set_experiment(experiment)
        mlflow.start_run(run_name=run_name)
        self.mlflow = mlflow

    @property
    def run_id(self) -> str | None:
        if self.mlflow is None:
            return None
        run = self.mlflow.active_run()
        return run.info.run_id if run else None

    def log_params(self, params: dict[str, Any]) -> None:
        if self.mlflow is not None:
            self.mlflow.log_params({k: str(v)[:500] for k, v in params.items()})

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        if self.mlflow is not None:
            self.mlflow.log_metrics({k: float(v) for k, v in metrics.items()}, step=step)

    def log_artifact(self, path: Path) -> None:
        if self.mlflow is not None and Path(path).exists():
            self.mlflow.log_artifact(str(path))

    def close(self) -> None:
        if self.mlflow is not None:
            self.mlflow.end_run()
            self.mlflow = None


def flatten_params(prefix: str, data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):
            out.update(flatten_params(name, value))
        else:
            out[name] = value
    return out
