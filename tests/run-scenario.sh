#!/usr/bin/env bash
# One molecule scenario for `make molecule`, which runs several side by side.
#
#   tests/run-scenario.sh SCENARIO
#
# Each scenario gets its own HOME, because molecule installs the collection under test into
# ~/.ansible/collections before every run: two scenarios sharing one would replace each other's
# copy mid-run. The output goes to a log that is printed whole, under a lock, when the scenario
# ends, so that the logs of parallel scenarios never interleave; one line per scenario is added
# to the summary that make prints at the end.
set -uo pipefail

scenario=$1
logs=${MOLECULE_LOG_DIR:-.cache/molecule-logs}
mkdir -p "$logs" "$logs/home/$scenario"
log=$logs/$scenario.log
started=$(date +%s)

# ANSIBLE_HOME would take the place of ~/.ansible and be shared again.
unset ANSIBLE_HOME
# The arm64 image takes about 10 minutes to build under emulation (when its build script has
# changed): inside its own lane, that time overlaps the other scenarios instead of delaying all.
status=0
: >"$log"
if [ "$scenario" = arm64 ]; then
  "$(dirname "$0")/testbed/build-image.sh" arm64 >>"$log" 2>&1 || {
    status=$?
    echo "run-scenario: the arm64 image was not built (above; debootstrap's whole log: /var/tmp/sparkops-debootstrap-arm64.log)" >>"$log"
  }
fi
if [ "$status" -eq 0 ]; then
  HOME=$(realpath "$logs/home/$scenario") "${MOLECULE:-.venv/bin/molecule}" test -s "$scenario" >>"$log" 2>&1
  status=$?
fi

elapsed=$(($(date +%s) - started))
if [ "$status" -eq 0 ]; then
  verdict="passed in ${elapsed} s"
else
  verdict="FAILED (exit $status) after ${elapsed} s"
fi
{
  flock 9
  echo "===== molecule scenario $scenario: $verdict ====="
  cat "$log"
  echo "===== end of $scenario: $verdict ====="
  echo "$scenario: $verdict" >>"$logs/summary"
} 9>>"$logs/.lock"
# xargs stops handing out scenarios only on 255; any other failure is reported at the end.
[ "$status" -eq 0 ] || exit 1
