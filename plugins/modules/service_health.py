#!/usr/bin/python
# Copyright: sparkops.llm maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: service_health
short_description: Wait a while for a service's health URL, failing fast when the unit fails
version_added: 0.1.0
author: sparkops.llm maintainers
description:
  - Polls I(url) for up to I(window_s) seconds and returns C(state) C(healthy) (it answered 200),
    C(starting) (no answer yet, the unit still running) or C(failed) (the unit failed, stopped,
    or restarted I(max_restarts) times since I(restarts_baseline)), with the journal's last lines
    when it failed. Call it with C(until) for a long wait that still prints progress.
  - It never fails itself; the caller decides what C(failed) means.
options:
  url:
    description: The health URL (a GET that answers 200 when the service is ready).
    type: str
    required: true
  unit:
    description: The systemd unit that runs the service.
    type: str
    required: true
  window_s:
    description: Seconds to poll in this call.
    type: int
    default: 30
  restarts_baseline:
    description: The unit's NRestarts before it was (re)started; -1 reads it now.
    type: int
    default: -1
  max_restarts:
    description: Restarts after the baseline that count as failing.
    type: int
    default: 2
attributes:
  check_mode:
    support: full
"""

EXAMPLES = r"""
- name: Wait for llama-server
  sparkops.llm.service_health:
    url: http://127.0.0.1:8005/health
    unit: sparkops-llama-server.service
  register: health
  until: health.state != 'starting'
  retries: 30
  delay: 0
"""

RETURN = r"""
state:
  description: healthy, starting or failed.
  returned: always
  type: str
reason:
  description: Why, in words.
  returned: always
  type: str
restarts:
  description: The unit's NRestarts now.
  returned: always
  type: int
journal:
  description: The unit's last journal lines, when it failed.
  returned: when state is failed
  type: str
"""

import time
import urllib.error
import urllib.request

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.sparkops.llm.plugins.module_utils.service_health import (
    FAILED,
    STARTING,
    judge,
    parse_show,
)

PROPERTIES = ["ActiveState", "SubState", "Result", "NRestarts"]


def unit_properties(module: AnsibleModule, systemctl: str, unit: str) -> dict:
    argv = [systemctl, "show", unit] + [f"--property={name}" for name in PROPERTIES]
    rc, out, _ = module.run_command(argv)
    return parse_show(out) if rc == 0 else {}


def http_status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:  # noqa: S310 (http only, ours)
            return answer.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, OSError, ValueError):
        return None


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "url": {"type": "str", "required": True},
            "unit": {"type": "str", "required": True},
            "window_s": {"type": "int", "default": 30},
            "restarts_baseline": {"type": "int", "default": -1},
            "max_restarts": {"type": "int", "default": 2},
        },
        supports_check_mode=True,
    )
    params = module.params
    systemctl = module.get_bin_path("systemctl", required=True)
    unit = unit_properties(module, systemctl, params["unit"])
    baseline = params["restarts_baseline"]
    if baseline < 0:
        baseline = int(unit.get("NRestarts") or 0)
    deadline = time.monotonic() + max(params["window_s"], 1)
    while True:
        status = http_status(params["url"])
        unit = unit_properties(module, systemctl, params["unit"])
        state, reason = judge(status, unit, baseline, params["max_restarts"])
        if state != STARTING or time.monotonic() >= deadline:
            break
        time.sleep(2)
    result = {
        "changed": False,
        "state": state,
        "reason": f"{params['unit']} at {params['url']}: {reason}",
        "restarts": int(unit.get("NRestarts") or 0),
    }
    if state == FAILED:
        journalctl = module.get_bin_path("journalctl")
        if journalctl:
            argv = [journalctl, "-u", params["unit"], "-n", "25", "--no-pager", "-o", "cat"]
            result["journal"] = module.run_command(argv)[1]
    module.exit_json(**result)


if __name__ == "__main__":
    main()
