"""A file in a user's folder, handled as root: no link is followed, nothing another user owns is
read or replaced, writes are atomic and leave no temporary file behind."""

from __future__ import annotations

import os
import pwd
import stat

import pytest
from ansible_collections.sparkops.llm.plugins.module_utils import user_files
from ansible_collections.sparkops.llm.plugins.module_utils.user_files import (
    FILE,
    FOLDER,
    Account,
    UserFileError,
    account,
    backup_name,
    home_refusal,
    make_folder,
    open_file,
    open_folder,
    open_home,
    own_temp_files,
    read_all,
    refusal,
    remove_temp_files,
    replace_file,
    temp_name,
    temp_pattern,
    write_new,
)

ME = Account(os.getuid(), os.getgid(), pwd.getpwuid(os.getuid()).pw_name)
# Another account: an expected uid that is not the one of the files the test makes.
OTHER = Account(ME.uid + 4242, ME.gid, "someone-else")


def fake_stat(mode, uid=ME.uid, nlink=1, size=10):
    return os.stat_result((mode, 1, 1, nlink, uid, ME.gid, size, 0, 0, 0))


DEV = Account(1000, 1000, "dev")
SETTINGS = "/home/dev/.claude/settings.json"


@pytest.mark.parametrize(
    ("st", "want", "words"),
    [
        (fake_stat(stat.S_IFLNK | 0o777, uid=1000), FILE, "is a symbolic link (to /root/x)"),
        (fake_stat(stat.S_IFLNK | 0o777, uid=1000), FOLDER, "is a symbolic link (to /root/x)"),
        (fake_stat(stat.S_IFDIR | 0o700, uid=1000), FILE, "is a folder, not a regular file"),
        (fake_stat(stat.S_IFIFO | 0o600, uid=1000), FILE, "is a named pipe (FIFO)"),
        (fake_stat(stat.S_IFSOCK | 0o600, uid=1000), FILE, "is a socket"),
        (fake_stat(stat.S_IFCHR | 0o600, uid=1000), FILE, "is a character device"),
        (fake_stat(stat.S_IFREG | 0o600, uid=1000), FOLDER, "is a regular file, not a folder"),
        (fake_stat(stat.S_IFREG | 0o600, uid=0), FILE, "is owned by root, not dev"),
        (fake_stat(stat.S_IFDIR | 0o700, uid=0), FOLDER, "is owned by root, not dev"),
        (fake_stat(stat.S_IFREG | 0o600, uid=1000, nlink=2), FILE, "has 2 hard links"),
        (fake_stat(stat.S_IFREG | 0o600, uid=1000, size=10**9), FILE, "1000000000 bytes"),
    ],
)
def test_what_must_not_be_touched_is_refused_with_the_path_and_what_to_do(st, want, words):
    message = refusal(SETTINGS, st, want, DEV, link_target="/root/x")
    assert message and words in message
    assert message.startswith(SETTINGS)
    assert "run again" in message


@pytest.mark.parametrize(
    ("st", "want"),
    [
        (fake_stat(stat.S_IFREG | 0o644, uid=1000), FILE),
        (fake_stat(stat.S_IFDIR | 0o755, uid=1000, nlink=5), FOLDER),
    ],
)
def test_the_users_own_file_and_folder_are_accepted(st, want):
    assert refusal(SETTINGS, st, want, DEV) is None


def test_a_link_is_refused_before_its_owner_is_looked_at():
    # A user's own link to root's file: the link is the user's, what it points at is not.
    message = refusal(SETTINGS, fake_stat(stat.S_IFLNK | 0o777, uid=1000), FILE, DEV)
    assert "symbolic link" in message and "Replace the link with a regular file owned by dev" in (
        message
    )


@pytest.mark.parametrize("uid", [1000, 0])
def test_a_home_of_the_user_or_of_root_is_accepted(uid):
    assert home_refusal("/home/dev", fake_stat(stat.S_IFDIR | 0o755, uid=uid), DEV) is None


def test_a_home_of_another_user_or_not_a_folder_is_refused():
    other = home_refusal("/home/dev", fake_stat(stat.S_IFDIR | 0o755, uid=1001), DEV)
    assert other.startswith("/home/dev (the home of dev) is owned by")
    assert "neither dev nor root" in other
    not_dir = home_refusal("/home/dev", fake_stat(stat.S_IFREG | 0o644, uid=1000), DEV)
    assert "is a regular file, not a folder" in not_dir


