"""The llama.cpp builds the role may remove: only its recorded builds and its killed builds'
stages, never the build in use, a link, or a folder it did not make."""

from __future__ import annotations

import json
import os

import pytest
from ansible_collections.sparkops.llm.plugins.module_utils import llama_cpp_builds as b
from ansible_collections.sparkops.llm.plugins.modules import llama_cpp_builds

STAMP = "0c1e570-cpu-3fa9c2d1e0ab"


@pytest.mark.parametrize(
    ("name", "real_dir", "entries", "record", "kind"),
    [
        (STAMP, True, ["bin", "lib", "build-info.json"], {"stamp": STAMP}, "build"),
        (STAMP, True, ["bin"], None, "other"),  # no record: not a finished build
        (STAMP, True, ["build-info.json"], {"stamp": "another"}, "other"),
        (STAMP, False, [], {"stamp": STAMP}, "other"),  # a link
        (STAMP + ".partial", True, [".sparkops-stage", "bin"], None, "partial"),
        (STAMP + ".partial", True, [], None, "partial"),  # killed right after mkdir
        (STAMP + ".partial", True, ["bin", "lib"], None, "partial"),  # before the marker existed
        (STAMP + ".partial", True, ["thesis.tex"], None, "other"),
        (STAMP + ".partial", False, [], None, "other"),
        ("current", False, [], None, "other"),
        ("my notes", True, [], None, "other"),
    ],
)
def test_only_recorded_builds_and_the_scripts_own_stages_are_the_roles(
    name, real_dir, entries, record, kind
):
    assert b.classify(name, real_dir, entries, record) == kind


def test_pruning_keeps_the_protected_build_and_the_newest_others():
    builds = {"a": 1, "b": 2, "c": 3, "d": 4}
    assert b.prune_plan(builds, 3, ["a"]) == ["b"]  # a (in use), d and c stay
    assert b.prune_plan(builds, 1, ["b"]) == ["a", "c", "d"]
    assert b.prune_plan(builds, 5, ["a"]) == []
    assert b.prune_plan(builds, 1, ["zz"]) == ["a", "b", "c"]  # keep counts what is there


def make_build(prefix, stamp, mtime):
    folder = prefix / stamp
    (folder / "bin").mkdir(parents=True)
    (folder / "build-info.json").write_text(json.dumps({"stamp": stamp}))
    os.utime(folder, ns=(mtime, mtime))
    return folder


def test_the_module_removes_only_what_the_role_made(tmp_path, module_runner):
    prefix = tmp_path / "llama.cpp"
    for number in range(1, 4):
        make_build(prefix, f"stamp{number}", number * 10**9)
    (prefix / "stamp9.partial" / "bin").mkdir(parents=True)
    (prefix / "stamp9.partial" / ".sparkops-stage").touch()
    (prefix / "notes").mkdir()
    (prefix / "notes" / "todo").write_text("mine")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "build-info.json").write_text(json.dumps({"stamp": "stamp0"}))
    (prefix / "stamp0").symlink_to(elsewhere)
    (prefix / "old.partial").symlink_to(elsewhere)
    (prefix / "current").symlink_to("stamp1")

    args = {"prefix": str(prefix), "keep": 1, "protect": ["stamp1"], "prune": True}
    failed, planned = module_runner(llama_cpp_builds.main, {**args, "_ansible_check_mode": True})
    assert not failed and planned["removed"] == ["stamp9.partial", "stamp2", "stamp3"]
    assert (prefix / "stamp2").is_dir()  # check mode removed nothing

    failed, result = module_runner(llama_cpp_builds.main, args)
    assert not failed and result["changed"]
    assert sorted(os.listdir(prefix)) == ["current", "notes", "old.partial", "stamp0", "stamp1"]
    assert result["not_ours"] == ["notes", "old.partial", "stamp0"]
    assert (elsewhere / "build-info.json").exists() and (prefix / "notes" / "todo").exists()

    failed, again = module_runner(llama_cpp_builds.main, args)
    assert not failed and not again["changed"] and again["builds"] == ["stamp1"]


def test_listing_a_missing_prefix_changes_nothing(tmp_path, module_runner):
    failed, result = module_runner(llama_cpp_builds.main, {"prefix": str(tmp_path / "none")})
    assert not failed and result["builds"] == [] and not result["changed"]


