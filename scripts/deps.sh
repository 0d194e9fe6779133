#!/usr/bin/env bash
# Installs what building aio needs and is missing: a C compiler and libaio's
# header (Debian and Ubuntu: gcc, libaio-dev). With --test, also the tools
# the test suite uses: make, clang-format, valgrind, cppcheck and staticcheck,
# and for the file-system matrix (TestMatrix) losetup and the mkfs of ext4,
# xfs and btrfs (Debian: mount, e2fsprogs, xfsprogs, btrfs-progs).
# With --bench, what the benchmark runner (cmd/aiobench) compares against:
# make, to build csrc's C loop, and fio.
# Other distributions: dnf install gcc libaio-devel / apk add gcc musl-dev libaio-dev
# (and fio, make).
set -euo pipefail
cd "$(dirname "$0")/.."

test=false bench=false
for arg in "$@"; do
	case $arg in
	--test) test=true ;;
	--bench) bench=true ;;
	*)
		echo "usage: scripts/deps.sh [--test] [--bench]" >&2
		exit 2
		;;
	esac
done

want=()
command -v gcc >/dev/null || want+=(gcc libc6-dev)
[ -e /usr/include/libaio.h ] || want+=(libaio-dev)
if $test || $bench; then
	command -v make >/dev/null || want+=(make)
fi
if $test; then
	command -v clang-format >/dev/null || want+=(clang-format)
	command -v valgrind >/dev/null || want+=(valgrind)
	command -v cppcheck >/dev/null || want+=(cppcheck)
	command -v losetup >/dev/null || want+=(mount)
	command -v mkfs.ext4 >/dev/null || want+=(e2fsprogs)
	command -v mkfs.xfs >/dev/null || want+=(xfsprogs)
	command -v mkfs.btrfs >/dev/null || want+=(btrfs-progs)
fi
if $bench; then
	command -v fio >/dev/null || want+=(fio)
fi

if [ ${#want[@]} -gt 0 ]; then
	if ! command -v apt-get >/dev/null; then
		echo "deps: missing ${want[*]}; install them with your package manager" >&2
		exit 1
	fi
	sudo=""
	[ "$(id -u)" = 0 ] || sudo=sudo
	echo "deps: installing ${want[*]}"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
fi

if $test && [ ! -x .bin/staticcheck ]; then
	echo "deps: installing staticcheck into .bin/"
	GOBIN="$PWD/.bin" "$(scripts/go.sh)" install honnef.co/go/tools/cmd/staticcheck@v0.8.2
fi
