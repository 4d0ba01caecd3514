# Copyright: sparkops.llm maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""sparkops.llm.systemd_unit: a unit is installed only after systemd-analyze verify accepts it.

Most tests drive the module with a stand-in systemd-analyze that records what it was given and
answers with output captured from systemd 252; the last ones use the real systemd-analyze
where it exists (and the captured answer where it does not, never a skip).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile

import pytest
from ansible_collections.sparkops.llm.plugins.module_utils.systemd_unit import (
    UnitNameError,
    assess_verify,
    describe_problems,
    normalise_content,
    split_unit_name,
    supports_recursive_errors,
    unit_states,
)
from ansible_collections.sparkops.llm.plugins.modules import systemd_unit

GOOD = "[Unit]\nDescription=test\n[Service]\nExecStart=/bin/true\n"
GOOD_2 = "[Unit]\nDescription=test, second version\n[Service]\nExecStart=/bin/true\n"
TMP = "/tmp/sparkops-unit-abc123"
# systemd 252's answers (Debian 12), captured by running verify on such units.
UNBALANCED = (
    f'{TMP}/t.service:2: Unbalanced quoting, ignoring: "/bin/true "abc"\n'
    "t.service: Unit configuration has fatal error, unit will not be started.\n"
    "Unit t.service has a bad unit file setting.\n"
)
UNKNOWN_KEY = f"{TMP}/t.service:3: Unknown key 'Bogus' in section [Service], ignoring.\n"
MISSING = "t.service: Command /opt/nothing/here is not executable: No such file or directory\n"
OTHER_UNIT = "/lib/systemd/system/docker.service:12: Unknown key 'Foo' in section [Service]\n"

FAKE_ANALYZE = r"""
if [ "$1" = "--version" ]; then echo "${FAKE_VERSION:-systemd 252 (252.38-1~deb12u1)}"; exit 0; fi
echo "$@" >> "$FAKE_LOG"
for last; do :; done
[ -e "$FAKE_CAPTURE" ] || /bin/cp -r "${last%/*}" "$FAKE_CAPTURE"
[ -z "$FAKE_STDERR" ] || printf '%s' "$FAKE_STDERR" | /bin/sed "s#@TMP@#${last%/*}#g" >&2
exit "${FAKE_RC:-0}"
"""


# ---------------------------------------------------------------- pure helpers


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("sparkops-llama-server.service", ("sparkops-llama-server.service", None)),
        ("ollama.service.d/sparkops.conf", ("ollama.service", "sparkops.conf")),
        ("getty@tty1.service", ("getty@tty1.service", None)),
        ("ray-worker@.service", ("ray-worker@.service", None)),
        ("a.timer", ("a.timer", None)),
    ],
)
def test_unit_and_drop_in_names_are_split(name, expected):
    assert split_unit_name(name) == expected


@pytest.mark.parametrize(
    "name",
    [
        "sparkops",
        "x.services",
        "../x.service",
        "sub/x.service",
        "/etc/systemd/system/x.service",
        ".hidden.service",
        "x.service.d/../../y.conf",
        "x.service.d/y.txt",
        "x.service.d/sub/y.conf",
        "x.service.d/.y.conf",
        "x y.service",
        "x.service\n",
    ],
)
def test_names_that_are_not_a_unit_or_drop_in_are_refused(name):
    with pytest.raises(UnitNameError):
        split_unit_name(name)


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("systemd 252 (252.38-1~deb12u1)\n+PAM +AUDIT", True),
        ("systemd 255 (255.4-1ubuntu8)", True),
        ("systemd 249 (249.11-0ubuntu3)", False),
        ("", False),
    ],
)
def test_recursive_errors_no_is_used_from_systemd_250(version, expected):
    assert supports_recursive_errors(version) is expected


def test_content_ends_with_exactly_one_newline():
    assert normalise_content("a\n[b]") == b"a\n[b]\n"
    assert normalise_content("a\n\n\n") == b"a\n"


def test_an_unbalanced_quote_is_a_problem():
    problems, missing = assess_verify(1, UNBALANCED, TMP, "t.service", check_mode=False)
    assert len(problems) == 3 and missing == []


def test_a_warning_about_the_new_file_is_a_problem_even_with_status_0():
    problems, _ = assess_verify(0, UNKNOWN_KEY, TMP, "t.service", check_mode=False)
    assert problems == [UNKNOWN_KEY.strip()]


def test_lines_about_other_units_are_not_problems():
    assert assess_verify(0, OTHER_UNIT, TMP, "t.service", check_mode=False) == ([], [])


def test_a_failure_without_a_line_about_the_unit_still_fails_and_shows_everything():
    problems, _ = assess_verify(1, OTHER_UNIT, TMP, "t.service", check_mode=False)
    assert problems == [OTHER_UNIT.strip()]
    problems, _ = assess_verify(1, "", TMP, "t.service", check_mode=True)
    assert problems == ["systemd-analyze verify exited with status 1 and said nothing"]


