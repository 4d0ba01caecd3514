# Copyright: sparkops.llm maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The facts the roles pass to each other: one schema per section, one writer, one reader.

A role records what it established in one section of the local facts file
(``sparkops.llm.sparkops_facts``, which checks the data against the schema here). The same
module hands the section to the rest of the run as the host fact ``sparkops_fact_<section>``,
so that a later role sees this run's value, also in check mode, where nothing is written. Every
reader goes through :func:`read_section` (the filter ``sparkops.llm.sparkops_fact``): this run's
value, else the file's, checked against the same schema, with an error that names the role to
run when the section is missing or was written by an older release.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# The prefix of the host facts that carry this run's sections; never a setting's prefix
# (a fact can become a variable where facts are injected as variables).
IN_RUN_PREFIX = "sparkops_fact_"
FACTS_FILE = "/etc/ansible/facts.d/sparkops.fact"


@dataclass(frozen=True)
class Section:
    """One section of the facts file: who writes it and what it must hold."""

    writer: str
    tag: str
    # field -> the types its value may have
    fields: dict
    # Fields an earlier release did not write, with the value such a record means.
    defaults: dict = field(default_factory=dict)
    # Fields a partial record may lack.
    optional: tuple = ()


_STR = (str,)
_OPT_STR = (str, type(None))
_INT = (int,)
_DICT = (dict,)
_LIST = (list,)

SECTIONS = {
    "platform": Section(
        writer="sparkops.llm.preflight",
        tag="preflight",
        fields={
            "driver": _OPT_STR,
            "cuda": _OPT_STR,
            "cuda_driver": _OPT_STR,
            "kernel": _OPT_STR,
            "dgx_os": _OPT_STR,
            "firmware": _DICT,
        },
    ),
    "llama_cpp": Section(
        writer="sparkops.llm.llama_cpp",
        tag="llama_cpp",
        fields={
            "stamp": _STR,
            "prefix": _STR,
            "bin_dir": _STR,
            "backend": _STR,
            "commit": _STR,
            "patches": _LIST,
            "flags": _DICT,
            "flag_arguments": _DICT,
        },
    ),
    "model": Section(
        writer="sparkops.llm.weights",
        tag="weights",
        fields={
            "name": _STR,
            "alias": _STR,
            "format": _STR,
            "dir": _STR,
            "path": _STR,
            "bytes": _INT,
            "sha256": _DICT,
            "source": _STR,
        },
        # Releases before SGLang's checkpoint fetched GGUF files only.
        defaults={"format": "gguf"},
    ),
    "engine": Section(
        writer="sparkops.llm.engine",
        tag="engine",
        fields={
            "name": _STR,
            "unit": _STR,
            "url": _STR,
            "port": _INT,
            "bind": _STR,
            "api_key_file": _STR,
            "alias": _STR,
        },
    ),
    "bridge": Section(
        writer="sparkops.llm.anthropic_bridge",
        tag="bridge",
        fields={
            "folders": _LIST,
            "user": _STR,
            "url": _STR,
            "port": _INT,
            "bind": _STR,
            "api_key_file": _STR,
            "version": _STR,
            "alias": _STR,
        },
        # Recorded in two steps (folders and account before it runs, the endpoint after), and
        # a release before the folders were recorded wrote the endpoint alone.
        optional=("folders", "user", "url", "port", "bind", "api_key_file", "version", "alias"),
    ),
}


class FactContractError(ValueError):
    """A section is unknown, missing, or does not hold what its schema says."""


def _section(name: str) -> Section:
    if name not in SECTIONS:
        raise FactContractError(
            f"'{name}' is not a section of the sparkops facts: use one of {', '.join(SECTIONS)}"
        )
    return SECTIONS[name]


def _type_name(types: tuple) -> str:
    names = {str: "a string", int: "a number", dict: "a mapping", list: "a list"}
    return " or ".join(names.get(kind, "null") for kind in types)


