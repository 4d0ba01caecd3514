# Copyright: sparkops.llm maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Is a freshly started service becoming healthy, still loading, or failing?

Loading gpt-oss-120b takes minutes, so the wait is long; but a service that exits at once (a
bad argument, a port taken, an address it cannot bind) must fail the run within seconds, not
after the whole timeout, and say why from its own journal.
"""

from __future__ import annotations

HEALTHY = "healthy"
STARTING = "starting"
FAILED = "failed"


def parse_show(text: str) -> dict:
    """``systemctl show -p A -p B`` output as a dict."""
    values = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip()] = value.strip()
    return values


def judge(
    status: int | None, unit: dict, restarts_baseline: int, max_restarts: int
) -> tuple[str, str]:
    """(state, reason) from the last HTTP status (None: no answer) and the unit's properties."""
    if status == 200:
        return HEALTHY, "answered 200"
    restarts = int(unit.get("NRestarts") or 0) - restarts_baseline
    active = unit.get("ActiveState", "")
    if active == "failed":
        return FAILED, f"the unit failed ({unit.get('Result', 'unknown result')})"
    if active in ("inactive", "") and unit.get("SubState") not in ("auto-restart",):
        return FAILED, f"the unit is not running (ActiveState={active or 'unknown'})"
    if restarts >= max_restarts:
        return FAILED, f"the service exited and was restarted {restarts} times"
    answer = "no answer" if status is None else f"HTTP {status}"
    return STARTING, f"{answer} yet ({active}/{unit.get('SubState', '?')})"
