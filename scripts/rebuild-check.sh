#!/usr/bin/env bash
# Checks that a plain go build notices edits to the C core in csrc/: the go
# command's build cache must see csrc's .c and .h files, or an edit to them
# is silently left out of every build until go build -a.
#
# It copies the tree to a temporary directory, builds it (filling the build
# cache as any developer's build does), then breaks one csrc source at a
# time and builds again: each broken build must fail. Two edits to aiocore.h
# only the bridge (internal/aiocore) rejects check that it goes through cgo
# again when the header changes: a new field in struct aioc_req, which its
# layout checks catch, and an #error the core's own .c files do not reach,
# which leaves the core's objects as they were. The copy is removed at the
# end.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=$(scripts/go.sh)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
src=$tmp/src
mkdir "$src"

# The files of the tree, without .git, build output or anything ignored.
if git rev-parse --git-dir >/dev/null 2>&1; then
	git ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' f; do
			if [ -e "$f" ]; then printf '%s\0' "$f"; fi
		done |
		tar --null -T - -cf - | tar -xf - -C "$src"
else
	tar --exclude=./.git --exclude=./.bin --exclude=./csrc/build \
		--exclude=./csrc/build-san -cf - . | tar -xf - -C "$src"
fi

# The root package: it imports the bridge, which imports the C core.
build() {
	(cd "$src" && GOWORK=off CGO_ENABLED=1 "$GO" build .) >"$tmp/log" 2>&1
}

if ! build; then
	cat "$tmp/log" >&2
	echo "rebuild-check: the unchanged copy does not build" >&2
	exit 1
fi

failed=0

# expect_failure FILE WHAT [PATTERN]: the build of the copy, with FILE as
# edited by the caller, must fail, and its errors must mention PATTERN if
# given. FILE is restored from $tmp/saved afterwards.
expect_failure() {
	local file=$1 what=$2 pattern=${3:-}
	if build; then
		echo "rebuild-check: FAIL: go build still succeeds after $what in $file:" \
			"the build cache does not see the edit (only go build -a would)" >&2
		failed=1
	elif [ -n "$pattern" ] && ! grep -q -- "$pattern" "$tmp/log"; then
		cat "$tmp/log" >&2
		echo "rebuild-check: FAIL: the build after $what in $file fails, but not in $pattern" >&2
		failed=1
	else
		echo "ok: $what in $file fails go build"
	fi
	cp "$tmp/saved" "$src/$file"
}

# A syntax error at the end of each C source and header of the core.
for f in "$src"/csrc/*.c "$src"/csrc/*.h; do
	file=${f#"$src"/}
	cp "$f" "$tmp/saved"
	printf '\nthis is not C;\n' >>"$f"
	expect_failure "$file" "a syntax error"
done

# A layout change only the bridge's checks catch: one more field at the end
# of struct aioc_req. The C core itself still compiles.
file=csrc/aiocore.h
cp "$src/$file" "$tmp/saved"
sed -i 's/^\(\tint64_t offset;\)$/\1\n\tuint64_t extra;/' "$src/$file"
if cmp -s "$src/$file" "$tmp/saved"; then
	echo "rebuild-check: FAIL: could not find struct aioc_req's offset field in $file" >&2
	exit 1
fi
expect_failure "$file" "a new field in struct aioc_req" "internal/aiocore"

# A change to aiocore.h that only the bridge sees: the core's .c files all
# include internal.h first, which defines AIOCORE_INTERNAL_H, so their
# objects stay as they were; the bridge must be rebuilt all the same.
file=csrc/aiocore.h
cp "$src/$file" "$tmp/saved"
printf '\n#ifndef AIOCORE_INTERNAL_H\n#error "the bridge read the edited header"\n#endif\n' >>"$src/$file"
expect_failure "$file" "an #error only the bridge reaches" "internal/aiocore"

# Restored, the copy builds again.
if ! build; then
	cat "$tmp/log" >&2
	echo "rebuild-check: FAIL: the restored copy does not build" >&2
	failed=1
fi

if [ "$failed" != 0 ]; then
	exit 1
fi
echo "rebuild-check: go build rebuilds the C core and the bridge on every csrc edit"