def test_temporary_names_match_only_their_own_pattern():
    pattern = temp_pattern("settings.json")
    assert pattern.match(temp_name("settings.json"))
    assert temp_name("settings.json") != temp_name("settings.json")
    for name in (
        "settings.json",
        ".settings.json",
        "settings.json.1.2024-01-01@00:00:00~",
        ".settings.abc.tmp",
        ".settings.0123456789abcdef.tmp.keep",
        ".other.0123456789abcdef.tmp",
    ):
        assert not pattern.match(name), name


def test_backup_names_follow_ansibles_backup_local():
    name = backup_name("settings.json", 42, 0)
    assert name.startswith("settings.json.42.") and name.endswith("~")


def test_accounts_resolve_by_name_or_uid_and_unknown_ones_are_refused():
    assert account(ME.name) == account(str(ME.uid))
    assert account(ME.name, str(ME.gid)).gid == ME.gid
    with pytest.raises(UserFileError, match="has no account"):
        account("no-such-user-sparkops")
    with pytest.raises(UserFileError, match="does not exist"):
        account(ME.name, "no-such-group-sparkops")


# The file operations, on a temporary folder: `home` holds `.claude`, which holds the file.


@pytest.fixture
def home(tmp_path):
    path = tmp_path / "home"
    path.mkdir()
    return path


def test_a_home_reached_through_a_link_is_opened(tmp_path, home):
    (tmp_path / "linked").symlink_to(home)
    fd = open_home(str(tmp_path / "linked"), ME)
    try:
        assert os.fstat(fd).st_ino == home.stat().st_ino
    finally:
        os.close(fd)


def test_a_missing_home_or_a_file_as_home_is_refused(tmp_path):
    with pytest.raises(UserFileError, match="does not exist"):
        open_home(str(tmp_path / "missing"), ME)
    (tmp_path / "file").write_text("x")
    with pytest.raises(UserFileError, match="not a folder"):
        open_home(str(tmp_path / "file"), ME)


def test_a_home_of_another_user_is_refused(home):
    if ME.uid == 0:
        # As root: a home of some other, non-root account.
        os.chown(home, 12345, -1)
    with pytest.raises(UserFileError, match="neither someone-else nor root"):
        open_home(str(home), OTHER)


@pytest.fixture
def home_fd(home):
    fd = os.open(home, os.O_RDONLY | os.O_DIRECTORY)
    yield fd
    os.close(fd)


def test_a_linked_folder_is_refused_and_left_alone(tmp_path, home, home_fd):
    elsewhere = tmp_path / "root-only"
    elsewhere.mkdir()
    (home / ".claude").symlink_to(elsewhere)
    with pytest.raises(UserFileError) as error:
        open_folder(home_fd, str(home / ".claude"), ME)
    assert f"{home / '.claude'} is a symbolic link (to {elsewhere})" in str(error.value)
    assert os.readlink(home / ".claude") == str(elsewhere)
    assert list(elsewhere.iterdir()) == []


def test_a_folder_of_another_user_or_a_file_as_folder_is_refused(home, home_fd):
    (home / ".claude").mkdir()
    with pytest.raises(UserFileError, match="not someone-else"):
        open_folder(home_fd, str(home / ".claude"), OTHER)
    (home / ".claude").rmdir()
    (home / ".claude").write_text("")
    with pytest.raises(UserFileError, match="is a regular file, not a folder"):
        open_folder(home_fd, str(home / ".claude"), ME)


def test_a_missing_folder_is_made_0700_and_given_to_the_user(home, home_fd):
    assert open_folder(home_fd, str(home / ".claude"), ME) is None
    fd = make_folder(home_fd, str(home / ".claude"), ME)
    os.close(fd)
    made = (home / ".claude").stat()
    assert stat.S_IMODE(made.st_mode) == 0o700 and made.st_uid == ME.uid


@pytest.fixture
def folder(home):
    path = home / ".claude"
    path.mkdir(mode=0o700)
    return path


@pytest.fixture
def folder_fd(folder):
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    yield fd
    os.close(fd)


def refused(folder, folder_fd, user=ME):
    with pytest.raises(UserFileError) as error:
        existing = open_file(folder_fd, str(folder / "settings.json"), user)
        os.close(existing.fd)
    message = str(error.value)
    assert message.startswith(str(folder / "settings.json"))
    return message


def test_a_linked_file_is_refused_and_neither_it_nor_its_target_changes(
    tmp_path, folder, folder_fd
):
    secret = tmp_path / "secret.json"
    secret.write_text('{"root": "secret-value"}')
    (folder / "settings.json").symlink_to(secret)
    message = refused(folder, folder_fd)
    assert f"is a symbolic link (to {secret})" in message and "secret-value" not in message
    assert os.readlink(folder / "settings.json") == str(secret)
    assert secret.read_text() == '{"root": "secret-value"}'


