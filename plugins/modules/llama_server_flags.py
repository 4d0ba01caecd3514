#!/usr/bin/python
# Copyright: sparkops.llm maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: llama_server_flags
short_description: Read which flags a llama-server binary accepts
version_added: 0.1.0
author: sparkops.llm maintainers
description:
  - Runs C(llama-server --help) and parses it, so that the engine role renders each flag only
    in a form this build accepts (for example C(-lm none) on current builds, C(--no-mmap) on
    older ones).
  - Read-only; never reports a change.
options:
  binary:
    description: Path of the llama-server binary.
    type: path
    required: true
attributes:
  check_mode:
    support: full
"""

EXAMPLES = r"""
- name: Read which flags this llama-server accepts
  sparkops.llm.llama_server_flags:
    binary: /opt/sparkops/llama.cpp/current/bin/llama-server
  register: llama_flags

- name: Show whether the build still knows --no-mmap
  ansible.builtin.debug:
    msg: "{{ llama_flags.flags['--no-mmap'] }}"
"""

RETURN = r"""
flags:
  description: Every flag name mapped to true; known flags this build lacks map to false.
  returned: success
  type: dict
  sample: {"--load-mode": true, "-lm": true, "--no-mmap": false}
arguments:
  description: Every flag name mapped to its argument spec as printed by --help ('' for a switch).
  returned: success
  type: dict
  sample: {"--flash-attn": "[on|off|auto]", "--jinja": ""}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.sparkops.llm.plugins.module_utils.llama_help import (
    accepted_flags,
    parse_help,
)


def main() -> None:
    module = AnsibleModule(
        argument_spec={"binary": {"type": "path", "required": True}},
        supports_check_mode=True,
    )
    binary = module.params["binary"]
    rc, out, err = module.run_command([binary, "--help"])
    parsed = parse_help(out + "\n" + err)
    if rc != 0 or not parsed:
        module.fail_json(
            msg=f"{binary} --help failed (rc={rc}) or printed no flags; is the build broken?",
            rc=rc,
            stdout=out[-2000:],
            stderr=err[-2000:],
        )
    module.exit_json(changed=False, flags=accepted_flags(parsed), arguments=parsed)


if __name__ == "__main__":
    main()
