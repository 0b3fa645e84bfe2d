"""The strongroom benchmark harness: one command (scripts/bench.sh) that
measures strongroom against the tools people use today, on this machine,
in the same run, and writes report.md, results.json and PNG plots.

Modules: one per group (files, fields, keys, databases, limits); common
(the runner: rounds, alternation, medians, pairwise ratios, peak memory);
machine (CPU, flags, filesystems, versions); report (markdown and JSON);
plots (PNG); pyworker (the Python tools, run as child processes);
db_python (the Python peer of `strongroom db encrypt`); check (validates a
results folder, for scripts/test-bench.sh)."""
