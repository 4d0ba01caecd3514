"""What a user checks after the llama_cpp role built llama.cpp on the simulated Spark.

The container has no CUDA toolkit, so this is the CPU build from the offline source archive
(tests/testbed/llama-cpp-archive.sh); the CUDA build for sm_121 is proven on a GPU machine
(see roles/llama_cpp/README.md). Tests run in file order: state first, then a second stamp,
rollback, pruning and a corrupt archive.
"""

from __future__ import annotations

import json

from conftest import run_playbook

PREFIX = "/opt/sparkops/llama.cpp"
FACTS = "/etc/ansible/facts.d/sparkops.fact"


def llama_facts(host):
    return json.loads(host.file(FACTS).content_string)["llama_cpp"]


def current_stamp(host):
    return host.file(f"{PREFIX}/current").linked_to.rsplit("/", 1)[-1]


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
    assert "were written for llama.cpp 0c1e57098bba43ac29e6e3b677cdceebdd22334f" in said, (
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


def test_a_changed_flag_builds_a_new_stamp_once_then_settles(host, scenario_dir):
    first_stamp = llama_facts(host)["stamp"]
    extra = {"llama_cpp_cmake_extra_args": ["-DLLAMA_BUILD_NUMBER=4242"]}
    run = run_playbook(scenario_dir / "converge.yml", extra)
    assert run.returncode == 0, run.describe()
    second_stamp = llama_facts(host)["stamp"]
    assert second_stamp != first_stamp
    assert current_stamp(host) == second_stamp
    assert host.file(f"{PREFIX}/{first_stamp}/build-info.json").exists  # previous build kept

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
    run = run_playbook(scenario_dir / "converge.yml", {"llama_cpp_keep_builds": 1})
    assert run.returncode == 0, run.describe()
    left = [name for name in host.run(f"ls {PREFIX}").stdout.split() if name != "current"]
    assert left == [current_stamp(host)]


def test_an_archive_with_another_sha256_is_refused_and_removed(host, scenario_dir):
    wrong = "0" * 64
    run = run_playbook(scenario_dir / "converge.yml", {"llama_cpp_archive_sha256": wrong})
    assert run.returncode != 0
    assert "is not the one you pinned" in " ".join(run.output.split()), run.describe()
    leftovers = host.run("ls /var/cache/sparkops/llama.cpp/downloads").stdout.split()
    assert all(wrong[:12] not in name for name in leftovers)
