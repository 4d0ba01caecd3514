# Copyright: sparkops.llm maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

import os

from ansible_collections.sparkops.llm.plugins.module_utils import disk_space
from ansible_collections.sparkops.llm.plugins.modules import disk_space as module


def test_a_missing_folder_is_measured_on_its_nearest_existing_ancestor(tmp_path):
    assert disk_space.nearest_existing(str(tmp_path / "a" / "b")) == str(tmp_path)
    assert disk_space.nearest_existing(str(tmp_path)) == str(tmp_path)


def test_a_dangling_link_counts_as_existing_and_is_not_followed(tmp_path):
    (tmp_path / "link").symlink_to(tmp_path / "nowhere")
    assert disk_space.nearest_existing(str(tmp_path / "link" / "x")) == str(tmp_path / "link")


def test_the_message_names_both_numbers_the_path_and_the_variable():
    gib = disk_space.GIB
    message = disk_space.shortfall_message(
        "ollama pull gpt-oss:120b",
        59 * gib,
        gib,
        10 * gib,
        "/var/lib/ollama",
        "/var/lib",
        "engine_ollama_home",
    )
    assert "needs 59.00 GiB (63350767616 bytes) plus a margin of 1.00 GiB" in message
    assert "has 10.00 GiB (10737418240 bytes) free" in message
    assert "/var/lib/ollama (measured at /var/lib, which exists)" in message
    assert "set engine_ollama_home" in message


def test_enough_space_is_no_problem_and_the_margin_counts():
    assert disk_space.shortfall_message("x", 10, 0, 10, "/p", "/p", "v") == ""
    assert disk_space.shortfall_message("x", 10, 1, 10, "/p", "/p", "v") != ""


def test_the_module_measures_the_real_file_system(tmp_path, module_runner):
    vfs = os.statvfs(tmp_path)
    free = vfs.f_bavail * vfs.f_frsize
    args = {"path": str(tmp_path / "new"), "what": "a test", "variable": "some_dir"}
    failed, result = module_runner(module.main, {**args, "needed_bytes": 1})
    assert not failed and result["measured_path"] == str(tmp_path)
    assert abs(result["free_bytes"] - free) < 256 * 1024**2
    failed, result = module_runner(module.main, {**args, "needed_bytes": free * 4})
    assert failed and "Not enough free disk for a test" in result["msg"]


def test_what_an_interrupted_download_wrote_is_not_needed_again():
    gib = disk_space.GIB
    args = ("w", 60 * gib, gib, 20 * gib, "/c", "/c", "v")
    assert disk_space.shortfall_message(*args, present=50 * gib) == ""
    message = disk_space.shortfall_message(*args, present=10 * gib)
    assert "needs 50.00 GiB" in message and "beyond the 10.00 GiB" in message
    # A complete download needs nothing, whatever the margin.
    assert disk_space.shortfall_message("w", 60, 10**15, 0, "/c", "/c", "v", present=60) == ""


def test_the_present_bytes_count_regular_files_only_and_no_links(tmp_path):
    (tmp_path / "blobs").mkdir()
    (tmp_path / "blobs" / "a.incomplete").write_bytes(b"x" * 1000)
    (tmp_path / "big").write_bytes(b"y" * 24)
    (tmp_path / "snapshot").symlink_to(tmp_path / "big")
    assert disk_space.bytes_under(str(tmp_path)) == 1024
    assert disk_space.bytes_under(str(tmp_path / "absent")) == 0


def test_the_module_subtracts_what_the_present_path_holds(tmp_path, module_runner):
    cache = tmp_path / "repo"
    cache.mkdir()
    (cache / "shard").write_bytes(b"z" * 4096)
    args = {"path": str(tmp_path), "what": "a test", "variable": "v", "margin_bytes": 10**18}
    failed, result = module_runner(
        module.main, {**args, "needed_bytes": 4096, "present_path": str(cache)}
    )
    assert not failed and result["present_bytes"] == 4096
    failed, result = module_runner(
        module.main, {**args, "needed_bytes": 8192, "present_path": str(cache)}
    )
    assert failed and "beyond the 0.00 GiB (4096 bytes) already downloaded" in result["msg"]
