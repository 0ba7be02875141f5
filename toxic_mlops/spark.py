"""A Spark session whose Python workers run this interpreter: what batch scoring and
distributed training start (pyspark is imported only when one is asked for)."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any


def spark_session(
    master: str, app_name: str, driver_host: str, ui: bool, settings: Mapping[str, str]
) -> Any:
    """getOrCreate() on `master`; executors reach the driver at driver_host; settings last."""
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    os.environ.setdefault("SPARK_LOCAL_IP", driver_host)  # Spark's own services too
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.master(master).appName(app_name)
    base = {
        "spark.driver.host": driver_host,
        "spark.driver.bindAddress": driver_host,
        "spark.ui.enabled": str(ui).lower(),
    }
    for key, value in {**base, **settings}.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()
