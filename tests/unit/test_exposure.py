"""The exposure rule: binds, the URLs local clients use, and the other routes to a bind."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from ansible_collections.sparkops.llm.plugins.module_utils import exposure

ROLES = Path(__file__).resolve().parents[2] / "roles"


def described(engine):
    """An engine role's own exposure data (owned_options, abbreviating_options,
    owned_environment), as its tasks/describe.yml gives it to the engine role."""
    tasks = yaml.safe_load((ROLES / f"engine_{engine}" / "tasks" / "describe.yml").read_text())
    return tasks[0]["ansible.builtin.set_fact"][f"__engine_{engine}_description"]


def argument_problems(engine, arguments, variable):
    description = described(engine)
    return exposure.argument_problems(
        description["owned_options"], arguments, variable, description["abbreviating_options"]
    )


def environment_problems(engine, environment, variable):
    return exposure.environment_problems(
        described(engine)["owned_environment"], environment, variable
    )


@pytest.mark.parametrize(
    ("bind", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.53", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.100.10", False),
        ("fe80::1", False),
    ],
)
def test_only_loopback_addresses_count_as_loopback(bind, loopback):
    assert exposure.is_loopback(bind) is loopback


@pytest.mark.parametrize(
    "bind",
    [
        "spark01",
        "127.0.0.l",
        "127.0.0.1,0.0.0.0",
        "",
        "0.0.0.0:8005",
        "/run/x.sock",
        " 127.0.0.1",
        "[::1]",
    ],
)
def test_a_bind_that_is_not_an_address_is_refused_with_what_to_give(bind):
    with pytest.raises(exposure.BindError, match="is not an IP address"):
        exposure.is_loopback(bind)
    [message] = exposure.bind_problems(bind, keyed=True, variable="sparkops_bind")
    assert message.startswith("sparkops_bind: ")


@pytest.mark.parametrize(
    ("bind", "host", "url"),
    [
        ("127.0.0.1", "127.0.0.1", "http://127.0.0.1:8005"),
        ("localhost", "127.0.0.1", "http://127.0.0.1:8005"),
        ("::1", "::1", "http://[::1]:8005"),
        ("0.0.0.0", "127.0.0.1", "http://127.0.0.1:8005"),
        ("::", "::1", "http://[::1]:8005"),
        ("192.168.100.10", "192.168.100.10", "http://192.168.100.10:8005"),
        ("fd00::10", "fd00::10", "http://[fd00::10]:8005"),
    ],
)
def test_a_local_client_reaches_the_address_the_service_listens_on(bind, host, url):
    assert exposure.client_host(bind) == host
    assert exposure.http_url(exposure.client_host(bind), 8005) == url


def test_ollama_host_port_brackets_ipv6():
    assert exposure.host_port("::1", 11434) == "[::1]:11434"
    assert exposure.host_port("127.0.0.1", "11434") == "127.0.0.1:11434"


def test_a_wide_bind_needs_a_key_and_a_service_without_keys_stays_on_loopback():
    assert exposure.bind_problems("127.0.0.1", keyed=False, variable="sparkops_bind") == []
    assert exposure.bind_problems("::1", keyed=False, variable="sparkops_bind") == []
    [no_key] = exposure.bind_problems("0.0.0.0", keyed=False, variable="sparkops_bind")
    assert "no API key is set" in no_key and no_key.startswith("sparkops_bind is 0.0.0.0")
    assert exposure.bind_problems("0.0.0.0", keyed=True, variable="sparkops_bind") == []
    [keyless] = exposure.bind_problems(
        "0.0.0.0", keyed=True, variable="sparkops_bind", can_take_key=False, service="Ollama"
    )
    assert "Ollama cannot require an API key" in keyless


@pytest.mark.parametrize(
    "argument",
    [
        "--host",
        "--host=0.0.0.0",
        "--port",
        "--api-key",
        "--api-key-file=/etc/shadow",
        "--tools",
        "-ag",
        "--mcp-servers-json",
    ],
)
def test_llama_server_arguments_that_take_over_the_bind_or_open_the_host_are_refused(argument):
    [message] = argument_problems(
        "llamacpp", ["-t", "4", argument, "0.0.0.0"], "engine_llamacpp_extra_args"
    )
    assert message.startswith(f"engine_llamacpp_extra_args sets {argument.split('=')[0]}")


def test_harmless_arguments_pass_and_values_that_look_like_options_are_not_misread():
    arguments = ["--chat-template-kwargs", '{"reasoning_effort": "high"}', "-t", "8", "--jinja"]
    assert argument_problems("llamacpp", arguments, "x") == []


def test_sglang_arguments_are_checked_against_sglangs_own_options():
    problems = argument_problems(
        "sglang", ["--host", "0.0.0.0", "--api-key", "k"], "engine_sglang_extra_args"
    )
    assert [p.split(" sets ")[1].split(",")[0] for p in problems] == ["--host", "--api-key"]


def test_a_non_string_argument_is_refused():
    [message] = argument_problems("llamacpp", [8005], "engine_llamacpp_extra_args")
    assert "must be a list of strings" in message


@pytest.mark.parametrize("name", ["OLLAMA_HOST", "ollama_host", "OLLAMA_ORIGINS", "OLLAMA_MODELS"])
def test_ollama_environment_that_takes_over_the_bind_is_refused(name):
    [message] = environment_problems(
        "ollama", {name: "0.0.0.0:11434", "OLLAMA_DEBUG": "1"}, "engine_ollama_extra_env"
    )
    assert message.startswith(f"engine_ollama_extra_env sets {name}")
    assert environment_problems("ollama", {"OLLAMA_DEBUG": "1"}, "x") == []


@pytest.mark.parametrize(
    "argument", ["--hos", "--api-k=", "--po", "--enable-custom-logit-processor"]
)
def test_sglang_abbreviations_of_owned_options_are_refused(argument):
    """launch_server's argparse takes any unambiguous prefix ("--hos" is "--host")."""
    [message] = argument_problems("sglang", [argument, "x"], "engine_sglang_extra_args")
    assert message.startswith(f"engine_sglang_extra_args sets {argument.split('=')[0]},")


