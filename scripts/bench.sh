#!/usr/bin/env bash
# Side by side, in one run: the C core's loop (csrc/bench) against the Go
# package's stream (BenchmarkReadDirect, BenchmarkReadCached) and manual
# mode (BenchmarkGetEventsReadDirect), 4 KiB random reads at 32 in flight on
# one file, alternating for several rounds so that a noisy machine hits all
# of them alike.
#
#   scripts/bench.sh [FILE] [ROUNDS] [SECONDS]
#
# FILE (default /var/tmp/aio-bench-1g) is made 1 GiB if missing; it must be
# on a file system that supports O_DIRECT (not tmpfs before Linux 6.6).
set -euo pipefail
cd "$(dirname "$0")/.."
file=${1:-/var/tmp/aio-bench-1g}
rounds=${2:-3}
secs=${3:-3}
scripts/deps.sh
command -v make >/dev/null || scripts/deps.sh --test
go=$(scripts/go.sh)
make -s -C csrc build/aiocore-bench
[ -f "$file" ] || csrc/build/aiocore-bench -f "$file" -s 1G -d 1 -n 1 >/dev/null
test_bin=$(mktemp -t aio-bench.XXXXXX)
trap 'rm -f "$test_bin"' EXIT
"$go" test -c -o "$test_bin" .
gobench() {
	AIO_BENCH_FILE=$file "$test_bin" -test.run - -test.bench "$1" \
		-test.benchtime "${secs}s" -test.benchmem | grep '^Benchmark'
}
cat "$file" >/dev/null # page-cache hot for the cached rows
for r in $(seq "$rounds"); do
	echo "== round $r of $rounds"
	csrc/build/aiocore-bench -f "$file" -d 32 -t "$secs" | tail -n 1
	gobench 'ReadDirect$'
	csrc/build/aiocore-bench -f "$file" -B -d 32 -t "$secs" | tail -n 1
	gobench 'ReadCached$'
done
