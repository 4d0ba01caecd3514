# Copyright: sparkops.llm maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Values quoted for unit files reach the process (or the setting) byte for byte.

Two judges, both independent of the code under test: the real systemd (systemd_loader: what
systemd-analyze loads, or systemd 252's recorded answer where it is missing) and a strict parser
written from systemd's documentation (systemd_reference).
"""

from __future__ import annotations

import random
import shlex

import pytest
import systemd_loader
import systemd_reference as ref
from ansible_collections.sparkops.llm.plugins.module_utils.systemd_quote import (
    SystemdQuoteError,
    environment,
    exec_command_line,
    path_list,
    text,
)

TRICKY = [
    '{"reasoning_effort": "high"}',
    '{"note": "100% of $HOME, ${X}; \'q\' \\"dq\\" back\\\\slash"}',
    "100%",
    "%n",
    "%%",
    "$HOME",
    "${X}",
    "$",
    "$$",
    "a$b",
    'say "hi"',
    "it's",
    "back\\slash",
    "trailing\\",
    "\\x41",
    "\\;",
    "two words",
    " leading and trailing ",
    "tab\there",
    "new\nline",
    "cr\rlf",
    "\x01\x1b\x7f",
    "semi;colon",
    ";",
    "",
    "-",
    "--flag=value",
    "ünïcødé 😀",
    "日本語 テキスト",
    "#not-a-comment",
    "`backtick` !bang *glob? [x] {y} (z) <a> |b &c ~d",
]
EXECUTABLE = "/usr/bin/true"


def test_a_json_argument_is_quoted_and_escaped():
    assert (
        exec_command_line([EXECUTABLE, "--chat-template-kwargs", '{"reasoning_effort": "high"}'])
        == '/usr/bin/true --chat-template-kwargs "{\\"reasoning_effort\\": \\"high\\"}"'
    )


def test_percent_and_dollar_are_doubled_and_plain_words_stay_bare():
    assert exec_command_line([EXECUTABLE, "-c", "8192", "100%", "$X"]) == (
        '/usr/bin/true -c 8192 "100%%" "$$X"'
    )


def test_an_empty_argument_is_two_quotes():
    assert exec_command_line([EXECUTABLE, "", "x"]) == '/usr/bin/true "" x'


def test_control_characters_are_c_escapes():
    assert exec_command_line([EXECUTABLE, "a\tb\nc\x01"]) == '/usr/bin/true "a\\tb\\nc\\x01"'


@pytest.mark.parametrize("arg", TRICKY, ids=repr)
def test_each_tricky_argument_reaches_the_process_unchanged_per_the_documentation(arg):
    line = exec_command_line([EXECUTABLE, "--x", arg, "--y"])
    assert ref.parse_exec_line(line) == [[EXECUTABLE, "--x", arg, "--y"]]


def test_systemd_loads_every_tricky_argument_unchanged():
    """All of them on one line: one command, every word as given once "$$" becomes "$" when
    the command is spawned (systemd.service(5): "To pass a literal dollar sign, use "$$"")."""
    line = exec_command_line([EXECUTABLE, *TRICKY])
    (loaded,) = systemd_loader.exec_argvs(line)
    assert [ref.expand_dollars(word) for word in loaded] == [EXECUTABLE, *TRICKY]


def test_systemd_keeps_a_quoted_semicolon_as_an_argument_and_a_bare_one_splits():
    quoted = exec_command_line([EXECUTABLE, "a", ";", "b"])
    assert systemd_loader.exec_argvs(quoted) == [[EXECUTABLE, "a", ";", "b"]]
    assert systemd_loader.exec_argvs(f"{EXECUTABLE} a ; {EXECUTABLE} b") == [
        [EXECUTABLE, "a"],
        [EXECUTABLE, "b"],
    ]


JSON = '{"reasoning_effort": "high"}'


@pytest.mark.parametrize(
    ("naive", "intended"),
    [
        # The llama-server template's old rule: quotes around words with whitespace, nothing else.
        (f'{EXECUTABLE} --chat-template-kwargs "{JSON}"', ["--chat-template-kwargs", JSON]),
        # Shell quoting (the SGLang template's old map('quote')) is not systemd quoting:
        (shlex.join([EXECUTABLE, "50%n"]), ["50%n"]),  # %n is the unit name
        (shlex.join([EXECUTABLE, "$HOME"]), ["$HOME"]),  # expanded when spawned
        (shlex.join([EXECUTABLE, "back\\slash"]), ["back\\slash"]),  # \s is a space
    ],
)
def test_the_old_quoting_does_not_survive_systemd(naive, intended):
    """Proves both judges can tell: what the filter replaced loses or changes the argument.
    systemd passes ``intended`` only if it loads it with every "$" doubled."""
    loaded = systemd_loader.exec_argvs(naive)
    assert loaded != [[EXECUTABLE, *(word.replace("$", "$$") for word in intended)]]
    try:
        read = ref.parse_exec_line(naive)
    except ref.UndefinedValue:
        read = None
    assert read != [[EXECUTABLE, *intended]]
    # ...and the filter's quoting of the same words passes both.
    quoted = exec_command_line([EXECUTABLE, *intended])
    assert systemd_loader.exec_argvs(quoted) == [
        [EXECUTABLE, *(word.replace("$", "$$") for word in intended)]
    ]
    assert ref.parse_exec_line(quoted) == [[EXECUTABLE, *intended]]


def test_random_strings_round_trip_through_the_documented_rules():
    alphabet = " \t\n\r\"'\\$%;{}#`!*?~&|<>()[]=@+:,./-_aZ09ü😀\x01\x7f"
    rng = random.Random(20260)
    for _ in range(3000):
        words = [
            "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
            for _ in range(rng.randint(1, 4))
        ]
        line = exec_command_line([EXECUTABLE, *words])
        assert ref.parse_exec_line(line) == [[EXECUTABLE, *words]], (words, line)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ("/usr/bin/true --x", "a command line is a list of words, got str"),
        ([], "the command line is empty"),
        (["true", "x"], "the executable must be an absolute path"),
        (["-/usr/bin/true"], "the executable must be an absolute path"),
        (["/usr/bin/$X"], "contains '$'"),
        (["/usr/bin/a\nb"], "contains the control character"),
        ([EXECUTABLE, "a\0b"], "argument 1 contains a NUL byte"),
        ([EXECUTABLE, "x", {"reasoning_effort": "high"}], "argument 2 is a dict, not a string"),
        ([EXECUTABLE, True], "argument 1 is the boolean True"),
        ([EXECUTABLE, None], "argument 1 is a NoneType"),
        ([EXECUTABLE, "\udc80"], "argument 1 is not valid Unicode"),
    ],
)
def test_values_no_command_line_can_carry_are_refused(argv, message):
    with pytest.raises(SystemdQuoteError, match=None) as exc:
        exec_command_line(argv)
    assert message in str(exc.value)


def test_numbers_are_taken_as_their_text():
    assert exec_command_line([EXECUTABLE, "--port", 8005, "--x", 0.75]) == (
        "/usr/bin/true --port 8005 --x 0.75"
    )


def test_a_dict_hint_says_to_quote_json_in_yaml_and_names_the_source():
    with pytest.raises(SystemdQuoteError) as exc:
        exec_command_line([EXECUTABLE, {"a": 1}], source="engine_llamacpp_extra_args")
    assert str(exc.value).startswith("engine_llamacpp_extra_args: argument 1 is a dict")
    assert "quote it" in str(exc.value)


def test_an_executable_path_with_spaces_and_percent_loads_as_written():
    line = exec_command_line(["/opt/my tools/100%/bin", "x"])
    assert line == '"/opt/my tools/100%%/bin" x'
    assert systemd_loader.exec_argvs(line) == [["/opt/my tools/100%/bin", "x"]]


PATHS = [
    "/var/lib/sparkops/models/gpt oss",
    "/srv/100%/models",
    '/srv/say "hi"',
    "/srv/back\\slash",
    "/srv/$HOME/models",
    "/srv/ünï 😀",
    "/srv/it's",
]


@pytest.mark.parametrize("path", PATHS, ids=repr)
def test_systemd_loads_each_read_only_path_as_written(path):
    value = path_list([path])
    assert ref.parse_path_list(value) == [path]
    assert systemd_loader.loaded_paths("ReadOnlyPaths", value) == [path]


def test_a_path_list_keeps_every_path():
    assert ref.parse_path_list(path_list(PATHS)) == PATHS


@pytest.mark.parametrize(
    ("paths", "message"),
    [
        ("/srv/x", "a path list is a list of paths, got str"),
        (["relative/x"], "path 1 must be an absolute path"),
        (["/srv/x", "/srv/tab\there"], "path 2 contains the control character '\\t'"),
        (["/srv/new\nline"], "control character"),
    ],
)
def test_paths_systemd_cannot_use_are_refused(paths, message):
    with pytest.raises(SystemdQuoteError) as exc:
        path_list(paths, source="engine_llamacpp_model_path")
    assert message in str(exc.value)
    assert str(exc.value).startswith("engine_llamacpp_model_path: ")


ENVIRONMENT = {
    "OLLAMA_HOST": "127.0.0.1:11434",
    "SPACES": "two words",
    "PERCENT": "100%",
    "DOLLAR": "$HOME ${X} $$",
    "QUOTES": 'say "hi" it\'s',
    "BACKSLASH": "back\\slash",
    "CONTROL": "tab\tnew\nline\x01",
    "EMPTY": "",
    "UNICODE": "ünï 😀",
}


def test_systemd_loads_environment_values_as_written():
    value = environment(ENVIRONMENT)
    assert ref.parse_environment(value) == ENVIRONMENT
    assert systemd_loader.loaded_environment(value) == [f"{k}={v}" for k, v in ENVIRONMENT.items()]


def test_environment_booleans_and_numbers_become_words():
    assert (
        environment({"A": True, "B": False, "C": 8192, "D": 0.5}) == "A=true B=false C=8192 D=0.5"
    )


@pytest.mark.parametrize(
    ("assignments", "message"),
    [
        ({"1ABC": "x"}, "'1ABC' is not an environment variable name"),
        ({"A B": "x"}, "is not an environment variable name"),
        ({"A=B": "x"}, "is not an environment variable name"),
        ({"A": ["x"]}, "the value of A is a list"),
        ({"A": "x\0"}, "the value of A contains a NUL byte"),
        (["A=x"], "environment settings are a mapping, got list"),
    ],
)
def test_environment_settings_no_unit_can_carry_are_refused(assignments, message):
    with pytest.raises(SystemdQuoteError) as exc:
        environment(assignments, source="engine_ollama_extra_env")
    assert message in str(exc.value)


@pytest.mark.parametrize("value", ["llama.cpp for gpt-oss-120b", "100% sure", 'a "b" \\c'])
def test_systemd_loads_a_description_as_written(value):
    assert ref.parse_text(text(value)) == value
    assert systemd_loader.loaded_description(text(value)) == value


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("two\nlines", "control character"),
        ("x\rExecStartPre=+/bin/sh", "control character"),
        ("ends with \\", "ends with a backslash"),
    ],
)
def test_text_that_would_change_other_lines_is_refused(value, message):
    with pytest.raises(SystemdQuoteError) as exc:
        text(value, source="engine_model")
    assert message in str(exc.value) and "engine_model" in str(exc.value)


def test_the_filters_raise_ansible_errors_with_the_message(monkeypatch):
    # Importing controller code (the filter, ansible.errors) marks the whole test process as the
    # controller, which changes how modules report warnings: undo that after this test.
    from ansible.module_utils import _internal

    monkeypatch.setattr(_internal, "is_controller", _internal.is_controller)
    from ansible.errors import AnsibleFilterError
    from ansible_collections.sparkops.llm.plugins.filter.systemd import FilterModule

    filters = FilterModule().filters()
    assert set(filters) == {
        "systemd_exec_args",
        "systemd_path_list",
        "systemd_environment",
        "systemd_text",
        "systemd_units",
    }
    assert filters["systemd_exec_args"]([EXECUTABLE, "a b"]) == '/usr/bin/true "a b"'
    with pytest.raises(AnsibleFilterError, match="engine_sglang_extra_args: argument 1 is a dict"):
        filters["systemd_exec_args"]([EXECUTABLE, {}], "engine_sglang_extra_args")
    assert filters["systemd_path_list"](["/a b"]) == '"/a b"'
    assert filters["systemd_environment"]({"A": "x y"}) == '"A=x y"'
    assert filters["systemd_text"]("5%") == "5%%"