def test_extra_arguments_given_as_one_string_are_refused():
    [message] = argument_problems("llamacpp", "--host 0.0.0.0", "engine_llamacpp_extra_args")
    assert "must be a list of arguments (got str)" in message


def test_the_message_names_the_service_by_its_label():
    [message] = exposure.bind_problems("0.0.0.0", True, "sparkops_bind", False, "Ollama")
    assert "exposes Ollama beyond this host, and Ollama cannot" in message
    [message] = exposure.bind_problems("0.0.0.0", True, "sparkops_bind", False)
    assert "exposes the service beyond this host, and the service cannot" in message
    assert exposure.bind_problems("0.0.0.0", True, "sparkops_bind", service="llama-server") == []


def test_the_rule_itself_names_no_engine():
    """Which options an engine owns is its role's to say: a new engine adds no line here."""
    source = Path(exposure.__file__).read_text()
    for literal in ('"OLLAMA_', '"--api-key', '"sglang"', '"llamacpp"', '"ollama"'):
        assert literal not in source, literal


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        (" ", "spaces or control characters"),
        ("\n", "spaces or control characters"),
        ("a-long-enough-key-but with a space", "spaces or control characters"),
        ("tab\there-and-long-enough", "spaces or control characters"),
        ("short", "is 5 characters long: use at least 16"),
    ],
)
def test_a_key_the_engines_would_strip_or_guess_is_refused_without_showing_it(key, expected):
    message = exposure.api_key_problem(key, "sparkops_api_key")
    assert expected in message and message.startswith("sparkops_api_key")
    assert key.strip() == "" or key not in message


@pytest.mark.parametrize("key", ["", None, "k" * 16, "sk-Abc_123.456~789/+="])
def test_no_key_or_a_usable_key_is_accepted(key):
    assert exposure.api_key_problem(key, "sparkops_api_key") == ""


@pytest.mark.parametrize("argument", ["--config", "--config=/x.yaml", "--conf"])
def test_a_second_sglang_config_file_is_refused(argument):
    [message] = argument_problems("sglang", [argument, "/x.yaml"], "engine_sglang_extra_args")
    assert f"sets {argument.split('=')[0]}," in message and "configuration file" in message
