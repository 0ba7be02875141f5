"""Bare forward of the reference-size network (random weights) on fixed-length batches.

    python -m bench.perf.forward [--batch 256 --lengths 50 100]

The issue's yardstick: ~1,900 comments/s at 50 tokens and ~750/s at 100 on 2 cores.
"""

from __future__ import annotations

import time

import torch

from bench.cli import bench_parser
from bench.common import Summary, figure, record
from pyfunc.network import ToxicityNet
from pyfunc.network_config import NetworkConfig


def main() -> None:
    parser = bench_parser(__doc__)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--lengths", type=int, nargs="+", default=[50, 100])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.manual_seed(0)
    network = ToxicityNet(NetworkConfig(vocab_size=30_000, num_labels=6)).eval()
    report = {}
    with torch.inference_mode():
        for length in args.lengths:
            token_ids = torch.randint(1, 30_000, (args.batch, length))
            lengths = torch.full((args.batch,), length)
            network(token_ids, lengths)
            best = min(_timed(network, token_ids, lengths) for _ in range(args.repeats))
            report[f"comments_per_s@{length}_tokens"] = round(args.batch / best, 1)
    record("forward", report)


def _timed(network: ToxicityNet, token_ids: torch.Tensor, lengths: torch.Tensor) -> float:
    started = time.perf_counter()
    network(token_ids, lengths)
    return time.perf_counter() - started


def summarize(report: dict) -> Summary:
    """comments/s of the bare forward per sequence length."""
    rows = [(key.split("@")[1].replace("_", " "), value) for key, value in report.items()]
    sentence = (
        "The reference-size network (random weights) forwards "
        + " and ".join(f"{figure(v)} comments/s at {k}" for k, v in rows)
        + " (the issue's yardstick on 2 cores: ~1,900 at 50 tokens, ~750 at 100)."
    )
    return Summary(sentence, ("comments of", "comments/s"), rows)


if __name__ == "__main__":
    main()
