"""Folders a role makes root's and writes into: never a system or shared one, never someone
else's non-empty folder, and never one reached through a link to such a folder."""

from __future__ import annotations

import os

import pytest
from ansible_collections.sparkops.llm.plugins.module_utils import own_folders as of
from ansible_collections.sparkops.llm.plugins.modules import own_folders

DEFAULT = "/opt/sparkops/llama.cpp"


def problem(path, state=None, **kw):
    return of.folder_problem("llama_cpp_prefix", path, DEFAULT, state or {}, **kw)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/", "is a system folder"),
        ("/opt", "is a system folder"),
        ("/home", "is a system folder"),
        ("/var/lib", "is a system folder"),
        ("/opt/sparkops", "is a folder the collection's roles share"),
        ("opt/llama", "must be an absolute path"),
    ],
)
def test_system_and_shared_folders_are_refused_naming_the_variable(path, expected):
    message = problem(path)
    assert message.startswith("llama_cpp_prefix") and expected in message
    assert "turned off" not in message  # these roles keep their folder
    assert f"the default is {DEFAULT}" in message or "absolute" in message


def test_someone_elses_folder_is_refused_with_what_it_holds():
    state = {"kind": "dir", "real": "/home/alice", "entries": [".bashrc", "work"]}
    message = problem("/home/alice", state)
    assert "llama_cpp_prefix is /home/alice, which already holds files" in message
    assert "(.bashrc, work)" in message and "no .sparkops-owned marker" in message
    assert (
        f"Set llama_cpp_prefix to a new or empty folder of its own (the default is {DEFAULT})"
        in (message)
    )


@pytest.mark.parametrize(
    ("state", "kw"),
    [
        ({"kind": "absent"}, {}),
        ({"kind": "dir", "entries": []}, {}),
        ({"kind": "dir", "entries": ["a"], "marked": True}, {}),
        ({"kind": "dir", "entries": ["a"]}, {"unmarked_ok": ["/srv/llama"]}),
    ],
    ids=["absent", "empty", "marked", "made-by-an-earlier-release"],
)
def test_a_folder_of_its_own_is_accepted(state, kw):
    assert problem("/srv/llama", {"real": "/srv/llama", **state}, **kw) == ""


def test_a_link_to_a_system_folder_is_refused():
    message = problem("/srv/llama", {"kind": "dir", "link": True, "real": "/usr"})
    assert message.startswith("llama_cpp_prefix is /srv/llama, which leads to /usr:")
    assert "is a system folder" in message


def test_a_file_is_not_a_folder():
    assert "which is a file, not a folder" in problem("/srv/llama", {"kind": "file"})


def test_the_log_folder_may_be_the_shared_one_but_not_a_system_one():
    assert (
        of.folder_problem("weights_log_dir", "/var/log/sparkops", "/var/log/sparkops", {}, True)
        == ""
    )
    assert "is a system folder" in of.folder_problem(
        "weights_log_dir", "/var/log", "/var/log/sparkops", {}, True
    )


def test_the_module_refuses_a_full_foreign_folder_and_changes_nothing(tmp_path, module_runner):
    foreign = tmp_path / "data"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("mine")
    args = {
        "folders": [{"variable": "weights_models_dir", "path": str(foreign), "default": "/d"}],
        "mark": True,
    }
    failed, result = module_runner(own_folders.main, args)
    assert failed and "weights_models_dir is" in result["msg"] and "(thesis.tex)" in result["msg"]
    assert result["msg"].endswith("Nothing was changed.")
    assert sorted(os.listdir(foreign)) == ["thesis.tex"]


def test_the_module_marks_a_new_folder_then_accepts_it_with_files(tmp_path, module_runner):
    mine = tmp_path / "models"
    mine.mkdir()
    args = {"folders": [{"variable": "weights_models_dir", "path": str(mine), "default": "/d"}]}
    failed, result = module_runner(own_folders.main, {**args, "mark": True})
    assert not failed and result["changed"] and result["marked"] == [str(mine)]
    assert (mine / of.MARKER).read_text() == of.MARKER_TEXT
    (mine / "model").mkdir()
    failed, result = module_runner(own_folders.main, {**args, "mark": True})
    assert not failed and not result["changed"]


def test_a_link_named_like_the_marker_does_not_count(tmp_path, module_runner):
    folder = tmp_path / "f"
    folder.mkdir()
    (folder / "x").write_text("x")
    (folder / of.MARKER).symlink_to("/etc/hostname")
    args = {"folders": [{"variable": "v", "path": str(folder), "default": "/d"}]}
    failed, result = module_runner(own_folders.main, args)
    assert failed and "no .sparkops-owned marker" in result["msg"]


def test_the_module_follows_a_link_only_to_judge_where_it_leads(tmp_path, module_runner):
    link = tmp_path / "models"
    link.symlink_to("/etc")
    args = {"folders": [{"variable": "weights_models_dir", "path": str(link), "default": "/d"}]}
    failed, result = module_runner(own_folders.main, {**args, "mark": True})
    assert failed and "which leads to /etc" in result["msg"]
    assert not os.path.lexists("/etc/" + of.MARKER)


def test_the_roles_own_default_is_its_own_but_another_roles_folder_is_refused():
    own = ["/opt/sparkops/llama.cpp"]
    assert problem("/opt/sparkops/llama.cpp", {}, unmarked_ok=own) == ""
    message = of.folder_problem(
        "weights_models_dir",
        "/opt/sparkops/llama.cpp",
        "/var/lib/sparkops/models",
        {},
        unmarked_ok=["/var/lib/sparkops/models"],
    )
    assert "weights_models_dir is /opt/sparkops/llama.cpp, which is a folder the collection's" in (
        message
    )
    # The default still may not hold the role's other folders.
    message = problem("/opt/sparkops/llama.cpp", {}, unmarked_ok=own, others=[f"{DEFAULT}/work"])
    assert f"llama_cpp_prefix is {DEFAULT}, which holds {DEFAULT}/work" in message
