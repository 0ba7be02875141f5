"""The MLflow edge: runs, artifacts, registry, lineage, model packaging and the step chain."""
