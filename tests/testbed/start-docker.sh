#!/usr/bin/env bash
# Make sure a Docker engine answers. Test machines have no systemd, so nothing else starts
# dockerd: install it from the distribution when missing, start it in the background and
# wait for it.
set -euo pipefail

if docker info >/dev/null 2>&1; then
  exit 0
fi

if ! command -v dockerd >/dev/null 2>&1 || ! command -v debootstrap >/dev/null 2>&1; then
  echo "testbed: installing docker.io and debootstrap from the distribution"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q docker.io debootstrap
fi

log=${DOCKERD_LOG:-/var/log/sparkops-testbed-dockerd.log}
echo "testbed: starting dockerd (log: $log)"
nohup dockerd >"$log" 2>&1 &

for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then
    echo "testbed: dockerd is up"
    exit 0
  fi
  sleep 1
done
echo "testbed: dockerd did not answer within 60 s; last lines of $log:" >&2
tail -n 20 "$log" >&2
exit 1
