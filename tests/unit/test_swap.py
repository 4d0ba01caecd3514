"""The swap role's decisions: it replaces or removes only a swap file (or its own recorded file),
refuses everything else with a message naming the variable, writes fstab lines every reader
parses back, and never leaves a half-made file in place of the swap file."""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import os
import stat
import sys
from pathlib import Path

import pytest
from ansible_collections.sparkops.llm.plugins.module_utils import swap
from ansible_collections.sparkops.llm.plugins.module_utils.swap import (
    MIB,
    Existing,
    disk_refusal,
    existing_from_stat,
    fstab_escape,
    fstab_line,
    parse_mem_available_kib,
    parse_mount_points,
    parse_proc_swaps,
    parse_record,
    partial_refusal,
    path_refusal,
    plan_absent,
    plan_present,
    record_for,
    recorded_as_own,
    swapoff_refusal,
    unescape,
    update_fstab,
)
from ansible_collections.sparkops.llm.plugins.modules import swap_file as swap_module

LABEL = "swap_file_path"
LABELS = {
    "path": "swap_file_path",
    "size_mib": "swap_file_size_mib",
    "min_free_after_mib": "swap_min_free_after_mib",
}
WANTED = 256 * MIB

# /proc/self/mountinfo of the simulated Spark (docker, captured), plus a mount point whose
# name holds a space, as the kernel escapes it.
MOUNTINFO = (
    "75 51 0:40 / / rw,relatime master:2 - overlay overlay rw,lowerdir=/var/lib/docker/l/A\n"
    "76 75 0:43 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw\n"
    "77 75 0:44 / /dev rw,nosuid - tmpfs tmpfs rw,size=65536k,mode=755\n"
    "94 75 254:0 /var/lib/docker/containers/f900/hosts /etc/hosts rw,relatime - ext4 /dev/vda "
    "rw,discard\n"
    "95 75 254:1 / /mnt/big\\040disk rw,relatime - ext4 /dev/vdb rw\n"
)
# /proc/swaps as the kernel writes it (seq_file_path escapes " \t\n\\"); Size and Used in KiB.
PROC_SWAPS = (
    "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
    "/swapfile                               file\t\t16777212\t1048576\t\t-2\n"
    "/swap\\040file                           file\t\t262140\t\t0\t\t-3\n"
    "/old\\040(deleted)                       file\t\t262140\t\t12\t\t-4\n"
    "/dev/nvme0n1p3                          partition\t8388604\t\t0\t\t-5\n"
)


def swap_file(size=WANTED, **kw) -> Existing:
    return Existing(kind="regular file", size=size, device=2049, inode=12, ctime_ns=7, **kw)


# --- the path ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/swapfile", "/data/swap file", "/srv/swap\\file", "/a\tb"])
def test_paths_fstab_can_escape_are_accepted(path):
    assert path_refusal(path, LABEL) is None


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/swap\nfile", "control character '\\n'"),
        ("/swap\rfile", "control character '\\r'"),
        ("/data/", "ends in a slash"),
        ("/", "ends in a slash"),
        ("/data/../swapfile", "Write it as '/swapfile'"),
        ("/data//swapfile", "Write it as '/data/swapfile'"),
        ("swapfile", "must be an absolute path"),
    ],
)
def test_paths_that_would_break_fstab_or_mislead_are_refused_naming_the_variable(path, expected):
    message = path_refusal(path, LABEL)
    assert message is not None and message.startswith(LABEL)
    assert expected in message


# --- fstab ------------------------------------------------------------------------------------


