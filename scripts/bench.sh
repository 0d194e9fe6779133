#!/usr/bin/env bash
# The side-by-side benchmarks (cmd/aiobench): aio's Events stream, natural
# loop, Block.Wait, Manual Context and File, plain Go (os.File, a goroutine
# per I/O), csrc's C loop and fio's libaio and io_uring engines on one 1 GiB
# file, W1 to W4 and read and write depth sweeps, alternating over rounds.
# Without arguments it is the full run (about half an hour) and writes
# BENCHMARKS.md and docs/bench.svg; arguments go to the runner:
#
#   scripts/bench.sh                  # full run
#   scripts/bench.sh -short           # a minute and a half, prints only
#   scripts/bench.sh -file /var/tmp/aio-1g -rounds 5
#
# Installs fio and make with apt-get when they are missing. The file
# (default /var/tmp/aio-bench-1g) is made once; it must be on a file
# system that takes O_DIRECT (not tmpfs before Linux 6.6).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh --bench
AIOBENCH_COMMAND="bash scripts/bench.sh${*:+ $*}" exec "$(scripts/go.sh)" run ./cmd/aiobench "$@"
