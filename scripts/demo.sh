#!/usr/bin/env bash
# The main job, in a minute and a half: the side-by-side benchmarks at a short
# size (cmd/aiobench -short). Kernel AIO through this package against plain
# Go, a C loop over libaio and fio, on O_DIRECT and cached random I/O and
# linux_aio's experiment; it prints a progress line, then the comparison
# tables and the goals. Arguments go to the runner (-file, -secs, ...).
# The first run makes a 1 GiB file, /var/tmp/aio-bench-1g.
set -euo pipefail
cd "$(dirname "$0")/.."
exec scripts/bench.sh -short "$@"
