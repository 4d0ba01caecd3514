#!/usr/bin/env bash
# Provisioning and build time on the simulated Spark, each figure from one run:
#   1. a fresh converge: `make demo-clean`, then tests/testbed/demo.sh (boot spark01 and run
#      site.yml on it): wall time and changed count;
#   2. a no-op re-run of site.yml: wall time and changed count (must be 0);
#   3. the llama_cpp role's build with an empty ccache (fresh) against the same build with the
#      shared ccache warm (cached), forced by a cmake define that changes only the build stamp.
# Run from the repository root after `make testbed`. Writes bench/results/provisioning.json.
#
#   bench/provisioning.sh noop [RUNS]   only step 2, RUNS times (default 3), on the spark01 that
#       `make demo` left running: each run's wall time and changed count, and the median, in
#       bench/results/provisioning-noop.json. With the task profile (ansible.posix.profile_tasks)
#       in bench/results/provision-noop-<n>.log, to see where the time goes.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
export ANSIBLE_COLLECTIONS_PATH="$PWD/.cache/collections" ANSIBLE_INJECT_FACT_VARS=false
export ANSIBLE_NOCOLOR=1
results=bench/results
mkdir -p "$results"
inventory=inventories/simulation/hosts.yml

seconds_of() {  # seconds_of LOG command...: run, log, print wall seconds
  local log=$1; shift
  local start end
  start=$(date +%s.%N)
  "$@" >"$log" 2>&1
  end=$(date +%s.%N)
  python3 -c "print(round($end - $start, 1))"
}
changed_in() {  # the changed= count of spark01's PLAY RECAP lines, summed
  { grep -E '^spark01 +: ' "$1" | sed -E 's/.*changed=([0-9]+).*/\1/'; echo 0; } \
    | paste -sd+ - | python3 -c 'print(eval(input()))'
}

if [ "${1:-}" = noop ]; then
  runs=${2:-3}
  docker inspect --format '{{.State.Running}}' spark01 2>/dev/null | grep -qx true \
    || { echo "provisioning.sh noop: no spark01 is running; run make demo first" >&2; exit 2; }
  times=() changes=()
  for n in $(seq 1 "$runs"); do
    log="$results/provision-noop-$n.log"
    times+=("$(ANSIBLE_CALLBACKS_ENABLED=ansible.posix.profile_tasks seconds_of "$log" \
      ansible-playbook -i "$inventory" site.yml -l spark01)")
    changes+=("$(changed_in "$log")")
    echo "no-op re-run $n: ${times[-1]} s, ${changes[-1]} changed"
  done
  python3 - "$results/provisioning-noop.json" "${times[*]}" "${changes[*]}" <<'PY'
import json, statistics, sys
times = [float(t) for t in sys.argv[2].split()]
changes = [int(c) for c in sys.argv[3].split()]
figures = {"noop_rerun_s": times, "noop_rerun_changed": changes,
           "noop_rerun_median_s": statistics.median(times)}
json.dump(figures, open(sys.argv[1], "w"), indent=2)
print(json.dumps(figures))
PY
  exit 0
fi

make demo-clean >/dev/null
fresh_s=$(seconds_of "$results/provision-fresh.log" tests/testbed/demo.sh)
fresh_changed=$(changed_in "$results/provision-fresh.log")
noop_s=$(seconds_of "$results/provision-noop.log" \
  ansible-playbook -i "$inventory" site.yml -l spark01)
noop_changed=$(changed_in "$results/provision-noop.log")

nonce=$(date +%s)
build() {  # build LABEL CCACHE_DIR: the llama_cpp role alone, with a new stamp
  ansible-playbook -i "$inventory" playbooks/llama_cpp.yml -l spark01 \
    -e "{\"llama_cpp_cmake_extra_args\": [\"-DSPARKOPS_BENCH_NONCE=$nonce-$1\"],
         \"llama_cpp_ccache_dir\": \"$2\"}"
}
build_fresh_s=$(seconds_of "$results/build-fresh.log" build fresh "/var/tmp/empty-ccache-$nonce")
build_cached_s=$(seconds_of "$results/build-cached.log" build cached /var/cache/sparkops/ccache)
docker exec spark01 rm -rf "/var/tmp/empty-ccache-$nonce"
# Back to the build site.yml expects, so the demo keeps serving what it installed.
ansible-playbook -i "$inventory" playbooks/llama_cpp.yml -l spark01 >/dev/null 2>&1

python3 - "$results/provisioning.json" <<PY
import json, sys
figures = {
    "fresh_converge_s": $fresh_s, "fresh_converge_changed": $fresh_changed,
    "noop_rerun_s": $noop_s, "noop_rerun_changed": $noop_changed,
    "noop_over_fresh": round($noop_s / $fresh_s, 3),
    "build_fresh_s": $build_fresh_s, "build_cached_s": $build_cached_s,
    "cached_over_fresh": round($build_cached_s / $build_fresh_s, 3),
    "cpus": $(nproc),
}
json.dump(figures, open(sys.argv[1], "w"), indent=2)
print(json.dumps(figures, indent=2))
PY
