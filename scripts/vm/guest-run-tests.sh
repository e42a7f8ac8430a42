#!/bin/bash
# Runs INSIDE the VM guest (started by run-vm.sh from scripts/vm/run-guest-tests.mjs): node's
# test runner over $IVM_TEST_FILES (space-separated paths relative to the repo), or
# `node --import tsx $IVM_NODE_ARGS` when that is set (benchmarks); output (TAP) to
# $IVM_OUT/guest.tap, stderr to $IVM_OUT/guest.stderr. node and the repo come from the host's
# read-only root over 9p; the guest's own writes land in its tmpfs overlay (or $IVM_OUT).
set -uo pipefail
cd "$IVM_REPO" || exit 120
export HOME=/tmp TMPDIR=/tmp
echo "IVM: node start uptime=$(cut -d' ' -f1 /proc/uptime)"
# shellcheck disable=SC2086
if [ -n "${IVM_NODE_ARGS:-}" ]; then
  node --import tsx $IVM_NODE_ARGS > "$IVM_OUT/guest.tap" 2> "$IVM_OUT/guest.stderr"
else
  node --import tsx --test --test-reporter=tap --test-concurrency=1 $IVM_TEST_FILES > "$IVM_OUT/guest.tap" 2> "$IVM_OUT/guest.stderr"
fi
rc=$?
echo "IVM: node done rc=$rc uptime=$(cut -d' ' -f1 /proc/uptime)"
exit $rc
