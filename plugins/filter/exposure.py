# Copyright: sparkops.llm maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filters for addresses, URLs, exposure, service accounts and owned folders (module_utils)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.sparkops.llm.plugins.module_utils import (
    exposure,
    owned_paths,
    service_account,
)


def _wrap(function):
    def run(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except exposure.BindError as exc:
            raise AnsibleFilterError(str(exc)) from exc

    return run


def exposure_problems(
    bind,
    keyed,
    variable,
    service="",
    arguments=None,
    arguments_variable="",
    owned_options=None,
    abbreviating=False,
    environment=None,
    environment_variable="",
    owned_environment=None,
    can_take_key=True,
):
    """Every reason the exposure rule refuses this service's settings, as messages."""
    return (
        exposure.bind_problems(bind, bool(keyed), variable, bool(can_take_key), service)
        + exposure.argument_problems(
            owned_options,
            [] if arguments is None else arguments,
            arguments_variable,
            bool(abbreviating),
        )
        + exposure.environment_problems(
            owned_environment, dict(environment or {}), environment_variable
        )
    )


def service_account_problem(
    name, variable, entry, default, adoptable=None, purpose="", group_exists=False
):
    """'' when ``name`` may be the service account, else why not (``name | ...``)."""
    return service_account.account_problem(
        variable, name, entry, default, list(adoptable or []), purpose, bool(group_exists)
    )


def api_key_problem(key, variable):
    """'' when ``key`` is empty or usable as an API key, else why not (``key | ...``)."""
    return exposure.api_key_problem(key, variable)


def own_folder_problem(path, variable, default, others=(), shared=False):
    """'' when ``path`` may be the role's own folder, else why not (``path | ...``)."""
    return owned_paths.own_folder_problem(variable, path, default, others, shared)


def takeover_problems(folders, stats):
    """Problems for each of ``folders`` ({variable, path, default, owner, shared}), with the
    registered ``stat`` results of the same loop."""
    problems = []
    for folder, result in zip(folders, stats, strict=True):
        problem = owned_paths.takeover_problem(
            folder["variable"],
            folder["path"],
            folder["default"],
            result.get("stat", {}),
            folder["owner"],
            bool(folder.get("shared", False)),
            folder.get("group", ""),
        )
        if problem:
            problems.append(problem)
    return problems


class FilterModule:
    def filters(self):
        return {
            "client_host": _wrap(exposure.client_host),
            "http_url": _wrap(exposure.http_url),
            "host_port": _wrap(exposure.host_port),
            "is_loopback": _wrap(exposure.is_loopback),
            "exposure_problems": exposure_problems,
            "service_account_problem": service_account_problem,
            "own_folder_problem": own_folder_problem,
            "takeover_problems": takeover_problems,
            "api_key_problem": api_key_problem,
        }
