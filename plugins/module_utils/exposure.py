# Copyright: sparkops.llm maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Who can reach a service: bind addresses, the URLs clients use, and every other route to a bind.

One rule for every engine and the bridge: a service listens beyond loopback only with a key.
A bind is an IP literal or ``localhost``; anything else (a host name, a typo such as
``127.0.0.l``) is refused, because the engines resolve names differently and the rule must know
exactly what is opened. The extra arguments and environment a user may add are checked here too,
so that ``--host 0.0.0.0`` in ``engine_llamacpp_extra_args`` or ``OLLAMA_HOST`` in
``engine_ollama_extra_env`` cannot open what ``sparkops_bind`` keeps closed. Which options and
variables an engine's role sets itself is that role's to say (``owned_options`` and
``owned_environment`` in its ``tasks/describe.yml``); the rule here knows no engine.
"""

from __future__ import annotations

import ipaddress

WILDCARDS = {"0.0.0.0": "127.0.0.1", "::": "::1"}


class BindError(ValueError):
    """The bind address is not one the exposure rule can judge."""


def parse_bind(bind: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address of ``bind``; None for ``localhost``. Raises BindError for anything else."""
    # Taken as written: the same text goes to the engine's --host, so " 127.0.0.1" or "[::1]"
    # would pass here and fail there.
    text = str(bind)
    if text.lower() == "localhost":
        return None
    try:
        return ipaddress.ip_address(text)
    except ValueError as exc:
        raise BindError(
            f"{bind!r} is not an IP address: give an address this host has (127.0.0.1, ::1, "
            "0.0.0.0 for every IPv4 interface, :: for every interface, or one interface's address)"
        ) from exc


def is_loopback(bind: str) -> bool:
    """True when only this host can connect to ``bind``."""
    address = parse_bind(bind)
    return address is None or address.is_loopback


def client_host(bind: str) -> str:
    """The address a client on this same host connects to, for a service bound to ``bind``."""
    address = parse_bind(bind)
    if address is None:
        return "127.0.0.1"
    text = str(address)
    return WILDCARDS.get(text, text)


def url_host(host: str) -> str:
    """``host`` as it goes into a URL: IPv6 literals in brackets."""
    text = str(host).strip("[]")
    return f"[{text}]" if ":" in text else text


def http_url(host: str, port: int | str) -> str:
    return f"http://{url_host(host)}:{int(port)}"


def host_port(host: str, port: int | str) -> str:
    """``host:port`` as Ollama's OLLAMA_HOST takes it (IPv6 in brackets)."""
    return f"{url_host(host)}:{int(port)}"


def _option_name(argument: str) -> str:
    return argument.split("=", 1)[0]


def argument_problems(
    owned: dict, arguments: list, variable: str, abbreviating: bool = False
) -> list[str]:
    """Messages for extra arguments that would take over an option the role owns.

    ``owned`` maps each option to what to set instead. ``abbreviating`` is for a parser that
    takes an unambiguous prefix of an option (Python's argparse does by default), where
    "--hos" means "--host".
    """
    owned = dict(owned or {})
    if not isinstance(arguments, (list, tuple)):
        return [f"{variable} must be a list of arguments (got {type(arguments).__name__})"]
    problems = []
    for argument in arguments:
        if not isinstance(argument, str):
            problems.append(
                f"{variable} must be a list of strings; {argument!r} is a {type(argument).__name__}"
            )
            continue
        name = _option_name(argument)
        if name not in owned and abbreviating and name.startswith("--") and len(name) > 2:
            name = next((option for option in owned if option.startswith(name)), name)
        if name in owned:
            problems.append(
                f"{variable} sets {_option_name(argument)}, which the role decides itself: "
                f"remove it and set {owned[name]} instead"
            )
    return problems


# A key shorter than this is guessable by anyone who can reach the port.
MIN_KEY_LENGTH = 16


def api_key_problem(key: str, variable: str) -> str:
    """'' for an empty key (none set) or a usable one; else why not, without the key itself.

    An engine told a key of spaces trims it to nothing and then checks no key at all (SGLang
    adds its check only for a non-empty key), so such a key would open a wide bind.
    """
    text = "" if key is None else str(key)
    if text == "":
        return ""
    if any(char.isspace() or ord(char) < 32 or ord(char) == 127 for char in text):
        return (
            f"{variable} holds spaces or control characters, which the engines strip or cannot "
            "take in a header: use letters, digits and punctuation only (the value is not shown)"
        )
    if len(text) < MIN_KEY_LENGTH:
        return (
            f"{variable} is {len(text)} characters long: use at least {MIN_KEY_LENGTH} (or leave "
            "it empty with engine_generate_api_key: true to have one generated)"
        )
    return ""


def environment_problems(owned: dict, environment: dict, variable: str) -> list[str]:
    """Messages for extra environment that would take over a variable the role owns.

    ``owned`` maps each upper-case variable name to what to set instead.
    """
    owned = {str(name).upper(): instead for name, instead in (owned or {}).items()}
    problems = []
    for name in sorted(environment or {}):
        if str(name).upper() in owned:
            problems.append(
                f"{variable} sets {name}, which the role decides itself: remove it and set "
                f"{owned[str(name).upper()]} instead"
            )
    return problems


def bind_problems(
    bind: str, keyed: bool, variable: str, can_take_key: bool = True, service: str = ""
) -> list[str]:
    """Messages for a bind the exposure rule refuses; they name ``service`` (its label)."""
    service = service or "the service"
    try:
        loopback = is_loopback(bind)
    except BindError as exc:
        return [f"{variable}: {exc}"]
    if loopback:
        return []
    if not can_take_key:
        return [
            f"{variable} is {bind}, which exposes {service} beyond this host, and {service} "
            "cannot require an API key: bind it to 127.0.0.1 (or ::1) and put the keyed "
            "anthropic_bridge in front of it (sparkops_bridge: true)"
        ]
    if not keyed:
        return [
            f"{variable} is {bind}, which exposes the service beyond this host, but no API key is "
            "set: set sparkops_api_key (keep it in ansible-vault), or engine_generate_api_key: "
            "true to have one generated, or bind to 127.0.0.1"
        ]
    return []
