"""What a user checks on the simulated Spark after `ansible-playbook site.yml -l spark01`.

Grows with the roles: each role that joins site.yml adds the checks a user would make.
"""

from __future__ import annotations


def test_swap_file_is_ready_and_listed_once_in_fstab(host):
    swap = host.file("/swapfile")
    assert swap.is_file and swap.mode == 0o600
    probe = host.run("blkid --probe --match-tag TYPE --output value /swapfile")
    assert probe.stdout.strip() == "swap"
    entries = [
        line
        for line in host.file("/etc/fstab").content_string.splitlines()
        if line.split()[:1] == ["/swapfile"]
    ]
    assert len(entries) == 1
