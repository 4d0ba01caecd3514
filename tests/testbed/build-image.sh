#!/usr/bin/env bash
# Build the simulated Spark's base image: Debian bookworm with systemd as PID 1.
#
#   tests/testbed/build-image.sh [amd64|arm64]
#
# No container registry is reachable from the test machines, so the root filesystem is made
# with debootstrap from the same Debian mirror the host's apt uses, then imported.
# arm64 (a DGX Spark's architecture) on an x86_64 machine: debootstrap --foreign unpacks the
# packages, and their scripts run in the second stage through qemu (register-qemu.sh).
# The image carries a label with the hash of this script (and of image-archive.py, which writes
# its config); it is rebuilt only when they change (or the image is missing).
set -euo pipefail

arch=${1:-amd64}
case "$arch" in
  amd64) image=${SPARKOPS_TESTBED_IMAGE:-sparkops-testbed:bookworm} ;;
  arm64) image=${SPARKOPS_TESTBED_ARM64_IMAGE:-sparkops-testbed:bookworm-arm64} ;;
  *) echo "build-image.sh: architecture must be amd64 or arm64 (got $arch)" >&2; exit 2 ;;
esac
here=$(cd "$(dirname "$0")" && pwd)
script_hash=$(cat "$here/build-image.sh" "$here/image-archive.py" | sha256sum | cut -c1-16)

current=$(docker image inspect --format '{{ index .Config.Labels "sparkops.testbed.hash" }}' "$image" 2>/dev/null || true)
if [ "$current" = "$script_hash" ]; then
  echo "testbed: image $image is current (hash $script_hash)"
  exit 0
fi

# The mirror the host's own apt sources use (deb822 or one-line format).
mirror=$(grep -hoE '^URIs: *http[^ ]*debian/?$' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1 | awk '{print $2}' || true)
if [ -z "$mirror" ]; then
  mirror=$(grep -hoE '^deb +http[^ ]*debian/? ' /etc/apt/sources.list 2>/dev/null | head -n1 | awk '{print $2}' || true)
fi
mirror=${mirror:-http://deb.debian.org/debian}
security=${mirror%/debian}/debian-security

rootfs=$(mktemp -d /var/tmp/sparkops-rootfs.XXXXXX)
trap 'rm -rf "$rootfs" "$rootfs.tar"' EXIT
log=/var/tmp/sparkops-debootstrap-$arch.log
packages=systemd,systemd-sysv,python3,python3-apt,sudo,dbus,ca-certificates,procps,iproute2,curl

if [ "$arch" = "$(dpkg --print-architecture)" ]; then
  echo "testbed: debootstrap bookworm $arch from $mirror (about 1-2 min)"
  debootstrap --variant=minbase --include="$packages" bookworm "$rootfs" "$mirror" >"$log" 2>&1 || {
    tail -n 30 "$log" >&2; exit 1; }
else
  "$here/register-qemu.sh"
  echo "testbed: debootstrap bookworm $arch from $mirror, second stage through qemu (about 10 min)"
  { debootstrap --arch="$arch" --foreign --variant=minbase --include="$packages" bookworm "$rootfs" "$mirror" \
      && chroot "$rootfs" /debootstrap/debootstrap --second-stage; } >"$log" 2>&1 || {
    tail -n 30 "$log" >&2; exit 1; }
fi

cat >"$rootfs/etc/apt/sources.list" <<SOURCES
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb $security bookworm-security main
SOURCES

# The network between the test machine and the registries re-signs TLS: trust the same
# extra authorities the host trusts, or pip and npm inside the container fail.
if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
  cp /usr/local/share/ca-certificates/*.crt "$rootfs/usr/local/share/ca-certificates/"
  chroot "$rootfs" update-ca-certificates >/dev/null
fi

# A container has no consoles or hardware to manage; these units only fail or wait there.
for unit in getty.target console-getty.service systemd-udevd.service systemd-udev-trigger.service \
            systemd-modules-load.service systemd-remount-fs.service; do
  ln -sf /dev/null "$rootfs/etc/systemd/system/$unit"
done
echo spark01 >"$rootfs/etc/hostname"
# The login user a Spark's owner works as (DGX OS creates one at first boot): Claude Code's
# settings are written into this user's home.
chroot "$rootfs" useradd --create-home --shell /bin/bash --uid 1000 dev
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
# Empty package lists must look old, as on a host never updated, or apt's cache_valid_time
# would trust them.
touch -d @0 "$rootfs/var/lib/apt/lists"

# docker load of an archive that names the architecture (image-archive.py says why not
# docker import).
tar -C "$rootfs" -cf "$rootfs.tar" .
python3 "$here/image-archive.py" "$rootfs.tar" "$arch" "$image" "sparkops.testbed.hash=$script_hash" \
  | docker load >/dev/null
rm -f "$rootfs.tar"
echo "testbed: built $image (hash $script_hash)"
