"""Evaluation stage: metrics, decision thresholds, TF-IDF baseline, bias, the promotion gate."""