def test_a_missing_executable_is_a_problem_outside_check_mode_only():
    assert assess_verify(1, MISSING, TMP, "t.service", check_mode=False) == (
        [MISSING.strip()],
        ["/opt/nothing/here"],
    )
    assert assess_verify(1, MISSING, TMP, "t.service", check_mode=True) == (
        [],
        ["/opt/nothing/here"],
    )
    # ...but only the executable: anything else wrong still fails in check mode.
    problems, _ = assess_verify(1, MISSING + UNKNOWN_KEY, TMP, "t.service", check_mode=True)
    assert problems == [UNKNOWN_KEY.strip()]


def test_problems_name_the_unit_not_the_temporary_copy():
    assert describe_problems([UNKNOWN_KEY.strip()], TMP) == [
        "t.service:3: Unknown key 'Bogus' in section [Service], ignoring."
    ]


# ---------------------------------------------------------------- the module, stand-in verify


@pytest.fixture
def temp_root(tmp_path, monkeypatch):
    """Where the module makes its temporary folder, to prove it is removed on every path."""
    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    return root


@pytest.fixture
def analyze(tmp_path, fake_bin, monkeypatch, temp_root):
    fake_bin("systemd-analyze", FAKE_ANALYZE)
    log = tmp_path / "analyze.log"
    capture = tmp_path / "capture"
    monkeypatch.setenv("FAKE_LOG", str(log))
    monkeypatch.setenv("FAKE_CAPTURE", str(capture))

    class Analyze:
        def answer(self, rc=0, stderr=""):
            monkeypatch.setenv("FAKE_RC", str(rc))
            monkeypatch.setenv("FAKE_STDERR", stderr.replace(TMP, "@TMP@"))

        def calls(self):
            return log.read_text().splitlines() if log.exists() else []

        capture_dir = capture

    return Analyze()


@pytest.fixture
def units(tmp_path):
    folder = tmp_path / "system"
    folder.mkdir()
    return folder


@pytest.fixture
def warned(monkeypatch):
    """The module's warnings (ansible-core 2.19 routes them by process type; record them here)."""
    messages = []
    monkeypatch.setattr(
        systemd_unit.AnsibleModule, "warn", lambda self, message: messages.append(message)
    )
    return messages


def install(module_runner, units, name="t.service", content=GOOD, **extra):
    return module_runner(
        systemd_unit.main, {"name": name, "content": content, "dest": str(units), **extra}
    )


def test_a_new_unit_is_verified_under_its_own_name_then_installed(
    module_runner, units, analyze, temp_root
):
    failed, result = install(module_runner, units)
    assert not failed and result["changed"] and result["verified"]
    unit = units / "t.service"
    assert unit.read_text() == GOOD
    assert stat.S_IMODE(unit.stat().st_mode) == 0o644
    (call,) = analyze.calls()
    args = call.split()
    assert args[:2] == ["verify", "--recursive-errors=no"]
    assert os.path.basename(args[2]) == "t.service"
    assert (analyze.capture_dir / "t.service").read_text() == GOOD
    assert "backup_file" not in result
    assert list(temp_root.iterdir()) == []
    # No temporary file left beside the unit either.
    assert sorted(p.name for p in units.iterdir()) == ["t.service"]


def test_a_rerun_with_the_same_content_changes_nothing_and_does_not_verify(
    module_runner, units, analyze
):
    install(module_runner, units)
    failed, result = install(module_runner, units)
    assert not failed and not result["changed"] and not result["verified"]
    assert len(analyze.calls()) == 1


def test_a_replaced_unit_is_kept_as_a_backup(module_runner, units, analyze):
    install(module_runner, units)
    failed, result = install(module_runner, units, content=GOOD_2)
    assert not failed and result["changed"]
    assert (units / "t.service").read_text() == GOOD_2
    backup = units / "t.service.sparkops-backup"
    assert result["backup_file"] == str(backup)
    assert backup.read_text() == GOOD and stat.S_IMODE(backup.stat().st_mode) == 0o644


def test_a_refused_unit_leaves_the_installed_one_and_no_backup(
    module_runner, units, analyze, temp_root
):
    install(module_runner, units)
    analyze.answer(1, UNBALANCED)
    failed, result = install(module_runner, units, content=GOOD_2)
    assert failed and not result["changed"]
    assert "t.service was not installed: systemd-analyze verify refused" in result["msg"]
    assert "t.service:2: Unbalanced quoting" in result["msg"] and TMP not in result["msg"]
    assert (units / "t.service").read_text() == GOOD
    assert sorted(p.name for p in units.iterdir()) == ["t.service"]
    assert list(temp_root.iterdir()) == []