def getmntent_specs(path: Path) -> list[tuple[str, str]]:
    """(spec, type) of each fstab entry as glibc's own parser reads them."""

    class Mntent(ctypes.Structure):
        _fields_ = [
            ("mnt_fsname", ctypes.c_char_p),
            ("mnt_dir", ctypes.c_char_p),
            ("mnt_type", ctypes.c_char_p),
            ("mnt_opts", ctypes.c_char_p),
            ("mnt_freq", ctypes.c_int),
            ("mnt_passno", ctypes.c_int),
        ]

    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    libc.setmntent.restype = ctypes.c_void_p
    libc.setmntent.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    libc.getmntent.restype = ctypes.POINTER(Mntent)
    libc.getmntent.argtypes = [ctypes.c_void_p]
    libc.endmntent.argtypes = [ctypes.c_void_p]
    stream = libc.setmntent(str(path).encode(), b"r")
    entries = []
    while True:
        entry = libc.getmntent(stream)
        if not entry:
            break
        entries.append((entry.contents.mnt_fsname.decode(), entry.contents.mnt_type.decode()))
    libc.endmntent(stream)
    return entries


@pytest.mark.parametrize("path", ["/swapfile", "/data/my swap file", "/srv/back\\slash", "/t\tab"])
def test_fstab_line_reads_back_as_the_path_with_glibc(tmp_path, path):
    fstab = tmp_path / "fstab"
    fstab.write_text("# <file system> <mount point> <type>\n" + fstab_line(path) + "\n")
    assert getmntent_specs(fstab) == [(path, "swap")]
    assert len(fstab_line(path).split()) == 6


def test_space_is_written_as_octal_040():
    assert fstab_escape("/data/my swap") == "/data/my\\040swap"
    assert fstab_line("/data/my swap") == "/data/my\\040swap none swap sw 0 0"


def test_update_adds_one_line_and_keeps_everything_else_exactly():
    before = "# static\nUUID=abc / ext4 errors=remount-ro 0 1\n\n/dev/sdb1 /data ext4 defaults 0 2"
    after = update_fstab(before, "/swapfile", present=True)
    assert after == before + "\n/swapfile none swap sw 0 0\n"
    assert update_fstab(after, "/swapfile", present=True) == after


def test_duplicates_collapse_into_the_first_ones_place():
    before = (
        "/swapfile none swap sw 0 0\nUUID=abc / ext4 defaults 0 1\n"
        "/swapfile  none swap sw,pri=5 0 0\n"
    )
    assert update_fstab(before, "/swapfile", present=True) == (
        "/swapfile none swap sw 0 0\nUUID=abc / ext4 defaults 0 1\n"
    )


def test_only_swap_lines_of_this_path_are_touched():
    before = (
        "#/swapfile none swap sw 0 0\n"
        "/swapfile /mnt/loop ext4 loop 0 0\n"
        "/swapfile2 none swap sw 0 0\n"
        "/dev/sdb1 /data ext4 defaults 0 2\n"
    )
    assert update_fstab(before, "/swapfile", present=False) == before
    assert update_fstab(before, "/data", present=False) == before


def test_absent_removes_the_escaped_line_of_a_path_with_a_space():
    before = "UUID=abc / ext4 defaults 0 1\n/my\\040swap none swap sw 0 0\n"
    assert update_fstab(before, "/my swap", present=False) == "UUID=abc / ext4 defaults 0 1\n"


def test_an_unescaped_line_left_by_an_earlier_version_is_replaced_by_the_escaped_one():
    before = "/my swap none swap sw 0 0\nUUID=abc / ext4 defaults 0 1\n"
    assert update_fstab(before, "/my swap", present=True) == (
        "/my\\040swap none swap sw 0 0\nUUID=abc / ext4 defaults 0 1\n"
    )


# --- /proc ------------------------------------------------------------------------------------


def test_proc_swaps_gives_used_kib_by_unescaped_path_and_never_a_deleted_file():
    areas = parse_proc_swaps(PROC_SWAPS)
    assert areas == {
        "/swapfile": 1048576,
        "/swap file": 0,
        "/old (deleted)": 12,
        "/dev/nvme0n1p3": 0,
    }
    assert "/old" not in areas


def test_proc_swaps_without_areas_is_empty():
    assert parse_proc_swaps("Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n") == {}


def test_mem_available_from_the_spark_meminfo(fixture_text):
    assert parse_mem_available_kib(fixture_text("meminfo_gb10.txt")) == 121544128
    assert parse_mem_available_kib("MemTotal: 1 kB\n") is None


