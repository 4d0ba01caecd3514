# Copyright: sparkops.llm maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The engines' command lines, as lists: what each engine's unit runs, built from the settings
and, for llama-server, from the flags the installed build accepts (``llama_help``).

No quoting here: a list is one argument per element, and ``systemd_quote`` writes it into
``ExecStart`` by systemd's rules. Unit-tested in tests/unit/test_engine_argv.py.
"""

from __future__ import annotations

import json

# gpt-oss's chat template takes these (models/templates/openai-gpt-oss-120b.jinja in the
# llama.cpp tree: "Reasoning: " + reasoning_effort, default "medium").
REASONING_EFFORTS = ("low", "medium", "high")
# What a template falls back to when no effort is given: rendering the default needs no flag.
TEMPLATE_DEFAULT_EFFORT = "medium"


class ArgvError(ValueError):
    """A setting this engine or build cannot express; the message names the variable."""


def _text(value) -> str:
    return str(value)


def reasoning_effort_kwargs(effort: str) -> str:
    """The JSON of ``--chat-template-kwargs`` that carries the effort (compact, stable)."""
    return json.dumps({"reasoning_effort": effort}, separators=(",", ":"))


def reasoning_effort_problem(effort: str, efforts, engine: str, has_knob: bool) -> str:
    """'' when ``effort`` can be applied, else why not, naming ``sparkops_reasoning_effort``.

    ``efforts`` are the model profile's levels (empty: the model has none, and the setting is
    ignored); ``has_knob`` says whether the engine (or build) can set a default effort."""
    efforts = list(efforts or [])
    if not efforts:
        return ""
    if effort not in efforts:
        return (
            f"sparkops_reasoning_effort is {effort!r}; this model takes one of "
            f"{', '.join(efforts)}: set one of them."
        )
    if effort != TEMPLATE_DEFAULT_EFFORT and not has_knob:
        return (
            f"sparkops_reasoning_effort is {effort!r}, but {engine} has no setting for a default "
            f"reasoning effort: leave it at {TEMPLATE_DEFAULT_EFFORT!r} (the model's own default) "
            "with this engine, or choose an engine that has one."
        )
    return ""


def llama_server_argv(settings: dict, flags: dict, flag_arguments: dict | None = None) -> list:
    """llama-server's arguments (without the binary) for these settings and this build.

    ``settings``: model_path, host, port, alias, context (per slot), slots, ubatch, gpu_layers,
    flash_attn (on/off/auto), cache_type, backend_sampling, key_file ('' for none),
    reasoning_effort ('' when the model has none), extra_args. ``flags`` maps each flag name of
    the build's ``--help`` to True (known flags it lacks to False); ``flag_arguments`` maps a
    flag to its argument spec there (``-fa`` takes ``[on|off|auto]`` on newer builds)."""
    s = settings
    flag_arguments = flag_arguments or {}
    # No flags at all: a build not made yet (--check before its first build). Nothing can be
    # refused for it then; the real run has the build's flags and refuses there.
    known = bool(flags)
    slots = int(s["slots"])
    argv = [
        "-m", _text(s["model_path"]),
        "--host", _text(s["host"]),
        "--port", _text(s["port"]),
        "-a", _text(s["alias"]),
        "-c", _text(int(s["context"]) * slots),
        "-np", _text(slots),
        "-ub", _text(s["ubatch"]),
    ]  # fmt: skip
    if flags.get("--n-gpu-layers"):
        argv += ["-ngl", _text(s["gpu_layers"])]
    if flags.get("--flash-attn"):
        if "on" in flag_arguments.get("--flash-attn", ""):
            argv += ["-fa", _text(s["flash_attn"])]
        elif s["flash_attn"] == "on":
            argv += ["-fa"]  # older builds: a switch
    if s["cache_type"] != "f16":
        argv += ["-ctk", s["cache_type"], "-ctv", s["cache_type"]]
    # Unified memory: mapping the file would count the model twice (page cache and weights).
    if flags.get("--load-mode"):
        argv += ["-lm", "none"]
    elif flags.get("--no-mmap"):
        argv += ["--no-mmap"]
    for switch in ("--jinja", "--no-webui", "--metrics"):
        if flags.get(switch):
            argv.append(switch)
    if s.get("backend_sampling"):
        if known and not flags.get("--backend-sampling"):
            raise ArgvError(
                "engine_llamacpp_backend_sampling is on, but this llama-server build has no "
                "--backend-sampling: build a newer llama_cpp_version, or turn it off."
            )
        argv.append("--backend-sampling")
    effort = s.get("reasoning_effort") or ""
    if effort:
        if flags.get("--chat-template-kwargs"):
            argv += ["--chat-template-kwargs", reasoning_effort_kwargs(effort)]
        elif known and effort != TEMPLATE_DEFAULT_EFFORT:
            raise ArgvError(
                f"sparkops_reasoning_effort is {effort!r}, but this llama-server build has no "
                "--chat-template-kwargs: build a newer llama_cpp_version, or leave it at "
                f"{TEMPLATE_DEFAULT_EFFORT!r}."
            )
    if s.get("key_file"):
        argv += ["--api-key-file", _text(s["key_file"])]
    return argv + [_text(arg) for arg in s.get("extra_args") or []]


def sglang_server_argv(settings: dict) -> list:
    """``sglang.launch_server``'s arguments inside the container.

    ``settings``: model_path (inside the container), served_name, host, port, context, slots,
    mem_fraction, config_file ('' without an API key), extra_args."""
    s = settings
    argv = [
        "--model-path", _text(s["model_path"]),
        "--served-model-name", _text(s["served_name"]),
        "--host", _text(s["host"]),
        "--port", _text(s["port"]),
        "--context-length", _text(s["context"]),
        "--max-running-requests", _text(s["slots"]),
        "--mem-fraction-static", _text(s["mem_fraction"]),
        "--reasoning-parser", "gpt-oss",
        "--tool-call-parser", "gpt-oss",
    ]  # fmt: skip
    # The API key stays in this file, read by SGLang in-process: never on a command line.
    if s.get("config_file"):
        argv += ["--config", _text(s["config_file"])]
    return argv + [_text(arg) for arg in s.get("extra_args") or []]