def test_a_warning_about_the_new_content_refuses_it(module_runner, units, analyze):
    analyze.answer(0, UNKNOWN_KEY)
    failed, result = install(module_runner, units)
    assert failed and "Unknown key 'Bogus'" in result["msg"]
    assert not (units / "t.service").exists()


def test_warnings_about_other_units_do_not_refuse_it(module_runner, units, analyze):
    analyze.answer(0, OTHER_UNIT)
    failed, result = install(module_runner, units)
    assert not failed and (units / "t.service").read_text() == GOOD


def test_old_systemd_verifies_without_recursive_errors(module_runner, units, analyze, monkeypatch):
    monkeypatch.setenv("FAKE_VERSION", "systemd 249 (249.11-0ubuntu3)")
    install(module_runner, units)
    (call,) = analyze.calls()
    assert "--recursive-errors" not in call


def test_check_mode_reports_the_change_with_a_diff_and_writes_nothing(
    module_runner, units, analyze
):
    install(module_runner, units)
    failed, result = install(
        module_runner, units, content=GOOD_2, _ansible_check_mode=True, _ansible_diff=True
    )
    assert not failed and result["changed"]
    assert result["diff"]["before"] == GOOD and result["diff"]["after"] == GOOD_2
    assert (units / "t.service").read_text() == GOOD
    assert not (units / "t.service.sparkops-backup").exists()


def test_check_mode_tolerates_only_a_missing_executable(module_runner, units, analyze, warned):
    analyze.answer(1, MISSING)
    failed, result = install(module_runner, units, _ansible_check_mode=True)
    assert not failed and result["changed"]
    assert result["missing_executables"] == ["/opt/nothing/here"]
    assert any("/opt/nothing/here does not exist yet" in message for message in warned)
    assert not (units / "t.service").exists()
    failed, result = install(module_runner, units)
    assert failed and "is not executable" in result["msg"]
    assert not (units / "t.service").exists()
    analyze.answer(1, MISSING + UNKNOWN_KEY)
    failed, result = install(module_runner, units, _ansible_check_mode=True)
    assert failed and "Unknown key" in result["msg"]


def test_a_symlinked_unit_is_refused_and_left_alone(module_runner, units, analyze, tmp_path):
    elsewhere = tmp_path / "elsewhere.service"
    elsewhere.write_text("precious\n")
    (units / "t.service").symlink_to(elsewhere)
    failed, result = install(module_runner, units)
    assert failed and "is a symbolic link" in result["msg"]
    assert elsewhere.read_text() == "precious\n" and (units / "t.service").is_symlink()
    assert analyze.calls() == []


def test_a_masked_unit_is_refused(module_runner, units, analyze):
    (units / "t.service").symlink_to("/dev/null")
    failed, result = install(module_runner, units)
    assert failed and "systemctl unmask" in result["msg"]


def test_a_folder_in_the_units_place_is_refused(module_runner, units, analyze):
    (units / "t.service").mkdir()
    failed, result = install(module_runner, units)
    assert failed and "is not a regular file" in result["msg"]


def test_a_symlinked_drop_in_folder_is_refused(module_runner, units, analyze, tmp_path):
    install(module_runner, units)
    target = tmp_path / "other"
    target.mkdir()
    (units / "t.service.d").symlink_to(target)
    failed, result = install(module_runner, units, name="t.service.d/x.conf", content="[Service]\n")
    assert failed and "is a symbolic link" in result["msg"]
    assert list(target.iterdir()) == []


def test_a_wrong_name_is_refused_before_anything(module_runner, units, analyze):
    failed, result = install(module_runner, units, name="../t.service")
    assert failed and "is not a unit file name" in result["msg"]
    assert analyze.calls() == [] and list(units.iterdir()) == []


def test_mode_drift_is_repaired_without_verify(module_runner, units, analyze):
    install(module_runner, units)
    (units / "t.service").chmod(0o666)
    failed, result = install(module_runner, units)
    assert not failed and result["changed"]
    assert stat.S_IMODE((units / "t.service").stat().st_mode) == 0o644
    assert len(analyze.calls()) == 1


DROP_IN = '[Service]\nEnvironment="OLLAMA_HOST=127.0.0.1:11434"\n'


def test_a_drop_in_is_verified_with_its_installed_unit(module_runner, units, analyze, temp_root):
    install(module_runner, units)
    shutil.rmtree(analyze.capture_dir)
    failed, result = install(
        module_runner, units, name="t.service.d/sparkops.conf", content=DROP_IN
    )
    assert not failed and result["changed"]
    folder = units / "t.service.d"
    assert (folder / "sparkops.conf").read_text() == DROP_IN
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755
    last = analyze.calls()[-1].split()
    assert os.path.basename(last[-1]) == "t.service"
    assert (analyze.capture_dir / "t.service").read_text() == GOOD
    assert (analyze.capture_dir / "t.service.d" / "sparkops.conf").read_text() == DROP_IN
    assert list(temp_root.iterdir()) == []


