# Copyright: sparkops.llm maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Ask the real systemd how it loads a unit: `systemd-analyze verify` at debug level dumps the
loaded unit (verify_unit() calls unit_dump() when debug logging is on), with each command line
re-quoted by quote_command_line() (shell_maybe_quote(): words with special characters in double
quotes, backslash before \\ " ` $, other bytes as C escapes, octal for the rest).

Where systemd-analyze is missing, the same dumps come from a recording of systemd 252
(fixtures/systemd_252_dumps.json, refreshed by running the tests with SPARKOPS_RECORD_SYSTEMD=1
where systemd-analyze exists), so the comparison still runs, against what systemd answered for
exactly these units, instead of being skipped.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

RECORDING = Path(__file__).parent / "fixtures" / "systemd_252_dumps.json"
ANALYZE = shutil.which("systemd-analyze")
UNIT = "sparkops-quote-check.service"
_OCTAL = "01234567"
_SIMPLE = {"a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11}
_READ = tuple(
    f"\t\t{name}: " for name in ("Description", "Environment", "ReadOnlyPaths", "ReadWritePaths")
)


def _dump(unit_text: str) -> str:
    """The debug dump of UNIT as systemd loads it (its own block only)."""
    with tempfile.TemporaryDirectory(prefix="sparkops-quote-") as folder:
        path = Path(folder) / UNIT
        path.write_text(unit_text, encoding="utf-8")
        completed = subprocess.run(
            [ANALYZE, "verify", str(path)],
            capture_output=True,
            env={**os.environ, "SYSTEMD_LOG_LEVEL": "debug"},
            check=False,
        )
    out = completed.stdout.decode("utf-8", "surrogateescape")
    marker = f"-> Unit {UNIT}:"
    if marker not in out:
        raise AssertionError(f"no dump of {UNIT}: {completed.stderr[-2000:]!r}")
    block = out.split(marker, 1)[1]
    # The next unit's dump, if any, starts with its own "-> Unit" line.
    block = block.split("\n\t-> Unit ", 1)[0]
    # Only the lines the tests read (and the continuation lines of values with a newline).
    kept, keep = [], False
    for line in block.split("\n"):
        if "Command Line: " in line or line.startswith(_READ):
            kept.append(line)
            keep = True
        elif keep and not line.startswith("\t\t"):
            kept.append(line)
        else:
            keep = False
    return "\n".join(kept)


def _recorded() -> dict:
    if RECORDING.exists():
        return json.loads(RECORDING.read_text(encoding="utf-8"))
    return {}


def dump(unit_text: str) -> str:
    if ANALYZE:
        answer = _dump(unit_text)
        if os.environ.get("SPARKOPS_RECORD_SYSTEMD"):
            recorded = _recorded()
            recorded[unit_text] = answer
            RECORDING.write_text(
                json.dumps(recorded, indent=1, sort_keys=True, ensure_ascii=False) + "\n",
                encoding="utf-8",
            )
        return answer
    recorded = _recorded()
    if unit_text not in recorded:
        raise AssertionError(
            "systemd-analyze is not installed and systemd's answer for this unit is not in "
            f"{RECORDING.name}: run the tests with SPARKOPS_RECORD_SYSTEMD=1 where it is"
        )
    return recorded[unit_text]


def decode_dumped_word_list(line: str) -> list[str]:
    """Words of a dumped "Command Line:" (quote_command_line() output) -> the argv."""
    data = line.encode("utf-8")
    words, i = [], 0
    while i < len(data):
        if data[i] == 0x20:
            i += 1
            continue
        word = bytearray()
        if data[i] == 0x22:
            i += 1
            while data[i] != 0x22:
                if data[i] == 0x5C:
                    nxt = chr(data[i + 1])
                    octal = data[i + 1 : i + 4].decode("ascii", "replace")
                    if len(octal) == 3 and all(c in _OCTAL for c in octal):
                        word.append(int(octal, 8))
                        i += 4
                    elif nxt in _SIMPLE:
                        word.append(_SIMPLE[nxt])
                        i += 2
                    else:
                        word.append(data[i + 1])
                        i += 2
                else:
                    word.append(data[i])
                    i += 1
            i += 1
        else:
            while i < len(data) and data[i] != 0x20:
                word.append(data[i])
                i += 1
        words.append(word.decode("utf-8"))
    return words


def exec_argvs(exec_value: str, directive: str = "ExecStart") -> list[list[str]]:
    """Every command systemd loads from one Exec*= value, before "$" expansion at spawn."""
    text = f"[Service]\nType=oneshot\n{directive}={exec_value}\n"
    lines = dump(text).split("\n")
    return [
        decode_dumped_word_list(entry.split("Command Line: ", 1)[1])
        for entry in lines
        if "Command Line: " in entry
    ]


def loaded_paths(directive: str, value: str) -> list[str]:
    """The paths of one ReadOnlyPaths=-like value; the dump joins them with spaces, so call
    this with one path per value."""
    text = f"[Service]\nExecStart=/bin/true\n{directive}={value}\n"
    prefix = f"\t\t{directive}: "
    return [line[len(prefix) :] for line in dump(text).split("\n") if line.startswith(prefix)]


def loaded_environment(value: str) -> list[str]:
    """The assignments of one Environment= value; a newline in a value continues on the dump's
    next line, which does not start with the dump's two tabs."""
    text = f"[Service]\nExecStart=/bin/true\nEnvironment={value}\n"
    prefix = "\t\tEnvironment: "
    found: list[str] = []
    in_environment = False
    for line in dump(text).split("\n"):
        if line.startswith(prefix):
            found.append(line[len(prefix) :])
            in_environment = True
        elif in_environment and not line.startswith("\t\t"):
            found[-1] += "\n" + line
        else:
            in_environment = False
    return found


def loaded_description(value: str) -> str:
    text = f"[Unit]\nDescription={value}\n[Service]\nExecStart=/bin/true\n"
    prefix = "\t\tDescription: "
    return next(line[len(prefix) :] for line in dump(text).split("\n") if line.startswith(prefix))
