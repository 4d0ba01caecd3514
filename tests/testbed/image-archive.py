#!/usr/bin/env python3
"""Wrap a root filesystem tarball into an image archive that `docker load` reads.

    image-archive.py ROOTFS_TAR ARCHITECTURE TAG LABEL=VALUE... > image.tar

`docker import --platform` records the architecture only on a daemon in experimental mode
(Docker 20.10, Debian 12's): without it, an arm64 root filesystem is labelled amd64 and
`docker run --platform linux/arm64` refuses it. The archive is the layout of `docker save`
(manifest.json, the image config, one layer), with the architecture in the config, so the
daemon stores what the image really is. The config has the command, environment and labels
build-image.sh gives the amd64 image through `docker import -c`.
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
import tarfile
import time


def sha256_of(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(time.time())
    archive.addfile(info, io.BytesIO(data))


def main(rootfs_tar: str, architecture: str, tag: str, *labels: str) -> None:
    layer_id = sha256_of(rootfs_tar)
    config = {
        "architecture": architecture,
        "os": "linux",
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "config": {
            "Cmd": ["/lib/systemd/systemd"],
            "Env": ["container=docker"],
            "Labels": dict(label.split("=", 1) for label in labels),
        },
        "rootfs": {"type": "layers", "diff_ids": [f"sha256:{layer_id}"]},
        "history": [{"created_by": "tests/testbed/build-image.sh (debootstrap)"}],
    }
    config_bytes = json.dumps(config, sort_keys=True).encode()
    config_name = hashlib.sha256(config_bytes).hexdigest() + ".json"
    manifest = [{"Config": config_name, "RepoTags": [tag], "Layers": [f"{layer_id}/layer.tar"]}]
    with tarfile.open(fileobj=sys.stdout.buffer, mode="w|") as archive:
        add_bytes(archive, config_name, config_bytes)
        archive.add(rootfs_tar, arcname=f"{layer_id}/layer.tar")
        add_bytes(archive, "manifest.json", json.dumps(manifest).encode())


if __name__ == "__main__":
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
