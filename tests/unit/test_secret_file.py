"""sparkops.llm.secret_file on real files: the given key, a key generated once and kept, 0600
and the owner set before the value is written, links refused, and the value never returned."""

from __future__ import annotations

import grp
import os
import pwd
import stat

import pytest
from ansible_collections.sparkops.llm.plugins.module_utils import secret_file as sf
from ansible_collections.sparkops.llm.plugins.modules import secret_file

ME = pwd.getpwuid(os.getuid()).pw_name
MY_GROUP = grp.getgrgid(os.getgid()).gr_name


def run(module_runner, path, **args):
    return module_runner(
        secret_file.main, {"path": str(path), "owner": ME, "group": MY_GROUP, **args}
    )


def test_the_given_value_is_stored_0600_and_not_returned(module_runner, tmp_path):
    key = tmp_path / "engine.key"
    failed, result = run(module_runner, key, value="s3cret-given-value-123")
    assert not failed and result["changed"] and not result["generated"]
    assert key.read_text() == "s3cret-given-value-123"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert "s3cret-given-value-123" not in repr(result)
    assert list(tmp_path.iterdir()) == [key]  # no temporary file left
    failed, again = run(module_runner, key, value="s3cret-given-value-123")
    assert not failed and not again["changed"]


def test_a_generated_key_is_made_once_and_then_kept(module_runner, tmp_path):
    key = tmp_path / "bridge.key"
    failed, result = run(module_runner, key, prefix="sk-", length=48)
    assert not failed and result["changed"] and result["generated"]
    first = key.read_text()
    assert first.startswith("sk-") and len(first) == 51 and first[3:].isalnum()
    failed, again = run(module_runner, key, prefix="sk-", length=48)
    assert not failed and not again["changed"] and key.read_text() == first


def test_a_given_value_replaces_a_generated_one_and_a_wrong_mode_is_fixed(module_runner, tmp_path):
    key = tmp_path / "engine.key"
    key.write_text("old")
    key.chmod(0o644)
    failed, result = run(module_runner, key)
    assert not failed and result["changed"] and key.read_text() == "old"  # mode only
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    failed, result = run(module_runner, key, value="new-value-of-the-key")
    assert not failed and result["changed"] and key.read_text() == "new-value-of-the-key"


def test_check_mode_writes_nothing(module_runner, tmp_path):
    key = tmp_path / "engine.key"
    failed, result = run(module_runner, key, value="abc", _ansible_check_mode=True)
    assert not failed and result["changed"] and not key.exists()


@pytest.mark.parametrize("kind", ["link", "folder"])
def test_anything_but_a_regular_file_is_refused_and_not_followed(module_runner, tmp_path, kind):
    target = tmp_path / "root-only.json"
    target.write_text('{"secret": 1}')
    key = tmp_path / "engine.key"
    if kind == "link":
        key.symlink_to(target)
    else:
        key.mkdir()
    failed, result = run(module_runner, key, value="abc")
    assert failed and "is not a regular file" in result["msg"] and str(key) in result["msg"]
    assert target.read_text() == '{"secret": 1}'


def test_generated_secrets_differ_and_use_letters_and_digits():
    values = {sf.generate(48) for _ in range(20)}
    assert len(values) == 20 and all(len(v) == 48 and v.isalnum() for v in values)


def test_a_key_with_a_carriage_return_is_stable_across_runs(module_runner, tmp_path):
    key = tmp_path / "engine.key"
    assert not run(module_runner, key, value="k\r\nv")[0]
    failed, again = run(module_runner, key, value="k\r\nv")
    assert not failed and not again["changed"] and key.read_bytes() == b"k\r\nv"


def test_a_write_that_fails_leaves_no_part_of_the_secret(module_runner, tmp_path):
    key = tmp_path / "missing-folder" / "engine.key"
    failed, result = run(module_runner, key, value="abc")
    assert failed and str(key) in result["msg"] and "Traceback" not in result["msg"]
    assert not (tmp_path / "missing-folder").exists()


def test_a_mode_that_is_not_octal_is_refused_by_name(module_runner, tmp_path):
    failed, result = run(module_runner, tmp_path / "k", value="abc", mode="u=rw")
    assert failed and "not an octal mode" in result["msg"]