def test_a_hard_link_is_refused(tmp_path, folder, folder_fd):
    outside = tmp_path / "outside.json"
    outside.write_text("{}")
    os.link(outside, folder / "settings.json")
    assert "has 2 hard links" in refused(folder, folder_fd)


def test_a_fifo_is_refused_without_waiting_for_a_writer(folder, folder_fd):
    os.mkfifo(folder / "settings.json")
    assert "is a named pipe (FIFO), not a regular file" in refused(folder, folder_fd)


def test_a_folder_at_the_files_name_is_refused(folder, folder_fd):
    (folder / "settings.json").mkdir()
    assert "is a folder, not a regular file" in refused(folder, folder_fd)


def test_a_file_of_another_user_is_refused(folder, folder_fd):
    (folder / "settings.json").write_text("{}")
    assert "not someone-else" in refused(folder, folder_fd, OTHER)


def test_a_swap_between_the_check_and_the_open_is_caught(tmp_path, folder, folder_fd, monkeypatch):
    secret = tmp_path / "secret.json"
    secret.write_text("{}")
    (folder / "settings.json").write_text("{}")
    checked = user_files.lstat_at

    def check_then_swap(dir_fd, name):
        result = checked(dir_fd, name)
        (folder / "settings.json").unlink()
        (folder / "settings.json").symlink_to(secret)
        return result

    monkeypatch.setattr(user_files, "lstat_at", check_then_swap)
    assert "changed while it was being checked" in refused(folder, folder_fd)


def test_the_users_own_file_is_read(folder, folder_fd):
    (folder / "settings.json").write_bytes(b'{"a": 1}')
    existing = open_file(folder_fd, str(folder / "settings.json"), ME)
    try:
        assert read_all(existing.fd, "settings.json") == b'{"a": 1}'
    finally:
        os.close(existing.fd)
    assert open_file(folder_fd, str(folder / "missing.json"), ME) is None


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if temp_pattern("settings.json").match(p.name))


def test_replacing_is_atomic_0600_and_leaves_no_temporary_file(folder, folder_fd):
    (folder / "settings.json").write_text("old")
    replace_file(folder_fd, "settings.json", b"new", ME)
    result = (folder / "settings.json").stat()
    assert (folder / "settings.json").read_bytes() == b"new"
    assert stat.S_IMODE(result.st_mode) == 0o600 and result.st_uid == ME.uid
    assert leftovers(folder) == []


def test_a_link_put_at_the_name_is_replaced_not_followed(tmp_path, folder, folder_fd):
    secret = tmp_path / "secret.json"
    secret.write_text("secret")
    (folder / "settings.json").symlink_to(secret)
    replace_file(folder_fd, "settings.json", b"new", ME)
    assert not (folder / "settings.json").is_symlink()
    assert secret.read_text() == "secret"


@pytest.mark.parametrize("failing", ["rename", "fsync"])
def test_a_failed_write_keeps_the_old_file_and_removes_the_temporary_one(
    folder, folder_fd, monkeypatch, failing
):
    (folder / "settings.json").write_text("old")

    def fail(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(user_files.os, failing, fail)
    with pytest.raises(OSError):
        replace_file(folder_fd, "settings.json", b"new", ME)
    monkeypatch.undo()
    assert (folder / "settings.json").read_text() == "old"
    assert leftovers(folder) == []


def test_a_new_file_never_replaces_an_existing_one(folder, folder_fd):
    (folder / "backup~").write_text("first")
    with pytest.raises(FileExistsError):
        write_new(folder_fd, "backup~", b"second", ME)
    assert (folder / "backup~").read_text() == "first"


def test_only_own_temporary_files_are_found_and_removed(tmp_path, folder, folder_fd):
    stray = temp_name("settings.json")
    (folder / stray).write_text("half")
    linked = temp_name("settings.json")
    (tmp_path / "target").write_text("keep")
    (folder / linked).symlink_to(tmp_path / "target")
    hard = temp_name("settings.json")
    os.link(tmp_path / "target", folder / hard)
    (folder / ".settings.mine.tmp").write_text("the user's")
    assert own_temp_files(folder_fd, "settings.json", OTHER) == []
    found = own_temp_files(folder_fd, "settings.json", ME)
    assert found == [stray]
    remove_temp_files(folder_fd, "settings.json", found, ME)
    assert sorted(p.name for p in folder.iterdir()) == sorted([linked, hard, ".settings.mine.tmp"])
    assert (tmp_path / "target").read_text() == "keep"
