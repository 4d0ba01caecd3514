"""What a user checks after the llama_cpp role built llama.cpp on the simulated Spark.

The container has no CUDA toolkit, so this is the CPU build from the offline source archive
(tests/testbed/llama-cpp-archive.sh); the CUDA build for sm_121 is proven on a GPU machine
(see roles/llama_cpp/README.md). Tests run in file order: state first, then a second stamp,
rollback, pruning and a corrupt archive.
"""

from __future__ import annotations

import json
import re

import interrupt
import pytest
from conftest import run_playbook

PREFIX = "/opt/sparkops/llama.cpp"
FACTS = "/etc/ansible/facts.d/sparkops.fact"


def llama_facts(host):
    return json.loads(host.file(FACTS).content_string)["llama_cpp"]


def current_stamp(host):
    return host.file(f"{PREFIX}/current").linked_to.rsplit("/", 1)[-1]


def prefix_entries(host):
    return sorted(host.run(f"ls -A {PREFIX}").stdout.split())


def test_llama_server_from_current_runs(host):
    result = host.run(f"{PREFIX}/current/bin/llama-server --version")
    assert result.rc == 0, result.stderr
    assert "version:" in result.stdout + result.stderr


def test_llama_bench_is_installed_and_runs(host):
    result = host.run(f"{PREFIX}/current/bin/llama-bench --help")
    assert result.rc == 0, result.stderr


def test_current_links_to_the_stamp_recorded_in_the_facts(host):
    facts = llama_facts(host)
    assert current_stamp(host) == facts["stamp"]
    info = json.loads(host.file(f"{PREFIX}/{facts['stamp']}/build-info.json").content_string)
    assert info["backend"] == facts["backend"] == "cpu"
    assert info["commit"] == "0c1e57098bba43ac29e6e3b677cdceebdd22334f"


def test_flag_facts_match_what_the_binary_accepts(host):
    flags = llama_facts(host)["flags"]
    # This build replaced --no-mmap with -lm/--load-mode: the facts must say so...
    assert flags["--no-mmap"] is False
    assert flags["--load-mode"] is True and flags["-lm"] is True
    # ...and the binary must agree: the accepted form parses, the rejected one does not.
    accepted = host.run(f"{PREFIX}/current/bin/llama-server -lm none --version")
    assert accepted.rc == 0, accepted.stdout + accepted.stderr
    rejected = host.run(f"{PREFIX}/current/bin/llama-server --no-mmap --version")
    assert rejected.rc != 0


def test_the_idempotent_rerun_compiled_nothing(host):
    stamp = llama_facts(host)["stamp"]
    log = host.file(f"/var/log/sparkops/llama-cpp-build-{stamp}.log").content_string
    assert log.count("llama.cpp build ") == 1, "the build script ran more than once"


WORK = "/var/cache/sparkops/llama.cpp"
PATCHED_CALL = "sparkops_fast_top_k(gsmpl, ctx, idx, grammar_first)"


def grep_patch_code(host):
    """grep's exit status for the patch's log line in the current build's common library:
    0 found, 1 not found (2, a missing library, fails both assertions below)."""
    return host.run(
        f"grep -l 'sparkops sampling-fast-top-k patch' {PREFIX}/current/lib/libllama-common.so*"
    )


def test_the_build_carries_the_sampler_patch_and_the_source_stays_upstream(host):
    facts = llama_facts(host)
    info = json.loads(host.file(f"{PREFIX}/{facts['stamp']}/build-info.json").content_string)
    assert info["patches"] == facts["patches"] == ["sampling-fast-top-k"]
    patched = host.file(f"{WORK}/src/patched/common/sampling.cpp").content_string
    assert patched.count(PATCHED_CALL) == 1
    # The unpacked archive stays as upstream has it: a re-run compares against it.
    upstream = host.run(f"cat {WORK}/src/archive-*/common/sampling.cpp")
    assert upstream.rc == 0 and "set_logits" in upstream.stdout
    assert "sparkops" not in upstream.stdout
    # Compiled in: the patch's log line is in the installed common library.
    found = grep_patch_code(host)
    assert found.rc == 0, found.stderr


def test_patches_on_another_commit_are_refused_before_anything_changes(host, scenario_dir):
    before = host.run(f"ls -l --full-time {PREFIX}").stdout
    other = {"llama_cpp_archive_commit": "1" * 40}
    run = run_playbook(scenario_dir / "converge.yml", other)
    assert run.returncode != 0
    said = " ".join(run.output.split())
    assert "were tested on llama.cpp 0c1e57098bba43ac29e6e3b677cdceebdd22334f" in said, (
        run.describe()
    )
    assert "Set llama_cpp_patches: [] to build that source" in said
    assert host.run(f"ls -l --full-time {PREFIX}").stdout == before


