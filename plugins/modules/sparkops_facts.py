#!/usr/bin/python
# Copyright: sparkops.llm maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: sparkops_facts
short_description: Write one role's section of the shared sparkops local facts file
version_added: 0.1.0
author: sparkops.llm maintainers
description:
  - Every role of sparkops.llm records what it established (platform fingerprint, llama.cpp
    build, model, engine) in one JSON file, read back as C(ansible_local.sparkops).
  - This module replaces one top-level section and leaves the others as they are.
  - The file is written atomically (temporary file, then rename) and only when its content
    changes, so a re-run reports no change.
  - The data is checked against the section's schema (C(plugins/module_utils/fact_contract.py))
    before anything is written.
  - The section is handed to the rest of the run as the host fact C(sparkops_fact_<section>),
    also in check mode; roles read it with the filter C(sparkops.llm.sparkops_fact).
options:
  section:
    description: Top-level key owned by the calling role; required unless I(state=forget).
    type: str
    choices: [platform, llama_cpp, model, engine, bridge]
  data:
    description: The section's new content.
    type: dict
    default: {}
  state:
    description:
      - C(absent) removes the section.
      - C(forget) touches no file and clears every section's host fact, so that a persistent
        fact cache cannot hand an earlier run's sections (a check-mode run's among them) to this
        one. site.yml does this first.
    type: str
    choices: [present, absent, forget]
    default: present
  path:
    description: The facts file.
    type: path
    default: /etc/ansible/facts.d/sparkops.fact
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
"""

EXAMPLES = r"""
- name: Record the installed llama.cpp build
  sparkops.llm.sparkops_facts:
    section: llama_cpp
    data:
      stamp: 0c1e570-cpu-3fa9c2d1e0ab
      backend: cpu
"""

RETURN = r"""
previous:
  description: The section before this run (empty when it was absent).
  returned: always
  type: dict
section:
  description: The section after this run.
  returned: always
  type: dict
ansible_facts:
  description: This run's section, for the roles that follow.
  returned: always
  type: dict
  sample: {"sparkops_fact_llama_cpp": {"stamp": "0c1e570-cpu-3fa9c2d1e0ab"}}
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.sparkops.llm.plugins.module_utils.fact_contract import (
    IN_RUN_PREFIX,
    SECTIONS,
    FactContractError,
    checked_record,
)
from ansible_collections.sparkops.llm.plugins.module_utils.local_facts import (
    LocalFactsError,
    merge_section,
    parse_facts,
    render_facts,
)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "section": {"type": "str", "choices": list(SECTIONS)},
            "data": {"type": "dict", "default": {}},
            "state": {
                "type": "str",
                "choices": ["present", "absent", "forget"],
                "default": "present",
            },
            "path": {"type": "path", "default": "/etc/ansible/facts.d/sparkops.fact"},
        },
        required_if=[("state", "present", ["section"]), ("state", "absent", ["section"])],
        supports_check_mode=True,
    )
    if module.params["state"] == "forget":
        # None, not {}: {} means "removed in this run", None "not written in this run".
        module.exit_json(
            changed=False, ansible_facts={IN_RUN_PREFIX + name: None for name in SECTIONS}
        )
    path = module.params["path"]
    section = module.params["section"]
    data = module.params["data"]
    if module.params["state"] == "present":
        try:
            checked_record(section, data)
        except FactContractError as exc:
            module.fail_json(msg=str(exc))
    before_text = ""
    if os.path.exists(path):
        with open(path, encoding="utf-8") as handle:
            before_text = handle.read()
    try:
        document = parse_facts(before_text, path)
    except LocalFactsError as exc:
        module.fail_json(msg=str(exc))
    merged = merge_section(document, section, data, module.params["state"])
    after_text = render_facts(merged)
    changed = after_text != before_text
    result = {
        "changed": changed,
        "previous": document.get(section, {}),
        "section": merged.get(section, {}),
        "ansible_facts": {IN_RUN_PREFIX + section: merged.get(section, {})},
    }
    if module._diff:
        result["diff"] = {"before": before_text, "after": after_text, "before_header": path}
    if changed and not module.check_mode:
        directory = os.path.dirname(path)
        if not os.path.isdir(directory):
            os.makedirs(directory, mode=0o755)
        tmp_path = f"{path}.tmp"
        with open(tmp_path, "w", encoding="utf-8") as handle:
            handle.write(after_text)
        os.chmod(tmp_path, 0o644)
        module.atomic_move(tmp_path, path)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
