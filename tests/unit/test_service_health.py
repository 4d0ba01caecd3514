"""Judging a starting service: healthy, still loading, or failing (fast)."""

from __future__ import annotations

from ansible_collections.sparkops.llm.plugins.module_utils.service_health import (
    FAILED,
    HEALTHY,
    STARTING,
    judge,
    parse_show,
)

# `systemctl show sparkops-llama-server.service --property=...` as systemd 252 prints it while
# llama-server was loading, and after it had exited on a bad argument three times.
LOADING = "ActiveState=active\nSubState=running\nResult=success\nNRestarts=0\n"
CRASH_LOOP = "ActiveState=activating\nSubState=auto-restart\nResult=exit-code\nNRestarts=3\n"
GAVE_UP = "ActiveState=failed\nSubState=failed\nResult=exit-code\nNRestarts=5\n"
STOPPED = "ActiveState=inactive\nSubState=dead\nResult=success\nNRestarts=0\n"


def test_parse_show_reads_every_property():
    assert parse_show(CRASH_LOOP) == {
        "ActiveState": "activating",
        "SubState": "auto-restart",
        "Result": "exit-code",
        "NRestarts": "3",
    }


def test_a_200_is_healthy():
    assert judge(200, parse_show(LOADING), 0, 2)[0] == HEALTHY


def test_a_running_unit_without_an_answer_is_still_starting():
    state, reason = judge(None, parse_show(LOADING), 0, 2)
    assert state == STARTING and "no answer" in reason
    assert judge(503, parse_show(LOADING), 0, 2)[0] == STARTING


def test_restarts_since_the_baseline_fail_fast():
    state, reason = judge(None, parse_show(CRASH_LOOP), 0, 2)
    assert state == FAILED and "restarted 3 times" in reason
    # Restarts from before this start do not count.
    assert judge(None, parse_show(CRASH_LOOP), 2, 2)[0] == STARTING


def test_a_failed_or_stopped_unit_fails():
    assert judge(None, parse_show(GAVE_UP), 0, 2) == (FAILED, "the unit failed (exit-code)")
    assert judge(None, parse_show(STOPPED), 0, 2)[0] == FAILED
