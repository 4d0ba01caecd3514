"""The llama_cpp role's patches (roles/llama_cpp/files/patches/): each a unified diff that
`git apply --check`, then `git apply`, put on the real pinned llama.cpp source (the test bed's
tree, SPARKOPS_LLAMA_CPP_SRC), as build.sh.j2 does, and the list of commits it was tested on.

The patched source is compiled and its same-tokens test run by molecule/llama_cpp and
molecule/engine."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROLE = Path(__file__).resolve().parents[2] / "roles" / "llama_cpp"
PATCHES = ROLE / "files" / "patches"
SPEC = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text())
OPTIONS = SPEC["argument_specs"]["main"]["options"]
DEFAULTS = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
NAMES = OPTIONS["llama_cpp_patches"]["choices"]
ROUTED_CALL = "if (!sparkops_fast_top_k(gsmpl, ctx, idx, grammar_first)) {"


def git_apply(tree: Path, diff: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["git", "-C", str(tree), "apply", *args, str(diff)],
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture
def source_copy(llama_cpp_src, tmp_path) -> Path:
    """The files the patches touch, copied out of the pinned tree (outside any git repository,
    like an archive's tree on a host)."""
    tree = tmp_path / "llama.cpp"
    shutil.copytree(llama_cpp_src / "common", tree / "common")
    return tree


def test_every_patch_the_role_offers_has_a_diff_and_a_tested_commit_list():
    for name in NAMES:
        assert (PATCHES / f"{name}.diff").is_file(), name
        tested = yaml.safe_load((PATCHES / f"{name}.yml").read_text())["tested_on"]
        assert tested and all(re.fullmatch(r"[0-9a-f]{40}", commit) for commit in tested), name
    assert sorted(path.stem for path in PATCHES.glob("*.diff")) == sorted(NAMES)


def test_the_default_patches_were_tested_on_the_default_commit():
    for name in DEFAULTS["llama_cpp_patches"]:
        tested = yaml.safe_load((PATCHES / f"{name}.yml").read_text())["tested_on"]
        assert DEFAULTS["llama_cpp_git_commit"] in tested, name


@pytest.mark.parametrize("name", NAMES)
def test_the_real_diff_applies_to_the_real_pinned_source(source_copy, name):
    diff = PATCHES / f"{name}.diff"
    check = git_apply(source_copy, diff, "--check")
    assert check.returncode == 0, check.stderr
    applied = git_apply(source_copy, diff)
    assert applied.returncode == 0, applied.stderr


def test_fast_top_k_routes_the_first_fill_only_and_adds_its_code(source_copy):
    upstream = (source_copy / "common" / "sampling.cpp").read_text()
    assert git_apply(source_copy, PATCHES / "sampling-fast-top-k.diff").returncode == 0
    text = (source_copy / "common" / "sampling.cpp").read_text()
    assert text.count(ROUTED_CALL) == 1
    assert text.index('#include "sparkops_fast_top_k.inc"') < text.index(
        "llama_token common_sampler_sample("
    )
    # Four lines more than upstream: the include, its blank line, and the call made conditional.
    assert len(text.splitlines()) == len(upstream.splitlines()) + 4
    code = (source_copy / "common" / "sparkops_fast_top_k.inc").read_text()
    assert "static bool sparkops_fast_top_k(" in code
    assert "sparkops sampling-fast-top-k patch" in code  # the log line the scenarios look for


def test_a_second_application_is_refused_by_the_check(source_copy):
    diff = PATCHES / "sampling-fast-top-k.diff"
    assert git_apply(source_copy, diff).returncode == 0
    before = (source_copy / "common" / "sampling.cpp").read_text()
    again = git_apply(source_copy, diff, "--check")
    assert again.returncode != 0
    assert (source_copy / "common" / "sampling.cpp").read_text() == before


def test_a_source_whose_lines_moved_is_refused_whole_and_left_untouched(source_copy):
    sampling = source_copy / "common" / "sampling.cpp"
    # Another commit: the line the patch replaces reads differently there.
    moved = sampling.read_text().replace(
        "    gsmpl->set_logits(ctx, idx);\n\n    // Check if a backend sampler",
        "    gsmpl->set_logits(ctx, idx, 0);\n\n    // Check if a backend sampler",
        1,
    )
    sampling.write_text(moved)
    check = git_apply(source_copy, PATCHES / "sampling-fast-top-k.diff", "--check")
    assert check.returncode != 0 and "patch does not apply" in check.stderr
    assert sampling.read_text() == moved
    assert not (source_copy / "common" / "sparkops_fast_top_k.inc").exists()
