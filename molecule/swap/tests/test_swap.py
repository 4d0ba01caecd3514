"""What a user checks after the swap role ran on the simulated Spark.

The container cannot swapon (the kernel refuses it to unprivileged containers), so activation
is gated off there by the role's virtualization check; everything else is real: the file,
its mode, its signature (blkid), fstab and the sysctl drop-in.
Tests run in file order: state first, then resize, then removal, then bad input.
"""

from __future__ import annotations

import pytest
from conftest import run_playbook

SWAP_PATH = "/swapfile"
SIM_SIZE_MIB = 256  # inventories/simulation/group_vars/spark.yml


def fstab_entries(host, path=SWAP_PATH):
    return [
        line
        for line in host.file("/etc/fstab").content_string.splitlines()
        if line.split() and line.split()[0] == path
    ]


def test_swap_file_has_configured_size_and_root_only_mode(host):
    swap = host.file(SWAP_PATH)
    assert swap.is_file
    assert swap.size == SIM_SIZE_MIB * 1024 * 1024
    assert swap.mode == 0o600
    assert swap.user == "root"


def test_swap_file_carries_a_swap_signature(host):
    probe = host.run(f"blkid --probe --match-tag TYPE --output value {SWAP_PATH}")
    assert probe.stdout.strip() == "swap", probe.stdout + probe.stderr


def test_fstab_has_exactly_one_entry(host):
    assert fstab_entries(host) == [f"{SWAP_PATH} none swap sw 0 0"]


def test_swappiness_dropin_is_a_valid_sysctl_file(host):
    dropin = host.file("/etc/sysctl.d/60-sparkops-swap.conf")
    settings = dict(
        line.split("=", 1)
        for line in dropin.content_string.splitlines()
        if line.strip() and not line.startswith("#")
    )
    assert {k.strip(): v.strip() for k, v in settings.items()} == {"vm.swappiness": "10"}


def test_no_partial_file_left_behind(host):
    assert not host.file(SWAP_PATH + ".partial").exists


def test_resize_recreates_the_file_then_settles(host, scenario_dir):
    converge = scenario_dir / "converge.yml"
    first = run_playbook(converge, {"swap_file_size_mib": 128})
    assert first.returncode == 0, first.describe()
    assert first.changed and first.changed > 0, first.describe()
    assert host.file(SWAP_PATH).size == 128 * 1024 * 1024
    probe = host.run(f"blkid --probe --match-tag TYPE --output value {SWAP_PATH}")
    assert probe.stdout.strip() == "swap"
    assert len(fstab_entries(host)) == 1

    again = run_playbook(converge, {"swap_file_size_mib": 128})
    assert again.returncode == 0, again.describe()
    assert again.changed == 0, again.describe()


def test_duplicate_fstab_entries_are_collapsed_to_one(host, scenario_dir):
    host.run(f"echo '{SWAP_PATH} none swap sw 0 0' >> /etc/fstab")
    assert len(fstab_entries(host)) == 2
    run = run_playbook(scenario_dir / "converge.yml", {"swap_file_size_mib": 128})
    assert run.returncode == 0, run.describe()
    assert len(fstab_entries(host)) == 1


def test_absent_removes_file_fstab_line_and_dropin(host, scenario_dir):
    run = run_playbook(scenario_dir / "converge.yml", {"swap_state": "absent"})
    assert run.returncode == 0, run.describe()
    assert not host.file(SWAP_PATH).exists
    assert fstab_entries(host) == []
    assert not host.file("/etc/sysctl.d/60-sparkops-swap.conf").exists

    again = run_playbook(scenario_dir / "converge.yml", {"swap_state": "absent"})
    assert again.changed == 0, again.describe()


@pytest.mark.parametrize(
    ("extra_vars", "expected_message"),
    [
        ({"swap_file_size_mib": 0}, "swap_file_size_mib a positive number of MiB (got 0)"),
        ({"swap_file_size_mib": -512}, "swap_file_size_mib a positive number of MiB (got -512)"),
        ({"swap_file_size_mib": 64 * 1024 * 1024}, "Not enough free disk"),
        ({"swap_file_path": "/tmp/swapfile"}, "is on tmpfs"),
        ({"swap_file_path": "relative/swapfile"}, "must be an absolute file path"),
        ({"swap_file_size_mib": "lots"}, "swap_file_size_mib"),
    ],
    ids=["zero", "negative", "larger-than-disk", "tmpfs", "relative", "not-a-number"],
)
def test_bad_input_fails_clearly_before_touching_the_host(
    host, scenario_dir, extra_vars, expected_message
):
    fstab_before = host.file("/etc/fstab").content_string
    run = run_playbook(scenario_dir / "converge.yml", extra_vars)
    assert run.returncode != 0, run.describe()
    assert expected_message in " ".join(run.output.split()), run.describe()
    assert run.changed == 0, run.describe()
    assert host.file("/etc/fstab").content_string == fstab_before
    path = extra_vars.get("swap_file_path", SWAP_PATH)
    if path.startswith("/"):
        assert not host.file(path).exists
