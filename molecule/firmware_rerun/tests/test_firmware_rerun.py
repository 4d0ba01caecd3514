"""The re-run contract after OS and firmware updates, on the simulated Spark.

Molecule has converged site.yml (updates on, reboot off) and checked idempotence. These tests
then drive the updates the way a user meets them, in order:
1. an update that bumps CUDA (real apt, local repository) plus a firmware update (fwupdmgr
   stand-in): site.yml redoes exactly the invalidated work, llama.cpp once;
2. the next run changes nothing;
3. an update that touches nothing the collection depends on, applied outside the playbook:
   the next run changes nothing, and neither does a USB device that is plugged in;
4. check mode with updates pending lists them and changes nothing;
5. a failing firmware update stops the play with fwupd's own message.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from conftest import run_playbook

SITE = Path(__file__).resolve().parents[3] / "site.yml"
FACTS = "/etc/ansible/facts.d/sparkops.fact"
FWUPD_STATE = "/var/lib/sparkops-fake-fwupd/state.json"


def facts(host):
    return json.loads(host.file(FACTS).content_string)


def changed_tasks(output: str) -> list[str]:
    """Names of the tasks that reported a change, in order."""
    names, current = [], None
    for line in output.splitlines():
        match = re.match(r"^(?:TASK|RUNNING HANDLER) \[(.*)\]", line)
        if match:
            current = match.group(1)
        elif line.startswith("changed: ") and current:
            names.append(current)
    return names


def set_fwupd(host, **changes):
    state = json.loads(host.file(FWUPD_STATE).content_string)
    state.update(changes)
    host.run(f"cat > {FWUPD_STATE} <<'EOF'\n{json.dumps(state)}\nEOF")


def report(step: str, run) -> None:
    """One line per converge for the log (the verifier runs with -s): changed count and tasks."""
    print(f"\n[firmware_rerun] {step}: changed={run.changed} tasks={changed_tasks(run.output)}")


def build_count(host, stamp):
    log = host.file(f"/var/log/sparkops/llama-cpp-build-{stamp}.log").content_string
    return log.count("llama.cpp build ")


def test_first_run_recorded_the_platform(host):
    platform = facts(host)["platform"]
    assert platform["cuda"] == "13.0.2"
    assert platform["firmware"] == {"System Firmware": "5.36.0.0", "Embedded Controller": "1.2.7"}


def test_a_cuda_update_rebuilds_llama_cpp_exactly_once(host):
    before = facts(host)
    old_stamp = before["llama_cpp"]["stamp"]
    assert host.run("/usr/local/sbin/sim-apt-publish 13.1.0 1.0").rc == 0
    set_fwupd(host, pending={"9f4ab1e2c7d0b6a3e5f8c1d2b3a4e5f6a7b8c9d0": "1.2.8"})

    run = run_playbook(SITE)
    report("converge after the CUDA update", run)
    assert run.returncode == 0, run.describe()
    text = " ".join(run.output.split())
    assert "cuda: 13.0.2 -> 13.1.0" in text, run.describe()
    assert "firmware Embedded Controller: 1.2.7 -> 1.2.8" in text, run.describe()

    after = facts(host)
    assert after["platform"]["cuda"] == "13.1.0"
    new_stamp = after["llama_cpp"]["stamp"]
    assert new_stamp != old_stamp
    assert build_count(host, new_stamp) == 1
    assert host.file(f"/opt/sparkops/llama.cpp/{old_stamp}/build-info.json").exists

    # Exactly the invalidated work: the update itself and the platform's record (the preflight
    # role's record step, which the update role runs after changing the host), llama.cpp, and
    # the engine's unit, which names the new build (written by the llama-server engine role),
    # so llama-server restarts on it (the engine role's handler).
    changed = changed_tasks(run.output)
    roles = {name.split(" : ")[0] for name in changed}
    assert roles == {
        "sparkops.llm.update",
        "sparkops.llm.preflight",
        "sparkops.llm.llama_cpp",
        "sparkops.llm.engine_llamacpp",
        "sparkops.llm.engine",
    }, changed
    assert "sparkops.llm.engine_llamacpp : Write the llama-server unit" in changed, changed
    exec_start = host.run("systemctl show -p ExecStart --value sparkops-llama-server").stdout
    assert f"/opt/sparkops/llama.cpp/{new_stamp}/bin/llama-server" in exec_start
    assert host.run("curl -sf http://127.0.0.1:8005/health").rc == 0


def test_the_next_run_changes_nothing(host):
    run = run_playbook(SITE)
    report("converge again", run)
    assert run.returncode == 0, run.describe()
    assert run.changed == 0, changed_tasks(run.output)


def test_an_update_that_touches_nothing_relevant_changes_nothing(host):
    stamp = facts(host)["llama_cpp"]["stamp"]
    # As the DGX Dashboard would: an unrelated package moves outside the playbook.
    assert host.run("/usr/local/sbin/sim-apt-publish 13.1.0 1.1").rc == 0
    upgraded = host.run("apt-get update -q && apt-get install -y -q sparkops-sim-unrelated")
    assert upgraded.rc == 0, upgraded.stderr
    assert "unrelated 1.1" in host.file("/usr/share/sparkops-sim/unrelated.txt").content_string

    run = run_playbook(SITE)
    report("converge after an unrelated update", run)
    assert run.returncode == 0, run.describe()
    assert run.changed == 0, changed_tasks(run.output)
    assert facts(host)["llama_cpp"]["stamp"] == stamp
    assert build_count(host, stamp) == 1


def test_a_plugged_in_usb_device_is_no_platform_change(host):
    platform = facts(host)["platform"]
    state = json.loads(host.file(FWUPD_STATE).content_string)
    # A removable device as fwupd lists one: no "internal" flag (FwupdDeviceFlags).
    state["devices"].append(
        {
            "Name": "USB Receiver",
            "DeviceId": "1f1c9e1b6b0b2a7d5a8a9d5bd0b9f0a8d3c1e2f4",
            "Plugin": "logitech_hidpp",
            "Flags": ["updatable"],
            "Version": "RQR12.11",
        }
    )
    set_fwupd(host, devices=state["devices"])
    assert "USB Receiver" in host.run("fwupdmgr get-devices --json").stdout

    run = run_playbook(SITE)
    report("converge with a USB device plugged in", run)
    assert run.returncode == 0, run.describe()
    assert run.changed == 0, changed_tasks(run.output)
    assert facts(host)["platform"] == platform


def test_check_mode_lists_pending_updates_and_changes_nothing(host):
    set_fwupd(host, pending={"a45df35ac0e948ee180fe216a5f703f32dda163f": "5.37.0.0"})
    assert host.run("/usr/local/sbin/sim-apt-publish 13.2.0 1.1").rc == 0
    version_json = host.file("/usr/local/cuda/version.json").content_string

    run = run_playbook(SITE, None, "--check")
    assert run.returncode == 0, run.describe()
    text = " ".join(run.output.split())
    assert "System Firmware: 5.36.0.0: 5.37.0.0" in text, run.describe()
    assert "sparkops-sim-cuda-toolkit" in text, run.describe()
    assert host.file("/usr/local/cuda/version.json").content_string == version_json
    state = json.loads(host.file(FWUPD_STATE).content_string)
    assert state["devices"][0]["Version"] == "5.36.0.0"


def test_a_failed_firmware_update_stops_with_fwupds_message(host):
    message = "Failed to update System Firmware: firmware signature verification failed"
    set_fwupd(host, fail_upgrade=message)
    run = run_playbook(SITE)
    assert run.returncode != 0
    text = " ".join(run.output.split())
    assert f"fwupdmgr upgrade failed (rc=1): {message}" in text, run.describe()
    # The play stopped at the update: nothing after it ran.
    assert "TASK [sparkops.llm.swap" not in run.output
    log = json.loads(host.file("/var/log/sparkops/update-last.json").content_string)
    assert message in log["fwupd"]["upgrade_output"]
