"""The engines' command lines (module_utils/engine_argv.py): each flag only where the build has
it, in the form it takes, and the same argv as the Jinja expression it replaced for every
setting that expression knew, so that an upgrade restarts no engine for an unchanged line."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import jinja2
import pytest
from ansible_collections.sparkops.llm.plugins.module_utils import engine_argv as ea

# The flags of the pinned build's --help that the argv depends on (llama_help.parse_help keys).
NEW_BUILD = {
    "--n-gpu-layers": True,
    "--flash-attn": True,
    "--load-mode": True,
    "--no-mmap": False,
    "--jinja": True,
    "--no-webui": True,
    "--metrics": True,
    "--backend-sampling": True,
    "--chat-template-kwargs": True,
}
NEW_ARGUMENTS = {"--flash-attn": "[on|off|auto]"}
# An older build: -fa was a switch, --no-mmap instead of -lm, no backend sampling, no kwargs.
OLD_BUILD = {
    "--n-gpu-layers": True,
    "--flash-attn": True,
    "--load-mode": False,
    "--no-mmap": True,
    "--jinja": True,
    "--no-webui": False,
    "--metrics": True,
    "--backend-sampling": False,
    "--chat-template-kwargs": False,
}


def settings(**changes) -> dict:
    base = {
        "model_path": "/var/lib/sparkops/models/gpt-oss-120b/gpt-oss-120b-00001-of-00003.gguf",
        "host": "127.0.0.1",
        "port": 8005,
        "alias": "gpt-oss-120b",
        "context": 131072,
        "slots": 1,
        "ubatch": 2048,
        "gpu_layers": 999,
        "flash_attn": "on",
        "cache_type": "f16",
        "backend_sampling": False,
        "key_file": "",
        "reasoning_effort": "",
        "extra_args": [],
    }
    return {**base, **changes}


def value_after(argv: list, flag: str) -> str:
    return argv[argv.index(flag) + 1]


def test_the_pinned_build_gets_every_spark_flag_in_its_own_form():
    argv = ea.llama_server_argv(settings(slots=2), NEW_BUILD, NEW_ARGUMENTS)
    assert argv[:2] == ["-m", settings()["model_path"]]
    assert value_after(argv, "-c") == str(131072 * 2) and value_after(argv, "-np") == "2"
    assert value_after(argv, "-fa") == "on" and value_after(argv, "-lm") == "none"
    assert "--no-mmap" not in argv and "-ctk" not in argv
    assert all(isinstance(arg, str) for arg in argv)


def test_an_older_build_gets_the_switch_forms_and_no_missing_flag():
    argv = ea.llama_server_argv(settings(), OLD_BUILD, {})
    assert "-fa" in argv and argv[argv.index("-fa") + 1] != "on"
    assert "--no-mmap" in argv and "-lm" not in argv and "--no-webui" not in argv
    off = ea.llama_server_argv(settings(flash_attn="off"), OLD_BUILD, {})
    assert "-fa" not in off


def test_the_reasoning_effort_reaches_the_template_as_json():
    argv = ea.llama_server_argv(settings(reasoning_effort="high"), NEW_BUILD, NEW_ARGUMENTS)
    assert json.loads(value_after(argv, "--chat-template-kwargs")) == {"reasoning_effort": "high"}


def test_a_model_without_reasoning_effort_gets_no_kwargs():
    argv = ea.llama_server_argv(settings(reasoning_effort=""), NEW_BUILD, NEW_ARGUMENTS)
    assert "--chat-template-kwargs" not in argv


def test_a_build_without_kwargs_takes_only_the_templates_default_effort():
    argv = ea.llama_server_argv(settings(reasoning_effort="medium"), OLD_BUILD, {})
    assert "--chat-template-kwargs" not in argv
    with pytest.raises(
        ea.ArgvError, match="sparkops_reasoning_effort is 'high'.*llama_cpp_version"
    ):
        ea.llama_server_argv(settings(reasoning_effort="high"), OLD_BUILD, {})


def test_backend_sampling_on_a_build_without_it_names_the_setting():
    with pytest.raises(ea.ArgvError, match="engine_llamacpp_backend_sampling"):
        ea.llama_server_argv(settings(backend_sampling=True), OLD_BUILD, {})


def test_the_user_extra_args_come_last_so_their_kwargs_keys_win():
    # llama.cpp merges repeated --chat-template-kwargs key by key (common/arg.cpp): the later wins.
    extra = ["--chat-template-kwargs", '{"reasoning_effort": "low"}', "--seed", 7]
    argv = ea.llama_server_argv(
        settings(reasoning_effort="high", extra_args=extra), NEW_BUILD, NEW_ARGUMENTS
    )
    assert argv[-4:] == [str(arg) for arg in extra]


def test_the_key_file_is_passed_by_path_never_the_key():
    argv = ea.llama_server_argv(settings(key_file="/etc/sparkops/llama-server.key"), NEW_BUILD)
    assert value_after(argv, "--api-key-file") == "/etc/sparkops/llama-server.key"


# The expression of roles/engine/tasks/llamacpp.yml (now roles/engine_llamacpp) before this
# module, as it was written there
# (Ansible's `| bool` dropped: the grid passes booleans).
OLD_EXPRESSION = (
    Path(__file__).parent / "fixtures" / "engine" / "llama_server_argv_before.j2"
).read_text()


def old_argv(s: dict, flags: dict, arguments: dict) -> list:
    template = jinja2.Environment().from_string(OLD_EXPRESSION)
    rendered = template.render(
        __engine_model_path=s["model_path"],
        engine_bind=s["host"],
        engine_llamacpp_port=s["port"],
        __engine_alias=s["alias"],
        engine_context=s["context"],
        engine_slots=s["slots"],
        engine_llamacpp_ubatch=s["ubatch"],
        engine_llamacpp_gpu_layers=s["gpu_layers"],
        engine_llamacpp_flash_attn=s["flash_attn"],
        engine_llamacpp_cache_type=s["cache_type"],
        engine_llamacpp_backend_sampling=s["backend_sampling"],
        __engine_keyed=bool(s["key_file"]),
        __engine_key_file=s["key_file"],
        engine_llamacpp_extra_args=s["extra_args"],
        __flags=flags,
        __fa_takes_value="on" in arguments.get("--flash-attn", ""),
    )
    return eval(rendered)  # noqa: S307 - the rendered list literal of the test's own template


@pytest.mark.parametrize(
    ("build", "arguments"), [(NEW_BUILD, NEW_ARGUMENTS), (OLD_BUILD, {})], ids=["new", "old"]
)
def test_every_setting_the_old_expression_knew_renders_the_same_argv(build, arguments):
    grid = itertools.product(
        ["on", "off", "auto"],
        ["f16", "q8_0"],
        [1, 4],
        ["", "/etc/sparkops/llama-server.key"],
        [[], ["--seed", "7"]],
        [False, True],
    )
    for flash_attn, cache_type, slots, key_file, extra, sampling in grid:
        if sampling and not build["--backend-sampling"]:
            continue  # refused before the argv, then and now
        s = settings(
            flash_attn=flash_attn,
            cache_type=cache_type,
            slots=slots,
            key_file=key_file,
            extra_args=extra,
            backend_sampling=sampling,
        )
        assert ea.llama_server_argv(s, build, arguments) == old_argv(s, build, arguments), s


def test_sglangs_argv_keeps_the_key_in_its_config_file():
    s = {
        "model_path": "/model",
        "served_name": "gpt-oss-120b",
        "host": "127.0.0.1",
        "port": 30000,
        "context": 131072,
        "slots": 1,
        "mem_fraction": 0.75,
        "config_file": "/etc/sparkops/sglang.yaml",
        "extra_args": [],
    }
    argv = ea.sglang_server_argv(s)
    assert value_after(argv, "--model-path") == "/model"
    assert value_after(argv, "--config") == "/etc/sparkops/sglang.yaml"
    assert value_after(argv, "--reasoning-parser") == "gpt-oss"
    assert "--config" not in ea.sglang_server_argv({**s, "config_file": ""})


@pytest.mark.parametrize(
    ("effort", "efforts", "has_knob", "problem"),
    [
        ("medium", [], False, ""),
        ("anything", [], False, ""),  # a model without efforts ignores the setting
        ("high", ["low", "medium", "high"], True, ""),
        ("medium", ["low", "medium", "high"], False, ""),
        ("high", ["low", "medium", "high"], False, "Ollama has no setting for a default"),
        ("hihg", ["low", "medium", "high"], True, "takes one of low, medium, high"),
    ],
)
def test_reasoning_effort_problems_name_the_setting(effort, efforts, has_knob, problem):
    found = ea.reasoning_effort_problem(effort, efforts, "Ollama", has_knob)
    if problem:
        assert problem in found and "sparkops_reasoning_effort" in found
    else:
        assert found == ""


def test_an_unbuilt_stamp_under_check_mode_refuses_nothing():
    # --check before the first build of a new stamp: the build's flags are not known yet.
    argv = ea.llama_server_argv(settings(backend_sampling=True, reasoning_effort="high"), {}, {})
    assert argv[:2] == ["-m", settings()["model_path"]]