def test_mount_points_include_bind_mounted_files_and_unescape_spaces():
    points = parse_mount_points(MOUNTINFO)
    assert {"/", "/proc", "/dev", "/etc/hosts", "/mnt/big disk"} == points
    assert unescape("/mnt/big\\040disk\\011x\\134y") == "/mnt/big disk\tx\\y"


# --- what the role may do with what is at the path --------------------------------------------


def test_nothing_there_is_created():
    assert plan_present("/swapfile", Existing(), {}, WANTED, LABEL).action == "create"


def test_a_swap_file_of_the_wanted_size_is_kept_and_of_another_size_replaced():
    assert plan_present("/swapfile", swap_file(swap_type="swap"), {}, WANTED, LABEL).action == (
        "keep"
    )
    other = swap_file(size=128 * MIB, swap_type="swap")
    assert plan_present("/swapfile", other, {}, WANTED, LABEL).action == "replace"


@pytest.mark.parametrize(
    ("existing", "what"),
    [
        (Existing(kind="directory", entries=3), "is a directory holding 3 entries"),
        (Existing(kind="directory", entries=1), "is a directory holding 1 entry"),
        (Existing(kind="symbolic link", link_target="/swap.real"), "symbolic link to '/swap.real'"),
        (Existing(kind="block device"), "is a block device"),
        (Existing(kind="named pipe"), "is a named pipe"),
        (swap_file(swap_type="swap", mount_point=True), "is a mount point"),
        (Existing(kind="directory", mount_point=True), "is a mount point"),
        (swap_file(), "blkid finds no swap signature"),
        (swap_file(size=5, swap_type="ext4"), "a regular file of 5 bytes (blkid finds TYPE=ext4)"),
        (swap_file(swap_type="swsuspend"), "TYPE=swsuspend"),
    ],
    ids=[
        "directory",
        "directory-one",
        "symlink",
        "block-device",
        "fifo",
        "mounted-swap-file",
        "mounted-directory",
        "data-file-of-wanted-size",
        "ext4-image",
        "hibernation-image",
    ],
)
def test_anything_but_a_swap_file_is_refused_naming_the_variable_path_and_what_is_there(
    existing, what
):
    for plan in (
        plan_present("/data", existing, {}, WANTED, LABEL),
        plan_absent("/data", existing, {}, LABEL),
    ):
        assert plan.action == "refuse"
        assert plan.message.startswith("swap_file_path '/data' ")
        assert what in plan.message
        assert "Set swap_file_path" in plan.message


def test_a_directory_refusal_suggests_a_file_inside_it():
    plan = plan_present("/data", Existing(kind="directory", entries=2), {}, WANTED, LABEL)
    assert "for example '/data/swapfile'" in plan.message


def test_the_recorded_file_is_the_roles_own_even_without_its_signature():
    existing = swap_file()
    record = record_for("/swapfile", existing)
    assert recorded_as_own(record, "/swapfile", existing)
    assert plan_present("/swapfile", existing, record, WANTED, LABEL).action == "replace"
    assert plan_absent("/swapfile", existing, record, LABEL).action == "remove"


@pytest.mark.parametrize("field", ["inode", "device", "size", "ctime_ns", "path"])
def test_a_file_that_only_resembles_the_record_is_not_the_roles_own(field):
    existing = swap_file()
    record = record_for("/swapfile", existing)
    record[field] = "/other" if field == "path" else record[field] + 1
    assert not recorded_as_own(record, "/swapfile", existing)
    assert plan_present("/swapfile", existing, record, WANTED, LABEL).action == "refuse"


def test_absent_with_nothing_there_does_nothing():
    assert plan_absent("/swapfile", Existing(), {}, LABEL).action == "none"


def test_something_unrecorded_at_the_partial_name_is_refused():
    message = partial_refusal("/swapfile.partial", swap_file(size=3), None, LABEL)
    assert message is not None and "'/swapfile.partial'" in message and LABEL in message
    assert partial_refusal("/swapfile.partial", Existing(), None, LABEL) is None


