"""What a user checks after the swap role ran on the simulated Spark.

The container cannot swapon (the kernel refuses it to unprivileged containers), so activation
is gated off there by the role's virtualization check; everything else is real: the file,
its mode, its signature (blkid), fstab and the sysctl drop-in.
Tests run in file order: state first, then resize, then removal, then bad input, then what
may already be at swap_file_path (only a swap file is adopted; everything else is refused).
"""

from __future__ import annotations

import json
import shlex

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


def test_the_role_records_the_swap_file_it_made(host):
    record = host.file("/var/lib/sparkops/swap.json")
    assert record.mode == 0o600
    data = json.loads(record.content_string)
    assert data["path"] == SWAP_PATH and data["partial"] is None
    assert data["inode"] == int(host.run(f"stat -c %i {SWAP_PATH}").stdout)


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


# --- what is already at swap_file_path: only a swap file may be adopted, nothing else touched --

SMALL_MIB = 8  # the wanted size in the cases below, small enough to write random data quickly


def snapshot(host, path):
    """Everything a refused run must leave as it was: fstab, the path (never followed) with its
    type, size and checksum, what a directory holds, and the partial-file name beside it."""
    quoted = shlex.quote(path)
    return {
        "fstab": host.file("/etc/fstab").content_string,
        "path": host.run(f"stat -c '%F %s %i %a' {quoted}").stdout,
        "sha": host.run(f"test -f {quoted} && ! test -L {quoted} && sha256sum {quoted}").stdout,
        "tree": host.run(
            f"test -d {quoted} && ! test -L {quoted}"
            f" && find {quoted} -type f -exec sha256sum {{}} +"
        ).stdout,
        "partial": host.run(f"stat -c '%F %s' {quoted}.partial").stdout,
        "dropin": host.file("/etc/sysctl.d/60-sparkops-swap.conf").exists,
    }


def make_directory_with_sentinel(host):
    host.run("mkdir -p /data-swaptest && echo precious > /data-swaptest/sentinel")
    return "/data-swaptest", "is a directory holding 1 entry"


def make_data_file_of_the_wanted_size(host):
    host.run(f"head -c {SMALL_MIB}M /dev/urandom > /srv/data.img")
    return "/srv/data.img", f"is a regular file of {SMALL_MIB} MiB (blkid finds no swap signature)"


def make_data_file_of_another_size(host):
    host.run("echo important > /srv/notes.txt")
    return "/srv/notes.txt", "is a regular file of 10 bytes"


def make_link_to_a_swap_file(host):
    host.run(
        "fallocate -l 8M /srv/real-swap && chmod 600 /srv/real-swap && mkswap /srv/real-swap"
        " && ln -sfn /srv/real-swap /srv/swap-link"
    )
    return "/srv/swap-link", "is a symbolic link to '/srv/real-swap'"


def make_link_to_another_file(host):
    host.run("ln -sfn /etc/hostname /srv/hostname-link")
    return "/srv/hostname-link", "is a symbolic link to '/etc/hostname'"


def the_bind_mounted_hosts_file(host):
    # docker bind-mounts /etc/hosts into the container: a mount point that is a regular file.
    return "/etc/hosts", "is a mount point (a regular file of"


@pytest.mark.parametrize("check", [False, True], ids=["run", "check"])
@pytest.mark.parametrize(
    "make",
    [
        make_directory_with_sentinel,
        make_data_file_of_the_wanted_size,
        make_data_file_of_another_size,
        make_link_to_a_swap_file,
        make_link_to_another_file,
        the_bind_mounted_hosts_file,
    ],
    ids=[
        "directory",
        "data-file-wanted-size",
        "data-file-other-size",
        "link-to-swap",
        "link-to-file",
        "mount-point",
    ],
)
def test_what_is_not_a_swap_file_is_refused_and_left_exactly_as_it_was(
    host, scenario_dir, make, check
):
    path, what = make(host)
    before = {p: snapshot(host, p) for p in (path, "/srv/real-swap")}
    run = run_playbook(
        scenario_dir / "converge.yml",
        {"swap_file_path": path, "swap_file_size_mib": SMALL_MIB},
        *(["--check"] if check else []),
    )
    message = " ".join(run.output.split())
    assert run.returncode != 0, run.describe()
    assert f"swap_file_path '{path}' {what}" in message, run.describe()
    assert "Set swap_file_path to" in message, run.describe()
    assert run.changed == 0, run.describe()
    assert {p: snapshot(host, p) for p in (path, "/srv/real-swap")} == before


