"""The benchmark suite, run from the project folder as `python -m bench.<kind>.<name>`.

    bench/perf/      speed, memory and load: what serving and the pipeline's steps cost
    bench/quality/   model quality against targets the docs quote
    bench/studies/   one-off studies behind a design decision

Each package's `BENCHMARKS` names its modules with a one-line purpose. Shared: `common` (machine,
command, record, timing), `cli` (the one argument parser), `data` (where data comes from),
`fitting` (training as the train step does). Results go to bench/results/; `make bench-report`
(`python -m bench.report`) renders the latest per benchmark in docs/benchmarks.md.
"""
