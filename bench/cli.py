"""The command line every benchmark shares: one parser with the common options.

    parser = bench_parser(__doc__, config=True, source=True, params=True)
    parser.add_argument("--epochs", ...)        # the script's own additions
    args = parser.parse_args()
    config = load_config(args.config, overrides(args, num_threads="1"))

For each common option, True makes it required, a string is its default, None leaves it out:
--config (a config file), --source (a local data file), --model-uri (a registered model), and
the flags -P name=value (config overrides, repeatable) and -V name:k=v,k=v (variants).
"""

from __future__ import annotations

import argparse

Option = bool | str | None


def bench_parser(
    doc: str | None,
    *,
    config: Option = None,
    source: Option = None,
    model_uri: Option = None,
    params: bool = False,
    variants: bool = False,
) -> argparse.ArgumentParser:
    """A parser described by the module's docstring, with the common options asked for."""
    lines = (doc or "").strip().splitlines() or [""]
    parser = argparse.ArgumentParser(
        description=lines[0],
        epilog="\n".join(lines[1:]),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    for flags, value, text in (
        (["--config"], config, "config file"),
        (["--source"], source, "local data file (CSV, CSV.gz, parquet)"),
        (["--model-uri", "--model"], model_uri, "registered model, e.g. models:/toxic/1"),
    ):
        if value is True:
            parser.add_argument(*flags, required=True, help=text)
        elif value is not None and value is not False:
            parser.add_argument(*flags, default=value, help=f"{text} (default: {value or 'none'})")
    if params:
        parser.add_argument(
            "-P", dest="params", action="append", default=[], help="config override name=value"
        )
    if variants:
        parser.add_argument(
            "-V", dest="variants", action="append", default=[], help="variant name:k=v,k=v"
        )
    return parser


def overrides(args: argparse.Namespace, **defaults: str) -> dict[str, str]:
    """The -P overrides as a dict, over the script's defaults."""
    return {**defaults, **dict(param.split("=", 1) for param in args.params)}


def variants(args: argparse.Namespace) -> dict[str, dict[str, str]]:
    """The -V variants by name (their overrides); none given: one variant `model`, as is."""
    found: dict[str, dict[str, str]] = {} if args.variants else {"model": {}}
    for spec in args.variants:
        name, _, pairs = spec.partition(":")
        found[name] = dict(pair.split("=", 1) for pair in pairs.split(",") if pair)
    return found
