"""llama-server --help parsing, on the real output of the build the test bed makes.

Fixture: `llama-server --help` of llama.cpp 0c1e570 (the role's default commit), captured from
the CPU build in the simulated Spark (molecule/llama_cpp).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from ansible_collections.sparkops.llm.plugins.module_utils.llama_help import (
    KNOWN_FLAGS,
    accepted_flags,
    option_column,
    parse_help,
)

HELP = (Path(__file__).parent / "fixtures" / "llama_server_help_0c1e570.txt").read_text()


@pytest.fixture(scope="module")
def parsed():
    return parse_help(HELP)


def test_current_build_has_load_mode_and_no_longer_no_mmap(parsed):
    flags = accepted_flags(parsed)
    assert flags["-lm"] is True and flags["--load-mode"] is True
    assert parsed["--load-mode"] == "MODE"
    assert flags["--no-mmap"] is False


def test_flash_attention_takes_a_value_on_this_build(parsed):
    assert parsed["-fa"] == parsed["--flash-attn"] == "[on|off|auto]"


def test_switches_have_no_argument_and_aliases_share_one(parsed):
    assert parsed["--jinja"] == ""
    assert parsed["-c"] == parsed["--ctx-size"] == "N"
    assert parsed["-h"] == parsed["--help"] == parsed["--usage"] == ""


def test_the_flags_the_engine_role_uses_are_all_known(parsed):
    flags = accepted_flags(parsed)
    for name in (
        "--alias",
        "--api-key-file",
        "--port",
        "--host",
        "--ubatch-size",
        "--parallel",
        "--n-gpu-layers",
        "--metrics",
        "--no-webui",
        "--jinja",
    ):
        assert flags[name] is True, name
    assert set(KNOWN_FLAGS) <= set(flags)


def test_description_bullets_are_not_taken_for_flags(parsed):
    # The --load-mode description lists "- auto:", "- none:" ... on indented lines.
    assert "-" not in parsed
    assert not any(name.startswith("- ") for name in parsed)
    assert option_column("                                        - none: no loading mode") is None


def test_a_build_without_a_flag_reports_it_false():
    older = "--no-mmap                              do not memory-map model\n"
    flags = accepted_flags(parse_help(older))
    assert flags["--no-mmap"] is True
    assert flags["--load-mode"] is False