def test_a_drop_in_without_its_unit_waits_for_it_except_in_check_mode(
    module_runner, units, analyze, warned
):
    failed, result = install(module_runner, units, name="t.service.d/x.conf", content=DROP_IN)
    assert failed and "t.service is not installed" in result["msg"]
    assert not (units / "t.service.d").exists()
    failed, result = install(
        module_runner, units, name="t.service.d/x.conf", content=DROP_IN, _ansible_check_mode=True
    )
    assert not failed and result["changed"]
    assert any("verified beside a stub" in message for message in warned)
    assert not (units / "t.service.d").exists()


# ---------------------------------------------------------------- the module, real verify

REAL = shutil.which("systemd-analyze")


def use_verify(monkeypatch, tmp_path, rc, stderr):
    """The real systemd-analyze; where it is missing, its answer captured for the case."""
    if REAL:
        return
    bindir = tmp_path / "bin"
    bindir.mkdir()
    script = bindir / "systemd-analyze"
    script.write_text("#!/bin/sh\n" + FAKE_ANALYZE)
    script.chmod(0o755)
    monkeypatch.setenv("PATH", str(bindir))
    monkeypatch.setenv("FAKE_LOG", str(tmp_path / "analyze.log"))
    monkeypatch.setenv("FAKE_CAPTURE", str(tmp_path / "capture"))
    monkeypatch.setenv("FAKE_RC", str(rc))
    monkeypatch.setenv("FAKE_STDERR", stderr)


def test_real_verify_accepts_a_good_unit(module_runner, units, monkeypatch, tmp_path, temp_root):
    use_verify(monkeypatch, tmp_path, 0, "")
    failed, result = install(module_runner, units, name="sparkops-test.service")
    assert not failed and result["verified"], json.dumps(result)
    assert list(temp_root.iterdir()) == []


def test_real_verify_refuses_an_unbalanced_quote_and_the_unit_stays(
    module_runner, units, monkeypatch, tmp_path, temp_root
):
    (units / "sparkops-test.service").write_text(GOOD)
    use_verify(
        monkeypatch,
        tmp_path,
        1,
        '@TMP@/sparkops-test.service:4: Unbalanced quoting, ignoring: "/bin/true "abc"\n'
        "sparkops-test.service: Unit configuration has fatal error, unit will not be started.\n",
    )
    bad = GOOD.replace("ExecStart=/bin/true", 'ExecStart=/bin/true "abc')
    failed, result = install(module_runner, units, name="sparkops-test.service", content=bad)
    assert failed and "sparkops-test.service:4: Unbalanced quoting" in result["msg"]
    assert (units / "sparkops-test.service").read_text() == GOOD
    assert list(temp_root.iterdir()) == []


def test_real_verify_checks_a_drop_in_with_its_unit(module_runner, units, monkeypatch, tmp_path):
    (units / "sparkops-test.service").write_text(GOOD)
    use_verify(
        monkeypatch,
        tmp_path,
        1,
        "@TMP@/sparkops-test.service.d/x.conf:2: "
        "ReadOnlyPaths= path is not normalized, ignoring: /var/lib/x/../y\n",
    )
    failed, result = install(
        module_runner,
        units,
        name="sparkops-test.service.d/x.conf",
        content="[Service]\nReadOnlyPaths=/var/lib/x/../y\n",
    )
    assert failed and "sparkops-test.service.d/x.conf:2: ReadOnlyPaths=" in result["msg"]
    assert not (units / "sparkops-test.service.d" / "x.conf").exists()


def test_unit_states_read_systemctl_show_as_service_facts_would():
    # systemctl show --property=Id,LoadState,SubState for a running, a stopped and an unknown
    # unit (systemd 252, bookworm; the property order is systemd's, not the request's).
    output = (
        "Id=sparkops-llama-server.service\nLoadState=loaded\nSubState=running\n\n"
        "LoadState=loaded\nSubState=dead\nId=ollama.service\n\n"
        "Id=sparkops-sglang.service\nLoadState=not-found\nSubState=dead\n\n"
        # Its unit file removed while it runs: still an engine that serves.
        "Id=sparkops-vllm.service\nLoadState=not-found\nSubState=running\n"
    )
    assert unit_states(output) == {
        "sparkops-llama-server.service": {"state": "running", "load": "loaded"},
        "ollama.service": {"state": "stopped", "load": "loaded"},
        "sparkops-vllm.service": {"state": "running", "load": "not-found"},
    }
    assert unit_states("") == {}