@pytest.mark.parametrize(
    ("version_json", "nvcc_output", "expected"),
    [
        ({"cuda": {"name": "CUDA SDK", "version": "13.0.88"}}, "", "13.0.88"),
        (None, "Cuda compilation tools, release 13.0, V13.0.88\nBuild cuda_13.0", "13.0.88"),
        ({"cuda": {}}, "release 12.8, V12.8.93", "12.8.93"),  # a file without the version
        (None, "", "none"),  # no toolkit
    ],
)
def test_the_cuda_version_is_the_toolkits_file_else_what_nvcc_prints(
    version_json, nvcc_output, expected
):
    assert b.cuda_version(version_json, nvcc_output) == expected


def test_the_compiler_is_its_first_line_or_unknown():
    assert (
        b.compiler_line("c++ (Debian 12.2.0-14) 12.2.0\nCopyright\n")
        == "c++ (Debian 12.2.0-14) 12.2.0"
    )
    assert b.compiler_line("") == "unknown"


def test_missing_packages_are_those_dpkg_does_not_list_as_installed():
    out = "cmake installed\nninja-build not-installed\nccache config-files\n"
    assert b.missing_packages(["cmake", "ninja-build", "git", "ccache"], out) == [
        "ninja-build",
        "git",
        "ccache",
    ]
    assert b.missing_packages(["cmake"], "") == ["cmake"]  # no dpkg: all of them


def test_one_call_reads_the_toolchain_and_the_builds(tmp_path, fake_bin, module_runner):
    prefix = tmp_path / "llama.cpp"
    make_build(prefix, "stamp1", 10**9)
    (prefix / "stamp2.partial").mkdir()
    (prefix / "current").symlink_to("stamp1")
    cuda = tmp_path / "cuda"
    (cuda / "bin").mkdir(parents=True)
    (cuda / "bin" / "nvcc").write_text(
        "#!/bin/sh\necho 'Cuda compilation tools, release 13.0, V13.0.88'\n"
    )
    (cuda / "bin" / "nvcc").chmod(0o755)
    fake_bin("c++", "echo 'c++ (Ubuntu 13.3.0) 13.3.0'; echo 'Copyright'\n")
    fake_bin("dpkg-query", "echo 'cmake installed'; echo 'git deinstall'; exit 1\n")

    failed, result = module_runner(
        llama_cpp_builds.main,
        {
            "prefix": str(prefix),
            "cuda_home": str(cuda),
            "compiler": True,
            "packages": ["cmake", "git", "ccache"],
        },
    )
    assert not failed, result.get("msg")
    assert result["cuda"] == {"nvcc": True, "version": "13.0.88"}
    assert result["compiler"] == "c++ (Ubuntu 13.3.0) 13.3.0"
    assert result["missing_packages"] == ["git", "ccache"]
    assert result["builds"] == ["stamp1"] and result["records"] == {"stamp1": {"stamp": "stamp1"}}
    assert result["stages"] == ["stamp2.partial"] and result["current"] == "stamp1"
    assert result["removed"] == [] and (prefix / "stamp2.partial").is_dir()

    (cuda / "version.json").write_text(json.dumps({"cuda": {"version": "13.0.99"}}))
    failed, result = module_runner(
        llama_cpp_builds.main, {"prefix": str(prefix), "cuda_home": str(tmp_path / "none")}
    )
    assert not failed and result["cuda"] == {"nvcc": False, "version": "none"}
    assert "compiler" not in result and result["missing_packages"] == []
    failed, result = module_runner(
        llama_cpp_builds.main, {"prefix": str(prefix), "cuda_home": str(cuda)}
    )
    assert not failed and result["cuda"]["version"] == "13.0.99"


def test_no_compiler_reads_as_unknown(tmp_path, fake_bin, module_runner):
    failed, result = module_runner(
        llama_cpp_builds.main, {"prefix": str(tmp_path / "none"), "compiler": True}
    )
    assert not failed and result["compiler"] == "unknown" and result["builds"] == []


def test_folders_are_refused_before_anything_is_read(tmp_path, fake_bin, module_runner):
    prefix = tmp_path / "alice"
    prefix.mkdir()
    (prefix / "thesis.tex").write_text("mine")
    make_build(prefix, "stamp1", 10**9)
    asked = tmp_path / "asked"
    fake_bin("c++", f"touch {asked}\n")
    folders = [
        {"variable": "llama_cpp_prefix", "path": str(prefix), "default": "/opt/sparkops/llama.cpp"}
    ]

    failed, result = module_runner(
        llama_cpp_builds.main,
        {"prefix": str(prefix), "folders": folders, "compiler": True, "prune": True, "keep": 1},
    )
    assert failed
    assert result["msg"].startswith(f"llama_cpp_prefix is {prefix}, which already holds files")
    assert result["msg"].endswith(". Nothing was changed.")
    assert "builds" not in result and not asked.exists()