def test_the_recorded_partial_is_removable_only_while_it_is_a_regular_file():
    assert partial_refusal("/swapfile.partial", swap_file(size=3), "/swapfile.partial", LABEL) is (
        None
    )
    directory = Existing(kind="directory")
    assert partial_refusal("/swapfile.partial", directory, "/swapfile.partial", LABEL)


# --- disk and memory --------------------------------------------------------------------------


def test_the_new_file_must_fit_beside_the_old_one():
    # 300 MiB free, 256 MiB wanted, 64 MiB to keep: the old file's space does not count.
    message = disk_refusal("/swapfile", WANTED, 300 * MIB, 64 * MIB, 0, "/", LABELS)
    assert message is not None
    assert "300 MiB free on /, 320 MiB needed" in message
    assert "swap_min_free_after_mib=64" in message
    assert "Lower swap_file_size_mib or set swap_file_path" in message
    assert disk_refusal("/swapfile", WANTED, 320 * MIB, 64 * MIB, 0, "/", LABELS) is None


def test_a_recorded_partial_files_space_counts_as_free():
    assert disk_refusal("/swapfile", WANTED, 300 * MIB, 64 * MIB, 20 * MIB, "/", LABELS) is None


def test_swapoff_refusal_names_used_and_available_memory():
    message = swapoff_refusal("/swapfile", 8 * 1024 * 1024, 6 * 1024 * 1024, "or keep it")
    assert message is not None
    assert "8192 MiB of it are in use" in message
    assert "6144 MiB of memory are available" in message
    assert message.endswith("or keep it.")


def test_swapoff_is_allowed_when_the_pages_fit_with_the_reserve():
    used = 1024 * 1024
    assert swapoff_refusal("/swapfile", used, used + swap.SWAPOFF_RESERVE_KIB, "x") is None
    assert swapoff_refusal("/swapfile", used, used + swap.SWAPOFF_RESERVE_KIB - 1, "x")
    assert swapoff_refusal("/swapfile", 0, None, "x") is None
    assert "no MemAvailable" in swapoff_refusal("/swapfile", 5, None, "x")


def test_a_broken_record_fails_naming_the_file():
    with pytest.raises(swap.SwapRecordError, match="/var/lib/sparkops/swap.json"):
        parse_record("{nope", "/var/lib/sparkops/swap.json")
    assert parse_record(None, "/r.json") == {}


def test_existing_from_stat_reads_kind_size_and_identity(tmp_path):
    target = tmp_path / "f"
    target.write_bytes(b"x" * 10)
    existing = existing_from_stat(os.lstat(target), swap_type="")
    assert (existing.kind, existing.size, existing.inode) == (
        "regular file",
        10,
        target.stat().st_ino,
    )
    (tmp_path / "l").symlink_to(target)
    assert existing_from_stat(os.lstat(tmp_path / "l")).kind == "symbolic link"
    assert existing_from_stat(None).kind == "missing"


# --- the module on a temporary folder ---------------------------------------------------------

SIGNATURE_OFFSET = 4096 - 10
FAKE_MKSWAP = f"""exec {sys.executable} -c '
import os, sys
if os.environ.get("FAKE_MKSWAP_FAIL"):
    sys.exit("mkswap: fake failure")
with open(sys.argv[1], "r+b") as f:
    f.seek({SIGNATURE_OFFSET})
    f.write(b"SWAPSPACE2")
' "$@"
"""
FAKE_BLKID = f"""exec {sys.executable} -c '
import sys
with open(sys.argv[-1], "rb") as f:
    f.seek({SIGNATURE_OFFSET})
    if f.read(10) == b"SWAPSPACE2":
        print("swap")
        sys.exit(0)
sys.exit(2)
' "$@"
"""


