"""Kill a role's background job part-way, from inside the simulated Spark, as a power cut or the
OOM killer would (SIGKILL, no trap runs), to prove that the next run repairs what it left.

The watcher runs in the container as a transient unit: it polls a condition every 0.1 s (a
partial download that has reached a size, a build that has started compiling) and then kills the
oldest process whose command line matches a pattern, with everything it started. Polling from
the test through the connection would take seconds per look and miss the moment.
"""

from __future__ import annotations

import shlex

UNIT = "sparkops-test-interrupt"
RESULT = "/root/interrupt-killed"
SCRIPT = """#!/bin/sh
rm -f {result}
i=0
until {condition}; do
  i=$((i + 1)); [ "$i" -gt 6000 ] && exit 1
  sleep 0.1
done
root=$(pgrep -o -f {pattern}) || exit 3
all=$root; new=$root
while [ -n "$new" ]; do
  new=$(ps -eo pid=,ppid= | awk -v p=" $(echo $new) " 'index(p, " " $2 " ") {{print $1}}')
  all="$all $new"
done
kill -STOP $all; kill -9 $all
echo $all >{result}
"""


def arm(host, condition: str, pattern: str) -> None:
    """Start the watcher: once ``condition`` (a shell test) holds, kill what ``pattern`` finds."""
    script = SCRIPT.format(condition=condition, pattern=shlex.quote(pattern), result=RESULT)
    host.check_output(f"printf %s {shlex.quote(script)} > /root/{UNIT}.sh")
    host.run(f"systemctl stop {UNIT}")
    host.check_output(f"systemd-run --unit={UNIT} --collect /bin/sh /root/{UNIT}.sh")


def killed(host) -> list[str]:
    """The process ids the watcher killed (empty when it never fired); stops the watcher."""
    host.run(f"systemctl stop {UNIT}")
    return host.run(f"cat {RESULT}").stdout.split()
