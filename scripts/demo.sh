#!/usr/bin/env bash
# The main job: read a file with O_DIRECT through kernel AIO and print its
# checksum, IOPS and CPU time. Arguments go to examples/directread
# (-file, -size, -depth, -bs).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
exec "$(scripts/go.sh)" run ./examples/directread "$@"
