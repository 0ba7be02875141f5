"""Monitoring stage: drift statistics, batch validation and drift monitoring reports."""