@pytest.fixture
def host(tmp_path, fake_bin, monkeypatch):
    """A temporary folder standing in for /, fake swap tools, and /proc as the test says."""
    log = tmp_path / "commands.log"
    fake_bin("mkswap", f'echo "mkswap $*" >> {log}\n' + FAKE_MKSWAP)
    fake_bin("blkid", FAKE_BLKID)
    fake_bin("swapon", f'echo "swapon $*" >> {log}\n')
    fake_bin("swapoff", f'echo "swapoff $*" >> {log}\n')
    proc = {"/proc/swaps": "Filename\tType\tSize\tUsed\tPriority\n", "/proc/meminfo": ""}
    real_read = swap_module.read_text

    def read_text(path):
        return proc[path] if path in proc else real_read(path)

    monkeypatch.setattr(swap_module, "read_text", read_text)
    root = tmp_path / "root"
    root.mkdir()
    (root / "etc").mkdir()
    (root / "etc" / "fstab").write_text("UUID=abc / ext4 defaults 0 1\n")
    return type(
        "Host",
        (),
        {"root": root, "proc": proc, "log": log, "fstab": root / "etc" / "fstab"},
    )()


def make_swap(path: Path, size: int) -> None:
    with open(path, "wb") as f:
        f.truncate(size)
        f.seek(SIGNATURE_OFFSET)
        f.write(b"SWAPSPACE2")


def snapshot(path: Path):
    if not os.path.lexists(path):
        return None
    st = os.lstat(path)
    content = path.read_bytes() if stat.S_ISREG(st.st_mode) else None
    return (stat.S_IFMT(st.st_mode), st.st_size, st.st_ino, content)


def args(host, path, **kw):
    return {
        "path": str(path),
        "size_mib": 4,
        "activate": False,
        "record": str(host.root / "var" / "lib" / "sparkops" / "swap.json"),
        "fstab": str(host.fstab),
        "labels": LABELS,
        **kw,
    }


def record_of(host) -> dict:
    return json.loads((host.root / "var" / "lib" / "sparkops" / "swap.json").read_text())


def test_module_creates_a_root_only_swap_file_then_changes_nothing(host, module_runner):
    path = host.root / "swapfile"
    failed, result = module_runner(swap_module.main, args(host, path))
    assert not failed, result
    assert result["changed"] and result["action"] == "created"
    assert path.stat().st_size == 4 * MIB
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert host.fstab.read_text() == f"UUID=abc / ext4 defaults 0 1\n{path} none swap sw 0 0\n"
    assert not os.path.lexists(f"{path}.partial")
    assert record_of(host)["inode"] == path.stat().st_ino
    assert record_of(host)["partial"] is None
    assert result["backup_file"]

    failed, again = module_runner(swap_module.main, args(host, path))
    assert not failed and not again["changed"] and again["action"] == "kept", again


def test_module_check_mode_creates_nothing(host, module_runner):
    path = host.root / "swapfile"
    fstab = host.fstab.read_text()
    failed, result = module_runner(swap_module.main, args(host, path, _ansible_check_mode=True))
    assert not failed and result["changed"] and result["action"] == "created", result
    assert not os.path.lexists(path)
    assert not (host.root / "var").exists()
    assert host.fstab.read_text() == fstab


def test_module_activates_when_asked_after_a_trial_of_the_new_file(host, module_runner):
    path = host.root / "swapfile"
    failed, result = module_runner(swap_module.main, args(host, path, activate=True))
    assert not failed, result
    assert host.log.read_text().splitlines() == [
        f"mkswap {path}.partial",
        f"swapon {path}.partial",
        f"swapoff {path}.partial",
        f"swapon {path}",
    ]


def refuse_cases(root: Path):
    def directory():
        (root / "data").mkdir()
        (root / "data" / "sentinel").write_text("precious")
        return root / "data", "is a directory holding 1 entry"

    def data_file_of_wanted_size():
        (root / "data.img").write_bytes(os.urandom(4 * MIB))
        return root / "data.img", "blkid finds no swap signature"

    def data_file_of_other_size():
        (root / "notes.txt").write_text("important")
        return root / "notes.txt", "a regular file of 9 bytes"

    def link_to_swap_file():
        make_swap(root / "real-swap", 4 * MIB)
        (root / "link").symlink_to(root / "real-swap")
        return root / "link", "is a symbolic link to"

    def fifo():
        os.mkfifo(root / "fifo")
        return root / "fifo", "is a named pipe"

    return [directory, data_file_of_wanted_size, data_file_of_other_size, link_to_swap_file, fifo]


