# Copyright: sparkops.llm maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Values written into systemd unit files, quoted by systemd's own rules.

Each directive unquotes its value its own way, so each kind of value has its own function:

- ``exec_command_line`` for ExecStart=, ExecStartPre=, ExecStop= and the like. systemd.service(5)
  "COMMAND LINES": the line is unquoted by the "QUOTING" rules of systemd.syntax(7) (double or
  single quotes around a whole item, C-style escapes such as ``\\\\``, ``\\"``, ``\\n``,
  ``\\xNN``), "%" specifiers are resolved (``%%`` is a literal ``%``), and "$FOO"/"${FOO}" are
  replaced from the environment when the command is spawned (``$$`` is a literal ``$``). A lone
  unquoted ``;`` separates two commands. In the code: config_parse_exec() in
  src/core/load-fragment.c splits words with extract_first_word(EXTRACT_UNQUOTE |
  EXTRACT_CUNESCAPE) (src/basic/extract-word.c) and resolves specifiers with unit_full_printf();
  replace_env_argv() (src/basic/env-util.c) expands "$" at spawn time.
- ``path_list`` for ReadOnlyPaths=, ReadWritePaths= and the other namespace path lists:
  config_parse_namespace_path_strv() uses extract_first_word(EXTRACT_UNQUOTE) without
  EXTRACT_CUNESCAPE, so quotes group a path with spaces and a backslash takes the next character
  literally, but ``\\t`` is a "t", not a tab: control characters cannot be written at all.
  Specifiers are resolved (``%%``); "$" means nothing there.
- ``environment`` for Environment=: config_parse_environ() unquotes with
  EXTRACT_CUNESCAPE | EXTRACT_UNQUOTE and resolves specifiers; "$" is kept as it is (no
  expansion: ``$$`` would stay two dollars).
- ``text`` for values that are not unquoted at all (Description=, User=, EnvironmentFile=,
  After=): only specifiers are resolved. A control character would end the line (a newline
  starts a new directive: an injection) and a trailing backslash joins the next line.

systemd 252 (Debian 12) loads every output of these functions back to the exact input: the unit
tests compare against systemd-analyze's own dump of the loaded unit.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

# Words made only of these need no quotes. Everything else is quoted, which is always safe.
_BARE_WORD = re.compile(r"[A-Za-z0-9_@+=:,./-]+")
# C escapes systemd.syntax(7) lists; other control characters are written as \xNN.
_C_ESCAPES = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
}
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class SystemdQuoteError(ValueError):
    """A value that no unit file can carry as it is."""


def _is_control(char: str) -> bool:
    return ord(char) < 0x20 or ord(char) == 0x7F


def _label(source: str | None, what: str) -> str:
    return f"{source}: {what}" if source else what


def _as_text(value: object, what: str, *, bool_words: bool = False) -> str:
    """Accept strings and numbers (Ansible hands over ports as int); refuse the rest."""
    if isinstance(value, bool):
        if bool_words:
            return "true" if value else "false"
        raise SystemdQuoteError(
            f"{what} is the boolean {value!r}, not a string: write the word the program expects, "
            f"quoted in YAML (for example '{str(value).lower()}')"
        )
    if isinstance(value, (int, float)):
        return str(value)
    if not isinstance(value, str):
        kind = type(value).__name__
        hint = (
            " (YAML read an unquoted JSON or flow value as data: quote it, "
            'for example \'{"reasoning_effort": "high"}\')'
            if isinstance(value, (Mapping, list, tuple))
            else ""
        )
        raise SystemdQuoteError(f"{what} is a {kind}, not a string: {value!r}{hint}")
    if "\0" in value:
        raise SystemdQuoteError(f"{what} contains a NUL byte, which no command line can carry")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise SystemdQuoteError(f"{what} is not valid Unicode ({exc.reason})") from exc
    return value


