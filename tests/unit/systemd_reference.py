# Copyright: sparkops.llm maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""How systemd reads unit file values, written from its documentation, independent of the code
under test (plugins/module_utils/systemd_quote.py), and strict: whatever the documentation does
not promise is an error here, so quoting that leans on an implementation detail fails.

- systemd.syntax(7) "QUOTING": double or single quotes wrap a whole item (the opening quote only
  at the start of an item, the closing one followed by whitespace or the end), C-style escapes
  (the table: \\a \\b \\f \\n \\r \\t \\v \\\\ \\" \\' \\s \\xxx \\nnn \\unnnn \\Unnnnnnnn); other
  escapes "will result in a warning" (an error here).
- systemd.unit(5) "SPECIFIERS": "%%" is a single "%"; the code under test writes no others.
- systemd.service(5) "COMMAND LINES": commands are separated by lone ";" words ("\\;" is a
  literal ";"); "$$" passes a literal "$"; "$FOO" and "${FOO}" are replaced from the environment
  (an error here: the code under test must never produce a variable reference).
- Path lists (ReadOnlyPaths= ...) are unquoted without C escapes (extract_first_word with
  EXTRACT_UNQUOTE only, in config_parse_namespace_path_strv(): a backslash takes the next
  character as it is). systemd.exec(5) only says "space-separated list of paths".
"""

from __future__ import annotations

import re

WHITESPACE = " \t\n\r"
SIMPLE_ESCAPES = {
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "\\": "\\",
    '"': '"',
    "'": "'",
    "s": " ",
}


class UndefinedValue(ValueError):
    """The value is not one the documentation defines."""


def resolve_specifiers(value: str) -> str:
    out, i = [], 0
    while i < len(value):
        if value[i] == "%":
            if value[i + 1 : i + 2] != "%":
                raise UndefinedValue(f"specifier %{value[i + 1 : i + 2]} at {i} in {value!r}")
            out.append("%")
            i += 2
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


def _c_escape(value: str, i: int) -> tuple[str, int]:
    """value[i] is the character after a backslash; return (decoded, next index)."""
    char = value[i : i + 1]
    if char in SIMPLE_ESCAPES:
        return SIMPLE_ESCAPES[char], i + 1
    if char == "x" and re.fullmatch(r"[0-9a-fA-F]{2}", value[i + 1 : i + 3]):
        return chr(int(value[i + 1 : i + 3], 16)), i + 3
    if char == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", value[i + 1 : i + 5]):
        return chr(int(value[i + 1 : i + 5], 16)), i + 5
    if char == "U" and re.fullmatch(r"[0-9a-fA-F]{8}", value[i + 1 : i + 9]):
        return chr(int(value[i + 1 : i + 9], 16)), i + 9
    if re.fullmatch(r"[0-7]{3}", value[i : i + 3]):
        return chr(int(value[i : i + 3], 8)), i + 3
    raise UndefinedValue(f"unknown escape \\{char} at {i} in {value!r}")


def split_words(value: str, *, c_escapes: bool) -> list[str]:
    """Split an (already specifier-resolved) value into items by systemd.syntax(7) QUOTING."""
    words, i = [], 0
    while True:
        while i < len(value) and value[i] in WHITESPACE:
            i += 1
        if i >= len(value):
            return words
        word = []
        quote = value[i] if value[i] in "\"'" else None
        if quote:
            i += 1
        while True:
            if i >= len(value):
                if quote:
                    raise UndefinedValue(f"unbalanced {quote} in {value!r}")
                break
            char = value[i]
            if quote and char == quote:
                i += 1
                if i < len(value) and value[i] not in WHITESPACE:
                    raise UndefinedValue(f"closing quote not followed by whitespace in {value!r}")
                break
            if not quote and char in WHITESPACE:
                break
            if not quote and char in "\"'":
                raise UndefinedValue(f"quote inside an item at {i} in {value!r}")
            if char == "\\":
                if i + 1 >= len(value):
                    raise UndefinedValue(f"trailing backslash in {value!r}")
                if c_escapes:
                    decoded, i = _c_escape(value, i + 1)
                else:
                    decoded, i = value[i + 1], i + 2
                word.append(decoded)
                continue
            word.append(char)
            i += 1
        words.append("".join(word))


def expand_dollars(word: str) -> str:
    """What the spawned process gets: "$$" -> "$"; a variable reference is an error here."""
    out, i = [], 0
    while i < len(word):
        if word[i] == "$":
            if word[i + 1 : i + 2] == "$":
                out.append("$")
                i += 2
                continue
            if re.match(r"\{|[A-Za-z_]", word[i + 1 : i + 2]):
                raise UndefinedValue(f"variable reference at {i} in {word!r}")
        out.append(word[i])
        i += 1
    return "".join(out)


def parse_exec_line(value: str) -> list[list[str]]:
    """An Exec*= value -> the argv of each command, as the processes receive them."""
    resolved = resolve_specifiers(value)
    commands, current = [], []
    # A lone ";" or "\;" is recognised on the raw text, before unquoting (systemd.service(5)).
    for raw in _raw_items(resolved):
        if raw == ";":
            commands.append(current)
            current = []
        elif raw == "\\;":
            current.append(";")
        else:
            (word,) = split_words(raw, c_escapes=True)
            current.append(expand_dollars(word))
    commands.append(current)
    return commands


def _raw_items(value: str) -> list[str]:
    """The raw text of each item (quotes and escapes still in place)."""
    items, i = [], 0
    while True:
        while i < len(value) and value[i] in WHITESPACE:
            i += 1
        if i >= len(value):
            return items
        start = i
        quote = value[i] if value[i] in "\"'" else None
        i += 1 if quote else 0
        while i < len(value):
            char = value[i]
            if char == "\\":
                i += 2
                continue
            if quote and char == quote:
                i += 1
                break
            if not quote and char in WHITESPACE:
                break
            i += 1
        items.append(value[start:i])


def parse_path_list(value: str) -> list[str]:
    return split_words(resolve_specifiers(value), c_escapes=False)


def parse_environment(value: str) -> dict[str, str]:
    result = {}
    for word in split_words(resolve_specifiers(value), c_escapes=True):
        name, sep, setting = word.partition("=")
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise UndefinedValue(f"invalid assignment {word!r}")
        result[name] = setting
    return result


def parse_text(value: str) -> str:
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value) or value.endswith("\\"):
        raise UndefinedValue(f"{value!r} cannot be one unit file line")
    return resolve_specifiers(value)