def test_no_patches_builds_upstream_under_its_own_stamp(host, scenario_dir):
    patched_stamp = llama_facts(host)["stamp"]
    run = run_playbook(scenario_dir / "converge.yml", {"llama_cpp_patches": []})
    assert run.returncode == 0, run.describe()
    facts = llama_facts(host)
    assert facts["stamp"] != patched_stamp and facts["patches"] == []
    log = host.file(f"/var/log/sparkops/llama-cpp-build-{facts['stamp']}.log").content_string
    assert "patch sampling-fast-top-k" not in log
    found = grep_patch_code(host)
    assert found.rc == 1, (
        f"the unpatched build carries the patch's code: {found.stdout}{found.stderr}"
    )
    # Back to the default: the patched build is still there, so nothing is compiled.
    back = run_playbook(scenario_dir / "converge.yml")
    assert back.returncode == 0, back.describe()
    assert llama_facts(host)["stamp"] == patched_stamp
    log = host.file(f"/var/log/sparkops/llama-cpp-build-{patched_stamp}.log").content_string
    assert log.count("llama.cpp build ") == 1


NEW_FLAG = {"llama_cpp_cmake_extra_args": ["-DLLAMA_BUILD_NUMBER=4242"]}


def test_a_build_killed_midway_leaves_current_and_no_half_build_in_place(host, scenario_dir):
    before = prefix_entries(host)
    in_use = current_stamp(host)
    # After configure, before the link: ninja runs and has compiled 5 objects of the new stamp,
    # whose log is the newest (the others are not written by this run).
    compiling = (
        'pgrep -f "cmake --build" >/dev/null && [ "$(grep -c "^\\[[0-9]*/[0-9]*\\]" '
        '"$(ls -t /var/log/sparkops/llama-cpp-build-*.log | head -n 1)")" -ge 5 ]'
    )
    interrupt.arm(host, compiling, f"{WORK}/build/.*[.]sh")
    run = run_playbook(scenario_dir / "converge.yml", NEW_FLAG)
    assert interrupt.killed(host), run.describe()
    log = host.check_output("ls -t /var/log/sparkops/llama-cpp-build-*.log | head -n 1")
    stamp = log.rsplit("llama-cpp-build-", 1)[1][: -len(".log")]
    assert run.returncode != 0, run.describe()
    assert f"llama.cpp cpu build {stamp} failed (rc=" in " ".join(run.output.split())
    text = host.file(log).content_string
    done, total = map(int, re.findall(r"^\[(\d+)/(\d+)\]", text, re.M)[-1])
    # (cmake may say "make sure Git is installed": only the install line counts.)
    assert 5 <= done < total and f"installed {PREFIX}/" not in text, (done, total)
    # Nothing half-built in place: no folder of the new stamp, current still on the build in use.
    assert prefix_entries(host) == before, (before, stamp)
    assert current_stamp(host) == in_use
    assert host.run(f"{PREFIX}/current/bin/llama-server --version").rc == 0


def test_a_changed_flag_builds_a_new_stamp_once_then_settles(host, scenario_dir):
    first_stamp = llama_facts(host)["stamp"]
    extra = NEW_FLAG
    run = run_playbook(scenario_dir / "converge.yml", extra)
    assert run.returncode == 0, run.describe()
    second_stamp = llama_facts(host)["stamp"]
    assert second_stamp != first_stamp
    assert current_stamp(host) == second_stamp
    assert host.file(f"{PREFIX}/{first_stamp}/build-info.json").exists  # previous build kept
    # The build killed in the test before was repaired: complete, and no stage left behind.
    assert host.run(f"{PREFIX}/current/bin/llama-server --version").rc == 0
    assert [name for name in prefix_entries(host) if name.endswith(".partial")] == []
    log = host.file(f"/var/log/sparkops/llama-cpp-build-{second_stamp}.log").content_string
    assert log.count(f"installed {PREFIX}/{second_stamp}") == 1

    again = run_playbook(scenario_dir / "converge.yml", extra)
    assert again.changed == 0, again.describe()


def test_rollback_switches_current_without_building(host, scenario_dir):
    builds = sorted(
        line for line in host.run(f"ls {PREFIX}").stdout.split() if line not in ("current",)
    )
    newest = current_stamp(host)
    older = next(stamp for stamp in builds if stamp != newest)
    run = run_playbook(scenario_dir / "converge.yml", {"llama_cpp_rollback_to": older})
    assert run.returncode == 0, run.describe()
    assert current_stamp(host) == older
    assert llama_facts(host)["stamp"] == older
    # Nothing was built: the same folders, and the older build's log still holds one build.
    assert sorted(set(host.run(f"ls {PREFIX}").stdout.split()) - {"current"}) == builds
    log = host.file(f"/var/log/sparkops/llama-cpp-build-{older}.log").content_string
    assert log.count("llama.cpp build ") == 1

    missing = run_playbook(scenario_dir / "converge.yml", {"llama_cpp_rollback_to": "no-such"})
    assert missing.returncode != 0
    assert "holds no complete build" in " ".join(missing.output.split()), missing.describe()


