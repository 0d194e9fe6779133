#!/usr/bin/env bash
# Every test and check: the C core's tests plain, under ASan+UBSan and under
# valgrind; cppcheck; formatting; go vet and staticcheck; the Go tests under
# cgocheck2, -race and -asan; the builds without cgo and for other systems;
# a 20-second data-verifying soak; and the benchmark runner once at a tiny
# size, so that it keeps working.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh --test --bench
GO=$(scripts/go.sh)
export PATH="$(dirname "$GO"):$PATH"

step() { printf '\n== %s\n' "$*"; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# asan_missing prints why go test -asan cannot run here, or nothing: it
# needs a platform the Go toolchain supports it on and a C compiler that
# links an ASan program (gcc: libasan; clang: compiler-rt).
asan_missing() {
	local platform cc out
	platform=$(go env GOOS)/$(go env GOARCH)
	case $platform in
	linux/amd64 | linux/arm64 | linux/loong64 | linux/ppc64le | linux/riscv64) ;;
	*)
		echo "Go has no ASan support on $platform"
		return
		;;
	esac
	cc=$(go env CC)
	if ! out=$(printf 'int main(void) { return 0; }\n' | $cc -fsanitize=address -x c -o /dev/null - 2>&1); then
		echo "$cc cannot link a program with -fsanitize=address: $out"
	fi
}

step "C core: tests, sanitizers, valgrind, cppcheck, clang-format"
make -s -C csrc all
make -s -C csrc test
make -s -C csrc sanitize
make -s -C csrc valgrind
make -s -C csrc cppcheck
make -s -C csrc format-check

step "C core: a plain go build rebuilds it after every edit (scripts/rebuild-check.sh)"
scripts/rebuild-check.sh

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
GOOS=windows go vet ./...

# The file-system and device matrix runs once, in a step of its own, not
# under each of the runs below: it makes loop devices and file systems and
# soaks them (about a minute), and what it checks is the kernel's side.
matrix='^TestMatrix$'

step "Go: tests under the cgo pointer checks (GOEXPERIMENT=cgocheck2)"
GOEXPERIMENT=cgocheck2 go test -count=1 -skip "$matrix" ./...

step "Go: tests under the race detector"
go test -count=1 -race -skip "$matrix" ./...

step "Go: tests under AddressSanitizer, the C core included (go test -asan)"
why=$(asan_missing)
if [ -z "$why" ]; then
	go test -count=1 -asan -skip "$matrix" ./...
else
	echo "go test -asan: NOT RUN: $why"
fi

step "Go: the file-system and device matrix (TestMatrix; needs root, skips without it)"
# ext4, xfs and btrfs on loop devices of 512- and 4096-byte sectors, tmpfs
# and the raw loop devices: alignment, data, RWF flags, fsync, ENOSPC and a
# 20 s soak of each cell, all cells at once. -v shows its table. As root,
# where deps.sh has installed the tools, nothing in it may be skipped.
go test -count=1 -run "$matrix" -v . >"$tmp/matrix" 2>&1 || {
	cat "$tmp/matrix" >&2
	exit 1
}
grep -v -- '--- PASS' "$tmp/matrix"
if [ "$(id -u)" = 0 ] && grep -q -- '--- SKIP' "$tmp/matrix"; then
	echo "TestMatrix skipped cells as root: see above" >&2
	exit 1
fi

step "Soak: 20 s of checksummed writes read back and verified (cmd/aiosoak)"
go run ./cmd/aiosoak -duration 20s

step "Benchmark runner at a tiny size (checks that it runs, not its timings)"
out=$tmp
go run ./cmd/aiobench -tiny -md "$out/BENCHMARKS.md" -svg "$out/bench.svg" >"$out/log" 2>&1 || {
	cat "$out/log" >&2
	exit 1
}
grep -q '^| aio, Events stream |' "$out/BENCHMARKS.md"
grep -q '<polyline' "$out/bench.svg"
tail -n 12 "$out/log"
