#!/usr/bin/env bash
# Every test and check: the C core's tests plain, under ASan+UBSan and under
# valgrind; cppcheck; formatting; go vet and staticcheck; the Go tests under -race and
# under cgocheck2; and the builds without cgo and for other systems.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh --test
GO=$(scripts/go.sh)
export PATH="$(dirname "$GO"):$PATH"

step() { printf '\n== %s\n' "$*"; }

step "C core: tests, sanitizers, valgrind, cppcheck, clang-format"
make -s -C csrc all
make -s -C csrc test
make -s -C csrc sanitize
make -s -C csrc valgrind
make -s -C csrc cppcheck
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