def test_keep_builds_prunes_all_but_the_current(host, scenario_dir):
    # Someone's own folder, a link to a folder elsewhere named like a stage, and a stage that a
    # killed build left (marked by the build script): only the last is the role's to remove.
    host.check_output(
        f"mkdir -p {PREFIX}/notes /root/keep && echo mine > {PREFIX}/notes/todo "
        "&& echo precious > /root/keep/file "
        f"&& ln -sfn /root/keep {PREFIX}/0000000-cpu-000.partial "
        f"&& mkdir -p {PREFIX}/1111111-cpu-111.partial/bin "
        f"&& touch {PREFIX}/1111111-cpu-111.partial/.sparkops-stage"
    )
    try:
        run = run_playbook(scenario_dir / "converge.yml", {"llama_cpp_keep_builds": 1})
        assert run.returncode == 0, run.describe()
        left = [name for name in prefix_entries(host) if name != "current"]
        expected = [".sparkops-owned", "0000000-cpu-000.partial", "notes", current_stamp(host)]
        assert left == sorted(expected)
        assert host.file(f"{PREFIX}/notes/todo").content_string == "mine\n"
        assert host.file("/root/keep/file").content_string == "precious\n"
    finally:
        host.run(f"rm -rf {PREFIX}/notes {PREFIX}/0000000-cpu-000.partial /root/keep")


def test_an_archive_with_another_sha256_is_refused_before_it_is_copied(host, scenario_dir):
    wrong = "0" * 64
    for mode in ([], ["--check"]):
        run = run_playbook(
            scenario_dir / "converge.yml", {"llama_cpp_archive_sha256": wrong}, *mode
        )
        assert run.returncode != 0 and run.changed == 0, run.describe()
        said = " ".join(run.output.split())
        assert "on the controller, but llama_cpp_archive_sha256 is " + wrong in said, run.describe()
        assert "is not the one you pinned" in said
    leftovers = host.run("ls /var/cache/sparkops/llama.cpp/downloads").stdout.split()
    assert all(wrong[:12] not in name for name in leftovers)


def host_snapshot(host) -> str:
    """What a refused setting could have touched: the role's folders and the system and user
    folders a bad setting names (entries with kind, size, mtime, mode, owner, link target)."""
    fmt = "'%p %y %s %T@ %m %u:%g %l\\n'"
    trees = host.check_output(
        f"find {PREFIX} /var/log/sparkops /home/dev -printf {fmt} | sort; "
        f"find {WORK} /var/cache/sparkops/ccache -maxdepth 2 -printf {fmt} | sort"
    )
    tops = host.check_output(
        "stat -c '%n %F %a %U:%G' / /opt /opt/sparkops /var/cache /var/log /tmp"
    )
    return trees + tops


BAD_INPUTS = [
    ({"llama_cpp_prefix": "/"}, "llama_cpp_prefix is /, which is a system folder", True),
    ({"llama_cpp_prefix": "/opt"}, "llama_cpp_prefix is /opt, which is a system folder", False),
    (
        {"llama_cpp_prefix": "/opt/sparkops"},
        "llama_cpp_prefix is /opt/sparkops, which is a folder the collection's roles share",
        False,
    ),
    (
        {"llama_cpp_prefix": "/home/dev"},
        "llama_cpp_prefix is /home/dev, which already holds files this collection did not put",
        True,
    ),
    (
        {"llama_cpp_work_dir": f"{PREFIX}/work"},
        f"llama_cpp_prefix is {PREFIX}, which holds {PREFIX}/work",
        False,
    ),
    (
        {"llama_cpp_work_dir": "/var/cache"},
        "llama_cpp_work_dir is /var/cache, which is a system",
        False,
    ),
    (
        {"llama_cpp_ccache_dir": "/tmp"},
        "llama_cpp_ccache_dir is /tmp, which is a system folder",
        False,
    ),
    (
        {"llama_cpp_log_dir": "/var/log"},
        "llama_cpp_log_dir is /var/log, which is a system folder",
        False,
    ),
    (
        {"llama_cpp_rollback_to": "../../../usr"},
        "llama_cpp_rollback_to, when set, is the name of a build folder under llama_cpp_prefix "
        "(got '../../../usr')",
        True,
    ),
    (
        {"llama_cpp_archive_sha256": "abc"},
        "llama_cpp_archive_sha256 (64 hex characters, got 'abc')",
        False,
    ),
    (
        {"llama_cpp_backend": "cuda"},
        "llama_cpp_backend is cuda but /usr/local/cuda/bin/nvcc does not exist",
        True,
    ),
]


# One input per refusing task also runs under --check: each refusal holds there too.
@pytest.mark.parametrize(("extra", "expected", "also_check"), BAD_INPUTS, ids=lambda v: str(v)[:40])
def test_bad_input_fails_clearly_and_changes_nothing(
    host, scenario_dir, extra, expected, also_check
):
    before = host_snapshot(host)
    for mode in ([], ["--check"]) if also_check else ([],):
        run = run_playbook(scenario_dir / "converge.yml", extra, *mode)
        assert run.returncode != 0, run.describe()
        assert expected in " ".join(run.output.split()), run.describe()
        assert run.changed == 0, run.describe()
        assert host_snapshot(host) == before, mode