@pytest.mark.parametrize("state", ["present", "absent"])
@pytest.mark.parametrize("check_mode", [False, True], ids=["run", "check"])
@pytest.mark.parametrize(
    "case",
    range(5),
    ids=["directory", "data-file-wanted-size", "data-file-other-size", "symlink", "fifo"],
)
def test_module_refuses_and_changes_nothing(host, module_runner, case, check_mode, state):
    path, what = refuse_cases(host.root)[case]()
    tree_before = {p: snapshot(p) for p in host.root.rglob("*")}
    failed, result = module_runner(
        swap_module.main, args(host, path, state=state, _ansible_check_mode=check_mode)
    )
    assert failed, result
    assert result["msg"].startswith(f"swap_file_path '{path}' "), result["msg"]
    assert what in result["msg"]
    assert {p: snapshot(p) for p in host.root.rglob("*")} == tree_before
    assert not host.log.exists()


def test_module_refuses_a_mount_point(host, module_runner, monkeypatch):
    make_swap(host.root / "swapfile", 4 * MIB)
    monkeypatch.setattr(
        swap_module, "parse_mount_points", lambda _text: {str(host.root / "swapfile")}
    )
    failed, result = module_runner(swap_module.main, args(host, host.root / "swapfile"))
    assert failed and "is a mount point" in result["msg"], result


def test_module_adopts_and_resizes_a_users_swap_file(host, module_runner):
    path = host.root / "swapfile"
    make_swap(path, 2 * MIB)
    path.chmod(0o644)
    failed, result = module_runner(swap_module.main, args(host, path))
    assert not failed and result["action"] == "resized", result
    assert path.stat().st_size == 4 * MIB and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert record_of(host)["inode"] == path.stat().st_ino


def test_module_keeps_a_users_swap_file_of_the_wanted_size_and_fixes_its_mode(host, module_runner):
    path = host.root / "swapfile"
    make_swap(path, 4 * MIB)
    path.chmod(0o644)
    inode = path.stat().st_ino
    failed, result = module_runner(swap_module.main, args(host, path))
    assert not failed and result["action"] == "kept" and result["changed"], result
    assert path.stat().st_ino == inode and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not host.log.exists()  # never mkswap'ed again


def test_resize_refuses_when_swapoff_would_not_fit_in_memory(host, module_runner):
    path = host.root / "swapfile"
    make_swap(path, 2 * MIB)
    before = snapshot(path)
    host.proc["/proc/swaps"] += f"{path} file 2044 1500000 -2\n"
    host.proc["/proc/meminfo"] = "MemTotal: 4000000 kB\nMemAvailable: 1000000 kB\n"
    failed, result = module_runner(swap_module.main, args(host, path))
    assert failed, result
    assert "1464 MiB of it are in use" in result["msg"]
    assert "976 MiB of memory are available" in result["msg"]
    assert "swap_file_size_mib" in result["msg"]
    assert snapshot(path) == before and not host.log.exists()


def test_resize_of_an_active_file_swaps_the_new_one_in_after_it_is_ready(host, module_runner):
    path = host.root / "swapfile"
    make_swap(path, 2 * MIB)
    host.proc["/proc/swaps"] += f"{path} file 2044 100 -2\n"
    host.proc["/proc/meminfo"] = "MemAvailable: 8000000 kB\n"
    failed, result = module_runner(swap_module.main, args(host, path, activate=False))
    assert not failed, result
    # Was active, so it is active again, even with activate=false.
    assert host.log.read_text().splitlines() == [
        f"mkswap {path}.partial",
        f"swapon {path}.partial",
        f"swapoff {path}.partial",
        f"swapoff {path}",
        f"swapon {path}",
    ]