def _quoted(value: str, *, dollar: bool, c_escapes: bool, what: str) -> str:
    """One item, double-quoted unless it is a bare word; ``%`` (and ``$``) doubled."""
    if value and _BARE_WORD.fullmatch(value):
        return value
    out = ['"']
    for char in value:
        if char in '\\"':
            out.append("\\" + char)
        elif char == "%":
            out.append("%%")
        elif char == "$" and dollar:
            out.append("$$")
        elif _is_control(char):
            if not c_escapes:
                raise SystemdQuoteError(
                    f"{what} contains the control character {char!r}, which this setting "
                    "cannot carry"
                )
            out.append(_C_ESCAPES.get(char, f"\\x{ord(char):02x}"))
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def _absolute_path(value: object, what: str) -> str:
    path = _as_text(value, what)
    if not path.startswith("/"):
        raise SystemdQuoteError(f"{what} must be an absolute path, got {path!r}")
    for char in path:
        if _is_control(char):
            raise SystemdQuoteError(
                f"{what} contains the control character {char!r}: systemd cannot use such a path"
            )
    return path


def exec_command_line(argv: object, source: str | None = None) -> str:
    """``[executable, arg, ...]`` -> the value of an Exec*= line, each word byte for byte.

    The executable is an absolute path: no search path, and no "-", "+", "@" prefixes that a
    first word could otherwise be read as. It may not contain "$": systemd expands "$" in the
    arguments when it spawns the command, but takes the executable path as written.
    """
    if isinstance(argv, (str, bytes, Mapping)) or not isinstance(argv, (list, tuple)):
        raise SystemdQuoteError(
            _label(source, f"a command line is a list of words, got {type(argv).__name__}")
        )
    if not argv:
        raise SystemdQuoteError(_label(source, "the command line is empty"))
    executable = _absolute_path(argv[0], _label(source, "the executable"))
    if "$" in executable:
        raise SystemdQuoteError(
            _label(source, f"the executable {executable!r} contains '$', which systemd keeps")
        )
    words = [_quoted(executable, dollar=False, c_escapes=False, what="the executable")]
    for index, arg in enumerate(argv[1:], start=1):
        what = _label(source, f"argument {index}")
        words.append(_quoted(_as_text(arg, what), dollar=True, c_escapes=True, what=what))
    return " ".join(words)


def path_list(paths: object, source: str | None = None) -> str:
    """Absolute paths -> the value of ReadOnlyPaths= / ReadWritePaths= (spaces allowed)."""
    if isinstance(paths, (str, bytes, Mapping)) or not isinstance(paths, (list, tuple)):
        raise SystemdQuoteError(
            _label(source, f"a path list is a list of paths, got {type(paths).__name__}")
        )
    words = []
    for index, value in enumerate(paths):
        what = _label(source, f"path {index + 1}")
        path = _absolute_path(value, what)
        words.append(_quoted(path, dollar=False, c_escapes=False, what=what))
    return " ".join(words)


def environment(assignments: object, source: str | None = None) -> str:
    """``{NAME: value}`` -> the value of one Environment= line ("NAME=value" items).

    Booleans become "true"/"false" (what Ollama's and most programs' settings parse);
    values keep "$" as it is, since Environment= does not expand it.
    """
    if not isinstance(assignments, Mapping):
        raise SystemdQuoteError(
            _label(source, f"environment settings are a mapping, got {type(assignments).__name__}")
        )
    words = []
    for name, value in assignments.items():
        if not isinstance(name, str) or not _ENV_NAME.fullmatch(name):
            raise SystemdQuoteError(
                _label(
                    source,
                    f"{name!r} is not an environment variable name (letters, digits and _, "
                    "not starting with a digit)",
                )
            )
        what = _label(source, f"the value of {name}")
        text_value = _as_text(value, what, bool_words=True)
        words.append(_quoted(f"{name}={text_value}", dollar=False, c_escapes=True, what=what))
    return " ".join(words)


def text(value: object, source: str | None = None) -> str:
    """A value that systemd takes as the rest of the line (Description=, User=, ...)."""
    what = _label(source, "the value")
    line = _as_text(value, what)
    for char in line:
        if _is_control(char):
            raise SystemdQuoteError(
                f"{what} {line!r} contains the control character {char!r}; a unit file line "
                "cannot carry it"
            )
    if line.endswith("\\"):
        raise SystemdQuoteError(
            f"{what} {line!r} ends with a backslash, which would join the next line of the unit"
        )
    return line.replace("%", "%%")
