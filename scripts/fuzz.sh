#!/usr/bin/env bash
# Runs the property tests of tests/fuzz.rs (KB loader, conversation JSON, config + environment,
# key map, demo scenarios) with many more cases than `cargo test` gives them (64 each).
#
#   scripts/fuzz.sh            5000 cases per property (5 properties: 25,000 executions)
#   scripts/fuzz.sh 20000      20000 cases per property
#
# The case count is fixed, so a run's size does not depend on the machine; proptest's seed is
# random per run, so each run explores new inputs. A failure prints the minimal (shrunk) input:
# add it as a named regression test at the end of tests/fuzz.rs, then fix the parser.
set -euo pipefail
cases="${1:-5000}"
cd "$(dirname "$0")/.."
echo "fuzz: ${cases} cases per property, 5 properties"
start=$(date +%s)
PROPTEST_CASES="$cases" cargo test --release --test integration -- fuzz:: --test-threads=1
echo "fuzz: $((cases * 5)) executions, no failure, in $(( $(date +%s) - start )) s (the build included)"
