# Copyright: sparkops.llm maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Wait for a background (async) job and print its progress while it runs.

Long work (a CUDA build, a 63 GB download) must not look hung: every ``interval`` seconds this
prints one line per host with the elapsed time and the last line of a progress command
(for example the tail of the build log), then returns the job's own result.
"""

from __future__ import annotations

import re
import time

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

display = Display()


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = True

    def _status(self, jid: str, async_dir: str, task_vars: dict, mode: str = "status") -> dict:
        return self._execute_module(
            module_name="ansible.legacy.async_status",
            module_args={"jid": jid, "mode": mode, "_async_dir": async_dir},
            task_vars=task_vars,
        )

    def _progress(self, argv: list[str], pattern: str, task_vars: dict) -> str:
        result = self._execute_module(
            module_name="ansible.legacy.command",
            module_args={"argv": argv},
            task_vars=task_vars,
        )
        lines = [line for line in (result.get("stdout") or "").splitlines() if line.strip()]
        if pattern:
            lines = [line for line in lines if re.search(pattern, line)]
        return lines[-1].strip() if lines else ""

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        _, args = self.validate_argument_spec(
            argument_spec={
                "jid": {"type": "str", "required": True},
                "what": {"type": "str", "default": "job"},
                "progress_command": {"type": "list", "elements": "str", "default": []},
                "progress_pattern": {"type": "str", "default": ""},
                "log": {"type": "str", "default": ""},
                "interval": {"type": "int", "default": 15},
                "timeout": {"type": "int", "default": 7200},
            },
        )
        if args["interval"] < 1 or args["timeout"] < 1:
            raise AnsibleActionFail("interval and timeout must be at least 1 second")

        async_dir = self._remote_expand_user(
            self.get_shell_option("async_dir", default="~/.ansible_async")
        )
        host = task_vars.get("inventory_hostname", "?")
        where = f" (log: {args['log']})" if args["log"] else ""
        started = time.monotonic()
        while True:
            status = self._status(args["jid"], async_dir, task_vars)
            if status.get("failed") and not status.get("started", True):
                raise AnsibleActionFail(f"cannot read job {args['jid']}: {status.get('msg')}")
            if status.get("finished"):
                break
            elapsed = int(time.monotonic() - started)
            if elapsed >= args["timeout"]:
                raise AnsibleActionFail(
                    f"{args['what']} still running after {elapsed} s, the timeout{where}"
                )
            progress = (
                self._progress(args["progress_command"], args["progress_pattern"], task_vars)
                if args["progress_command"]
                else ""
            )
            display.display(
                f"  [{host}] {args['what']}: {elapsed // 60}m{elapsed % 60:02d}s"
                f"{' - ' + progress[:160] if progress else ''}{where}"
            )
            time.sleep(args["interval"])

        self._status(args["jid"], async_dir, task_vars, mode="cleanup")
        for key in ("started", "finished", "results_file", "ansible_job_id", "invocation"):
            status.pop(key, None)
        result.update(status)
        result["elapsed_s"] = int(time.monotonic() - started)
        if result.get("rc", 0) != 0 and not result.get("failed"):
            result["failed"] = True
        if result.get("failed"):
            output = result.get("stdout") or ""
            if args["log"]:
                # Jobs that write to a log print little themselves: show the log's end.
                output = self._execute_module(
                    module_name="ansible.legacy.command",
                    module_args={"argv": ["tail", "-n", "25", args["log"]]},
                    task_vars=task_vars,
                ).get("stdout", output)
            tail = "\n".join(output.splitlines()[-25:])
            result["msg"] = (
                f"{args['what']} failed (rc={result.get('rc')}){where}. Last lines:\n{tail}"
            )
        return result
