#!/usr/bin/python
# Copyright: sparkops.llm maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: job_progress
short_description: Wait for an async job and print its progress while it runs
version_added: 0.1.0
author: sparkops.llm maintainers
description:
  - "Waits for a job started with C(async) and C(poll: 0), printing every I(interval) seconds
    the elapsed time and the last line of I(progress_command), so long work does not look hung."
  - Returns the job's own result (C(rc), C(stdout), ...) and fails with the last lines of its
    output when it failed.
  - This is an action plugin; the work happens on the controller.
options:
  jid:
    description: The C(ansible_job_id) of the async task.
    type: str
    required: true
  what:
    description: What the job is, for the progress lines.
    type: str
    default: job
  progress_command:
    description: Command run on the host at every poll; the last line of its output is shown.
    type: list
    elements: str
    default: []
  progress_pattern:
    description: Show the last line of I(progress_command) output that matches this regex.
    type: str
    default: ""
  log:
    description: Log file to name in the progress lines and in the failure message.
    type: str
    default: ""
  interval:
    description: Seconds between polls.
    type: int
    default: 15
  timeout:
    description: Seconds after which waiting fails.
    type: int
    default: 7200
attributes:
  check_mode:
    support: none
"""

EXAMPLES = r"""
- name: Build in the background
  ansible.builtin.command:
    argv: [/usr/local/bin/build.sh]
  async: 7200
  poll: 0
  register: build_job
  changed_when: true

- name: Wait for the build
  sparkops.llm.job_progress:
    jid: "{{ build_job.ansible_job_id }}"
    what: llama.cpp build
    progress_command: [tail, -n, "1", /var/log/build.log]
    log: /var/log/build.log
"""

RETURN = r"""
rc:
  description: The job's exit status.
  returned: always
  type: int
elapsed_s:
  description: Seconds spent waiting.
  returned: always
  type: int
"""
