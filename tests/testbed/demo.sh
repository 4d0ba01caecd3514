#!/usr/bin/env bash
# make demo: boot the simulated Spark "spark01" (a systemd container from the test-bed image)
# and run the real entry point against it: ansible-playbook site.yml -l spark01.
# The container keeps running afterwards so that you can look around:
#   docker exec -it spark01 bash        make demo-clean removes it.
set -euo pipefail

cd "$(dirname "$0")/../.."
image=${SPARKOPS_TESTBED_IMAGE:-sparkops-testbed:bookworm}
name=spark01

# Same container settings as the molecule platform (.config/molecule/config.yml): systemd as
# PID 1 without --privileged, which fails on the test machines.
if [ "$(docker inspect --format '{{.State.Running}} {{.Image}}' "$name" 2>/dev/null)" != \
     "true $(docker image inspect --format '{{.Id}}' "$image")" ]; then
  docker rm -f "$name" >/dev/null 2>&1 || true
  echo "demo: starting the simulated Spark '$name'"
  docker run --detach --name "$name" --hostname "$name" \
    --cap-add SYS_ADMIN --cap-add NET_ADMIN \
    --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
    --cgroupns host --volume /sys/fs/cgroup:/sys/fs/cgroup:rw \
    --volume "${SPARKOPS_CCACHE_DIR:-$HOME/.cache/sparkops/ccache}:/var/cache/sparkops/ccache:rw" \
    --tmpfs /run --tmpfs /run/lock --tmpfs /tmp \
    --stop-signal SIGRTMIN+3 \
    "$image" /lib/systemd/systemd >/dev/null
else
  echo "demo: reusing the running simulated Spark '$name'"
fi

state=$(docker exec "$name" systemctl is-system-running --wait || true)
echo "demo: systemd in $name is $state"

# The working tree itself is the collection (see ansible.cfg); a copy molecule installed under
# ~/.ansible must not shadow it.
export ANSIBLE_COLLECTIONS_PATH="$PWD/.cache/collections"
export ANSIBLE_INJECT_FACT_VARS=false
# The mirror that stands in for the Hugging Face Hub: the tiny model, on spark01's own loopback.
ansible-playbook -i inventories/simulation/hosts.yml tests/testbed/serve-model.yml -l "$name"
ansible-playbook -i inventories/simulation/hosts.yml site.yml -l "$name"

echo
echo "=== What spark01 has now ==="
docker exec "$name" bash -c '
  echo "--- swap file";  ls -l /swapfile; blkid --probe /swapfile
  echo "--- fstab";      grep -v "^#" /etc/fstab
  echo "--- sysctl";     cat /etc/sysctl.d/60-sparkops-swap.conf | grep -v "^#"
  echo "--- engine";     systemctl --no-pager --lines=0 status sparkops-llama-server | head -n 3
  echo "--- POST /v1/messages on port 8005"
  curl -s http://127.0.0.1:8005/v1/messages -H "content-type: application/json" \
    -H "anthropic-version: 2023-06-01" \
    -d "{\"model\": \"testbed-harmony\", \"max_tokens\": 64, \"messages\": [{\"role\": \"user\", \"content\": \"Say hello.\"}]}"
  echo
  echo "--- Claude Code settings of the login user dev (/home/dev/.claude/settings.json)"
  cat /home/dev/.claude/settings.json
  if [ -f /etc/ansible/facts.d/sparkops.fact ]; then
    echo "--- local facts (/etc/ansible/facts.d/sparkops.fact)"; cat /etc/ansible/facts.d/sparkops.fact
  fi
'