def test_absent_refuses_a_directory_and_keeps_its_content(host, scenario_dir):
    path, what = make_directory_with_sentinel(host)
    before = snapshot(host, path)
    run = run_playbook(
        scenario_dir / "converge.yml", {"swap_file_path": path, "swap_state": "absent"}
    )
    assert run.returncode != 0, run.describe()
    assert f"swap_file_path '{path}' {what}" in " ".join(run.output.split()), run.describe()
    assert snapshot(host, path) == before
    assert host.file("/data-swaptest/sentinel").content_string == "precious\n"


def fstab_swap_sources(host):
    """The swap entries of fstab as util-linux parses them (what swapon -a and systemd read)."""
    listed = host.run("findmnt --fstab --json --types swap --output SOURCE")
    if listed.rc == 1 and not listed.stdout:  # findmnt: no entries
        return []
    assert listed.rc == 0, listed.stderr
    return [entry["source"] for entry in json.loads(listed.stdout)["filesystems"]]


def test_a_path_with_a_space_gets_an_escaped_fstab_line_util_linux_reads_back(host, scenario_dir):
    path = "/srv/my swap"
    extra = {"swap_file_path": path, "swap_file_size_mib": SMALL_MIB}
    run = run_playbook(scenario_dir / "converge.yml", extra)
    assert run.returncode == 0, run.describe()
    assert "/srv/my\\040swap none swap sw 0 0" in host.file("/etc/fstab").content_string
    assert path in fstab_swap_sources(host)
    probe = host.run(f"blkid --probe --match-tag TYPE --output value {shlex.quote(path)}")
    assert probe.stdout.strip() == "swap"
    again = run_playbook(scenario_dir / "converge.yml", extra)
    assert again.changed == 0, again.describe()

    gone = run_playbook(scenario_dir / "converge.yml", {**extra, "swap_state": "absent"})
    assert gone.returncode == 0, gone.describe()
    assert not host.file(path).exists
    assert path not in fstab_swap_sources(host)


def test_a_users_swap_file_of_another_size_is_adopted_and_resized(host, scenario_dir):
    path = "/srv/user-swap"
    host.run(f"fallocate -l 4M {path} && chmod 644 {path} && mkswap {path}")
    extra = {"swap_file_path": path, "swap_file_size_mib": SMALL_MIB}
    run = run_playbook(scenario_dir / "converge.yml", extra)
    assert run.returncode == 0, run.describe()
    swap = host.file(path)
    assert swap.size == SMALL_MIB * 1024 * 1024 and swap.mode == 0o600
    probe = host.run(f"blkid --probe --match-tag TYPE --output value {path}")
    assert probe.stdout.strip() == "swap"
    assert not host.file(path + ".partial").exists
    assert fstab_swap_sources(host).count(path) == 1
    again = run_playbook(scenario_dir / "converge.yml", extra)
    assert again.changed == 0, again.describe()

    gone = run_playbook(scenario_dir / "converge.yml", {**extra, "swap_state": "absent"})
    assert gone.returncode == 0, gone.describe()
    assert not host.file(path).exists


def test_a_run_killed_while_allocating_is_repaired_by_the_next(host, scenario_dir):
    path = "/srv/interrupted-swap"
    # What a run killed during allocation leaves: the record naming the partial file (written
    # before allocating), a half-written partial file, and nothing at the swap file's path.
    record = {"path": path, "partial": path + ".partial"}
    host.run(
        f"mkdir -p /var/lib/sparkops && echo {shlex.quote(json.dumps(record))}"
        f" > /var/lib/sparkops/swap.json && head -c 1M /dev/zero > {path}.partial"
    )
    extra = {"swap_file_path": path, "swap_file_size_mib": SMALL_MIB}
    run = run_playbook(scenario_dir / "converge.yml", extra)
    assert run.returncode == 0, run.describe()
    assert host.file(path).size == SMALL_MIB * 1024 * 1024
    assert not host.file(path + ".partial").exists
    probe = host.run(f"blkid --probe --match-tag TYPE --output value {path}")
    assert probe.stdout.strip() == "swap"

    gone = run_playbook(scenario_dir / "converge.yml", {**extra, "swap_state": "absent"})
    assert gone.returncode == 0, gone.describe()
    assert not host.file(path).exists
    assert not host.file("/var/lib/sparkops/swap.json").exists