def test_a_failed_mkswap_leaves_the_old_swap_file_and_no_partial(host, module_runner, monkeypatch):
    path = host.root / "swapfile"
    make_swap(path, 2 * MIB)
    before = snapshot(path)
    monkeypatch.setenv("FAKE_MKSWAP_FAIL", "1")
    failed, result = module_runner(swap_module.main, args(host, path))
    assert failed and "mkswap" in result["msg"] and "is unchanged" in result["msg"], result
    assert snapshot(path) == before
    assert not os.path.lexists(f"{path}.partial")
    assert record_of(host)["partial"] is None


def test_a_full_disk_is_refused_before_anything_is_written(host, module_runner):
    path = host.root / "swapfile"
    failed, result = module_runner(swap_module.main, args(host, path, size_mib=64 * 1024 * 1024))
    assert failed and "Not enough free disk" in result["msg"], result
    assert not os.path.lexists(path) and not (host.root / "var").exists()


def test_an_interrupted_run_is_repaired_by_the_next(host, module_runner):
    path = host.root / "swapfile"
    partial = Path(f"{path}.partial")
    # What a run killed during allocation leaves: the record naming the partial file, and
    # a half-written partial file; nothing at the swap file's own path.
    record = host.root / "var" / "lib" / "sparkops" / "swap.json"
    record.parent.mkdir(parents=True)
    record.write_text(json.dumps({"path": str(path), "partial": str(partial)}))
    partial.write_bytes(b"\0" * 1000)
    failed, result = module_runner(swap_module.main, args(host, path))
    assert not failed and result["action"] == "created", result
    assert path.stat().st_size == 4 * MIB
    assert not partial.exists()
    assert record_of(host)["partial"] is None


def test_an_unrecorded_partial_name_is_refused_and_kept(host, module_runner):
    path = host.root / "swapfile"
    partial = Path(f"{path}.partial")
    partial.write_text("someone's file")
    failed, result = module_runner(swap_module.main, args(host, path))
    assert failed and "is in the way" in result["msg"], result
    assert partial.read_text() == "someone's file" and not path.exists()


def test_a_recorded_partial_that_became_a_directory_is_left_alone(host, module_runner):
    path = host.root / "swapfile"
    partial = Path(f"{path}.partial")
    record = host.root / "var" / "lib" / "sparkops" / "swap.json"
    record.parent.mkdir(parents=True)
    record.write_text(json.dumps({"path": str(path), "partial": str(partial)}))
    partial.mkdir()
    (partial / "keep").write_text("x")
    failed, result = module_runner(swap_module.main, args(host, path))
    assert failed and "is in the way" in result["msg"], result
    assert (partial / "keep").read_text() == "x"


def test_absent_removes_the_swap_file_its_line_and_its_record(host, module_runner):
    path = host.root / "my swap"
    failed, result = module_runner(swap_module.main, args(host, path))
    assert not failed, result
    assert f"{host.root}/my\\040swap none swap sw 0 0" in host.fstab.read_text()
    failed, result = module_runner(swap_module.main, args(host, path, state="absent"))
    assert not failed and result["action"] == "removed", result
    assert not path.exists()
    assert host.fstab.read_text() == "UUID=abc / ext4 defaults 0 1\n"
    assert not (host.root / "var" / "lib" / "sparkops" / "swap.json").exists()
    failed, again = module_runner(swap_module.main, args(host, path, state="absent"))
    assert not failed and not again["changed"], again


def test_absent_removes_a_users_swap_file_and_leaves_an_unrecorded_partial(host, module_runner):
    path = host.root / "swapfile"
    make_swap(path, 2 * MIB)
    Path(f"{path}.partial").write_text("not ours")
    failed, result = module_runner(swap_module.main, args(host, path, state="absent"))
    assert not failed and result["action"] == "removed", result
    assert not path.exists()
    assert Path(f"{path}.partial").read_text() == "not ours"
