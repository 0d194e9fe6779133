#!/usr/bin/env bash
# Prints the path of the go command: the one on PATH, else /usr/local/go's.
if command -v go >/dev/null; then
	command -v go
elif [ -x /usr/local/go/bin/go ]; then
	echo /usr/local/go/bin/go
else
	echo "go.sh: no Go toolchain found; install Go 1.24 or later" >&2
	exit 1
fi
