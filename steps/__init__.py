"""Thin click CLIs, one per MLproject entry point: parse, call toxic_mlops, log to MLflow."""
