"""One call for what the roles' account and folder checks read on the host, answered in the
shapes the single-purpose modules gave (getent's fact, systemctl's output, stat's fields)."""

from __future__ import annotations

import os

import pytest
from ansible_collections.sparkops.llm.plugins.module_utils import host_lookup as h
from ansible_collections.sparkops.llm.plugins.modules import host_lookup

ENTRY = (
    "sparkops:x:998:998:sparkops.llm service account (engine):/var/lib/sparkops:/usr/sbin/nologin"
)


def test_an_entry_is_its_fields_after_the_name_as_getent_gives_them():
    assert h.getent_entries("sparkops", 0, ENTRY + "\n") == {
        "sparkops": [
            "x",
            "998",
            "998",
            "sparkops.llm service account (engine)",
            "/var/lib/sparkops",
            "/usr/sbin/nologin",
        ]
    }


def test_a_name_not_found_is_none_and_a_name_listed_twice_a_list():
    assert h.getent_entries("nobody-here", 2, "") == {"nobody-here": None}
    assert h.getent_entries("g", 0, "g:x:1:\ng:x:2:\n") == {"g": [["x", "1", ""], ["x", "2", ""]]}


@pytest.mark.parametrize(
    ("rc", "reason"), [(1, "database unknown"), (3, "Enumeration"), (9, "Unexpected")]
)
def test_other_getent_failures_say_why(rc, reason):
    with pytest.raises(ValueError, match=reason):
        h.getent_entries("x", rc, "")


def test_stat_fields_do_not_follow_a_link(tmp_path):
    (tmp_path / "folder").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "folder")
    folder = h.stat_fields(os.lstat(tmp_path / "folder"))
    link = h.stat_fields(os.lstat(tmp_path / "link"))
    assert folder["exists"] and folder["isdir"] and not folder["islnk"]
    assert link["exists"] and link["islnk"] and not link["isdir"]
    assert folder["uid"] == os.getuid() and "pw_name" in folder
    assert h.stat_fields(None) == {"exists": False}


def test_the_module_reads_everything_in_one_call(tmp_path, fake_bin, module_runner):
    calls = tmp_path / "calls"
    fake_bin(
        "getent",
        f'echo "$@" >> {calls}\n'
        'case "$1 $2" in\n'
        f'  "passwd sparkops") echo "{ENTRY}" ;;\n'
        '  "group sparkops") echo "sparkops:x:998:" ;;\n'
        "  *) exit 2 ;;\n"
        "esac\n",
    )
    fake_bin("systemctl", f'echo "$@" >> {calls}\nprintf "sparkops\\n\\n\\n"\n')
    (tmp_path / "etc").mkdir()

    failed, result = module_runner(
        host_lookup.main,
        {
            "passwd": ["sparkops", "ollama"],
            "group": ["sparkops"],
            "units": ["a.service", "b.service"],
            "properties": ["User"],
            "value": True,
            "paths": [str(tmp_path / "etc"), str(tmp_path / "missing")],
        },
    )
    assert not failed, result.get("msg")
    assert result["changed"] is False
    assert result["passwd"]["sparkops"][3] == "sparkops.llm service account (engine)"
    assert result["passwd"]["ollama"] is None
    assert result["group"] == {"sparkops": ["x", "998", ""]}
    assert result["show"] == {"stdout": "sparkops", "stdout_lines": ["sparkops"]}
    assert [s["path"] for s in result["stats"]] == [
        str(tmp_path / "etc"),
        str(tmp_path / "missing"),
    ]
    assert result["stats"][0]["stat"]["isdir"] and not result["stats"][1]["stat"]["exists"]
    assert "show --property=User --value a.service b.service" in calls.read_text().splitlines()
    assert result["units"] == {}  # values only: no properties to name


def test_the_units_properties_come_by_unit(fake_bin, module_runner):
    fake_bin("systemctl", 'printf "Id=a.service\\nUser=sparkops\\n\\nId=b.service\\nUser=\\n"\n')
    failed, result = module_runner(
        host_lookup.main, {"units": ["a.service", "b.service"], "properties": ["Id", "User"]}
    )
    assert not failed, result.get("msg")
    assert result["units"]["a.service"]["User"] == "sparkops"
    assert result["units"]["b.service"] == {"Id": "b.service", "User": ""}


def test_nothing_asked_runs_nothing(tmp_path, fake_bin, module_runner):
    calls = tmp_path / "calls"
    fake_bin("systemctl", f"touch {calls}\n")
    failed, result = module_runner(host_lookup.main, {})
    assert not failed and result["show"] == {"stdout": "", "stdout_lines": []}
    assert result["passwd"] == {} and result["stats"] == [] and not calls.exists()


def test_a_failing_systemctl_fails_the_task(fake_bin, module_runner):
    fake_bin("systemctl", "echo 'Failed to connect to bus' >&2; exit 1\n")
    failed, result = module_runner(
        host_lookup.main, {"units": ["a.service"], "properties": ["User"]}
    )
    assert failed and "Failed to connect to bus" in result["msg"]


def test_unit_properties_are_keyed_by_the_names_asked_in_their_order():
    out = (
        "Id=a.service\nLoadState=loaded\nSubState=running\nUser=sparkops\n\n"
        "Id=b.service\nLoadState=not-found\nSubState=dead\nUser=\n"
    )
    assert h.unit_properties(["a.service", "b.service"], out) == {
        "a.service": {
            "Id": "a.service",
            "LoadState": "loaded",
            "SubState": "running",
            "User": "sparkops",
        },
        "b.service": {"Id": "b.service", "LoadState": "not-found", "SubState": "dead", "User": ""},
    }
    assert h.unit_properties([], "") == {}
    with pytest.raises(ValueError, match="showed 2 units for the 1 asked"):
        h.unit_properties(["a.service"], out)


def test_a_path_under_a_file_is_absent_not_a_crash(tmp_path):
    folder = tmp_path / "sparkops"
    folder.write_text("a file where a folder was expected")
    assert host_lookup.lstat_or_none(str(folder / "llama-server.key")) is None
    assert host_lookup.lstat_or_none(str(folder)) is not None