def section_problems(name: str, data: dict, partial_ok: bool = False) -> list[str]:
    """What keeps ``data`` from being a valid ``name`` section: missing fields, wrong types.

    ``partial_ok`` lets the fields the schema calls optional be absent.
    """
    section = _section(name)
    if not isinstance(data, dict):
        return [f"the {name} section must be a mapping, not {type(data).__name__}"]
    problems = []
    for key, types in section.fields.items():
        if key not in data:
            if key in section.defaults or (partial_ok and key in section.optional):
                continue
            problems.append(f"it lacks '{key}'")
        elif isinstance(data[key], bool) or not isinstance(data[key], types):
            problems.append(f"'{key}' must be {_type_name(types)}, not {data[key]!r}")
    return problems


def checked_record(name: str, data: dict) -> dict:
    """``data`` as the writer records it, or FactContractError naming what is wrong."""
    section = _section(name)
    problems = section_problems(name, data, partial_ok=True)
    if problems:
        raise FactContractError(
            f"{section.writer} cannot record its {name} section: {'; '.join(problems)}"
        )
    return data


def read_section(
    facts: dict, name: str, required: bool = True, warnings: list | None = None
) -> dict:
    """The ``name`` section for a reader: this run's, else the facts file's, with defaults.

    ``facts`` is the host's ``ansible_facts``. A ``required`` section that is missing, or that
    does not match the schema (an older release wrote it, or a hand edit), raises
    FactContractError naming the role that writes it. A section that is not required reads as
    ``{}`` then; a damaged one also adds a line to ``warnings``. The writers read their own
    section that way, so that running the role named in the error always repairs it.
    """
    section = _section(name)
    facts = facts or {}
    in_run_key = IN_RUN_PREFIX + name
    # None: cleared at the start of the run (state=forget), nothing written since.
    if facts.get(in_run_key) is not None:
        data, origin = facts[in_run_key], "this run"
    else:
        local = (facts.get("ansible_local") or {}).get("sparkops") or {}
        data, origin = local.get(name), FACTS_FILE
    if not data:
        if not required:
            return {}
        raise FactContractError(
            f"no {name} fact is recorded on this host: run the {section.writer} role first "
            f"(site.yml, or its tag '{section.tag}')"
        )
    problems = section_problems(name, data, partial_ok=True)
    if problems and not required:
        if warnings is not None:
            warnings.append(
                f"the {name} fact from {origin} is damaged ({'; '.join(problems)}), so it is "
                f"ignored; the {section.writer} role records it anew when it runs"
            )
        return {}
    if problems:
        raise FactContractError(
            f"the {name} fact from {origin} is stale or damaged ({'; '.join(problems)}): "
            f"run the {section.writer} role again (site.yml, or its tag '{section.tag}') "
            "to record it anew"
        )
    return {**section.defaults, **data}


_PLATFORM_KEYS = {
    "driver": "driver_version",
    "cuda": "cuda_toolkit_version",
    "cuda_driver": "cuda_driver_version",
    "kernel": "kernel",
    "dgx_os": "dgx_os_version",
}


def platform_fingerprint(host: dict) -> dict:
    """The platform section from ``sparkops.llm.gb10_info``'s result.

    Firmware counts only for the devices that are part of the platform
    (``platform_firmware``): a USB device that is plugged in is no platform change.
    """
    host = host or {}
    fingerprint = {key: host.get(source) for key, source in _PLATFORM_KEYS.items()}
    fingerprint["firmware"] = dict(host.get("platform_firmware") or {})
    return fingerprint


def platform_changes(previous: dict, now: dict) -> list[str]:
    """One line per difference between two platform sections, ``key: old -> new``."""
    previous, now = previous or {}, now or {}
    lines = [
        f"{key}: {previous.get(key)} -> {now.get(key)}"
        for key in _PLATFORM_KEYS
        if previous.get(key) != now.get(key)
    ]
    old_fw, new_fw = previous.get("firmware") or {}, now.get("firmware") or {}
    for device in sorted(set(old_fw) | set(new_fw)):
        if old_fw.get(device) != new_fw.get(device):
            lines.append(f"firmware {device}: {old_fw.get(device)} -> {new_fw.get(device)}")
    return lines
