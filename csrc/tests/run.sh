#!/bin/sh
# Runs each C test binary given on the command line with a time limit.
# A test exits 0 to pass, 77 to skip (printing why), anything else to fail.
# RUNNER, if set, is a command to run each test under (valgrind, ...).
pass=0 fail=0 skip=0
for t in "$@"; do
	name=$(basename "$t")
	out=$(timeout 60 ${RUNNER:-} "$t" 2>&1)
	rc=$?
	case $rc in
	0) pass=$((pass + 1)); echo "PASS $name" ;;
	77) skip=$((skip + 1)); echo "SKIP $name: $(echo "$out" | tail -n 1)" ;;
	*) fail=$((fail + 1)); echo "FAIL $name (exit $rc)"; echo "$out" | sed 's/^/    /' ;;
	esac
done
echo "C tests: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
