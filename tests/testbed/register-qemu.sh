#!/usr/bin/env bash
# Let this machine run the arm64 simulated Spark (a DGX Spark is arm64): qemu-user-static,
# registered with the kernel's binfmt_misc so that arm64 programs run through qemu.
#
#   tests/testbed/register-qemu.sh
#
# The registration carries flag F (the kernel opens qemu once, at registration): programs in a
# container or a chroot find it although their own filesystem has no qemu. Nothing to do on an
# arm64 machine. Every failure says what is missing and what to do.
set -euo pipefail

case "$(uname -m)" in
  aarch64 | arm64) exit 0 ;;
esac

binfmt=/proc/sys/fs/binfmt_misc
entry=$binfmt/qemu-aarch64
conf=/usr/lib/binfmt.d/qemu-aarch64.conf

fail() {
  echo "testbed: cannot run arm64 programs here: $*" >&2
  echo "testbed: the arm64 lane (molecule/arm64) needs binfmt_misc and qemu-user-static; run the" \
    "other lanes with SCENARIOS=\"...\" leaving arm64 out, or use a machine whose kernel has them" >&2
  exit 1
}

if ! grep -qw binfmt_misc /proc/filesystems; then
  modprobe binfmt_misc 2>/dev/null || true
  grep -qw binfmt_misc /proc/filesystems \
    || fail "the kernel has no binfmt_misc (not in /proc/filesystems, and modprobe binfmt_misc failed)"
fi
# Containers and minimal hosts often leave it unmounted.
if [ ! -e "$binfmt/register" ]; then
  mount -t binfmt_misc binfmt_misc "$binfmt" \
    || fail "binfmt_misc is not mounted at $binfmt and mounting it failed (mount -t binfmt_misc binfmt_misc $binfmt)"
fi

if [ ! -e "$conf" ]; then
  echo "testbed: installing qemu-user-static from the distribution"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q qemu-user-static
  [ -e "$conf" ] || fail "qemu-user-static installed no $conf"
fi

if [ -e "$entry" ]; then
  # Registered before, by this script or by the host (binfmt-support, systemd-binfmt).
  flags=$(sed -n 's/^flags: //p' "$entry")
  if ! grep -qx enabled <(head -n1 "$entry"); then
    fail "$entry is registered but disabled: echo 1 > $entry"
  fi
  if [[ $flags != *F* ]]; then
    fail "$entry is registered without flag F (flags: ${flags:-none}), so containers cannot find qemu:" \
      "echo -1 > $entry, then run this script again"
  fi
  exit 0
fi

# The line the package ships (interpreter, magic and mask), with flag F as its own flags say.
line=$(cat "$conf")
[[ ${line##*:} == *F* ]] || line="${line}F"
printf '%s' "$line" >"$binfmt/register" || fail "the kernel refused the registration line of $conf"
echo "testbed: registered qemu-aarch64 with binfmt_misc (flags: $(sed -n 's/^flags: //p' "$entry"))"
