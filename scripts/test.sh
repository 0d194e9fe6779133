#!/usr/bin/env bash
# Every test and check: the C core's tests plain, under ASan+UBSan and under
# valgrind; formatting; go vet and staticcheck; the Go tests under -race and
# under cgocheck2; the builds without cgo and for other systems; and the
# benchmark runner once at a tiny size, so that it keeps working.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh --test --bench
GO=$(scripts/go.sh)
export PATH="$(dirname "$GO"):$PATH"

step() { printf '\n== %s\n' "$*"; }

step "C core: tests, sanitizers, valgrind, clang-format"
make -s -C csrc all
make -s -C csrc test
make -s -C csrc sanitize
make -s -C csrc valgrind
make -s -C csrc format-check

step "Go: gofmt, vet, staticcheck"
unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then
	echo "gofmt would change: $unformatted" >&2
	exit 1
fi
go vet ./...
.bin/staticcheck ./...
CGO_ENABLED=0 go vet ./...
GOOS=darwin go vet ./...

step "Go: tests under the cgo pointer checks (GOEXPERIMENT=cgocheck2)"
GOEXPERIMENT=cgocheck2 go test -count=1 ./...

step "Go: tests under the race detector"
go test -count=1 -race ./...

step "Benchmark runner at a tiny size (checks that it runs, not its timings)"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
go run ./cmd/aiobench -tiny -md "$out/BENCHMARKS.md" -svg "$out/bench.svg" >"$out/log" 2>&1 || {
	cat "$out/log" >&2
	exit 1
}
grep -q '^| aio, Events stream |' "$out/BENCHMARKS.md"
grep -q '<polyline' "$out/bench.svg"
tail -n 12 "$out/log"
