"""The pipeline library: a pure core by stage and its MLflow edge (mlflow_io)."""
