"""The fact contract: one schema per section, checked where it is written and where it is read,
this run's section before the file's, and the platform fingerprint without removable devices."""

from __future__ import annotations

import json

import pytest
from ansible_collections.sparkops.llm.plugins.module_utils import fact_contract as fc
from ansible_collections.sparkops.llm.plugins.module_utils.spark_probe import (
    parse_fwupd_devices,
)
from ansible_collections.sparkops.llm.plugins.modules import sparkops_facts

# Records as the roles write them (the shapes of a converged simulated Spark's facts file).
RECORDS = {
    "platform": {
        "driver": None,
        "cuda": "13.0.2",
        "cuda_driver": None,
        "kernel": "6.1.0-40-amd64",
        "dgx_os": None,
        "firmware": {"System Firmware": "5.36.0.0"},
    },
    "llama_cpp": {
        "stamp": "0c1e570-cpu-3fa9c2d1e0ab",
        "prefix": "/opt/sparkops/llama.cpp/0c1e570-cpu-3fa9c2d1e0ab",
        "bin_dir": "/opt/sparkops/llama.cpp/0c1e570-cpu-3fa9c2d1e0ab/bin",
        "current": "/opt/sparkops/llama.cpp/current",
        "version": "1 (0c1e570)",
        "commit": "0c1e57098bba43ac29e6e3b677cdceebdd22334f",
        "backend": "cpu",
        "cuda": "none",
        "cuda_archs": "",
        "patches": ["sampling-fast-top-k"],
        "flags": {"--load-mode": True},
        "flag_arguments": {"--load-mode": "auto|none|mmap"},
    },
    "model": {
        "name": "testbed-tiny",
        "alias": "testbed-tiny",
        "format": "gguf",
        "dir": "/var/lib/sparkops/models/testbed-tiny",
        "path": "/var/lib/sparkops/models/testbed-tiny/testbed-tiny.gguf",
        "bytes": 1234567,
        "sha256": {"testbed-tiny.gguf": "ab" * 32},
        "source": "url",
    },
    "engine": {
        "name": "llamacpp",
        "unit": "sparkops-llama-server.service",
        "url": "http://127.0.0.1:8005",
        "port": 8005,
        "bind": "127.0.0.1",
        "api_key_file": "",
        "alias": "gpt-oss-120b",
    },
    "bridge": {
        "folders": ["/opt/sparkops/litellm", "/etc/sparkops-bridge"],
        "user": "sparkops-bridge",
    },
}


def local(**sections):
    return {"ansible_local": {"sparkops": sections}}


@pytest.mark.parametrize("section", sorted(RECORDS))
def test_every_writers_record_passes_its_schema(section):
    assert fc.checked_record(section, RECORDS[section]) is RECORDS[section]
    assert fc.read_section(local(**{section: RECORDS[section]}), section)


def test_a_record_missing_a_field_is_refused_naming_the_writer():
    record = dict(RECORDS["llama_cpp"])
    del record["flags"]
    with pytest.raises(fc.FactContractError, match=r"sparkops.llm.llama_cpp .*lacks 'flags'"):
        fc.checked_record("llama_cpp", record)


@pytest.mark.parametrize(
    "section, key, value",
    [("engine", "port", "8005"), ("engine", "port", True), ("model", "sha256", [])],
)
def test_a_field_of_the_wrong_type_is_refused(section, key, value):
    with pytest.raises(fc.FactContractError, match=f"'{key}' must be"):
        fc.checked_record(section, {**RECORDS[section], key: value})


def test_an_unknown_section_is_refused():
    with pytest.raises(fc.FactContractError, match="not a section.*platform, llama_cpp"):
        fc.read_section({}, "cluster")


def test_this_runs_section_comes_before_the_files():
    this_run = {**RECORDS["engine"], "port": 11434, "name": "ollama"}
    facts = {**local(engine=RECORDS["engine"]), fc.IN_RUN_PREFIX + "engine": this_run}
    assert fc.read_section(facts, "engine")["name"] == "ollama"


def test_a_section_removed_in_this_run_is_gone_though_the_file_was_read_before():
    facts = {**local(bridge=RECORDS["bridge"]), fc.IN_RUN_PREFIX + "bridge": {}}
    assert fc.read_section(facts, "bridge", required=False) == {}


def test_a_missing_required_section_names_the_role_and_its_tag():
    with pytest.raises(
        fc.FactContractError,
        match=r"no llama_cpp fact .*run the sparkops.llm.llama_cpp role first .*tag 'llama_cpp'",
    ):
        fc.read_section(local(), "llama_cpp")
    assert fc.read_section({}, "llama_cpp", required=False) == {}


def test_a_stale_record_names_what_it_lacks_and_the_role_to_run():
    stale = {k: v for k, v in RECORDS["engine"].items() if k != "alias"}
    with pytest.raises(
        fc.FactContractError,
        match=r"engine fact from /etc/ansible/facts.d/sparkops.fact is stale .*lacks 'alias'"
        r".*sparkops.llm.engine role again",
    ):
        fc.read_section(local(engine=stale), "engine")


def test_a_damaged_record_a_writer_reads_itself_is_ignored_with_a_warning():
    damaged = {**RECORDS["engine"], "port": "8005"}
    warnings = []
    assert fc.read_section(local(engine=damaged), "engine", False, warnings) == {}
    assert len(warnings) == 1 and "'port' must be a number" in warnings[0]
    assert "sparkops.llm.engine role records it anew" in warnings[0]


def test_a_section_cleared_at_the_start_of_the_run_reads_from_the_file():
    # state=forget sets None: a persistent fact cache's value from an earlier run is gone.
    facts = {**local(engine=RECORDS["engine"]), fc.IN_RUN_PREFIX + "engine": None}
    assert fc.read_section(facts, "engine") == RECORDS["engine"]


def test_a_model_recorded_before_formats_existed_reads_as_gguf():
    older = {k: v for k, v in RECORDS["model"].items() if k != "format"}
    assert fc.read_section(local(model=older), "model")["format"] == "gguf"


def test_a_partial_bridge_record_reads_when_not_required():
    # The bridge records its folders and account before it runs; a release before that
    # recorded only the endpoint.
    assert fc.read_section(local(bridge=RECORDS["bridge"]), "bridge", False)["user"]
    endpoint_only = {"url": "http://127.0.0.1:4000", "port": 4000}
    assert fc.read_section(local(bridge=endpoint_only), "bridge", False)["port"] == 4000


def test_the_fingerprint_counts_only_the_platforms_firmware(fixture_text):
    text = fixture_text("fwupdmgr_get_devices.json")
    host = {
        "driver_version": "580.95.05",
        "cuda_toolkit_version": "13.0.2",
        "cuda_driver_version": "13.0",
        "kernel": "6.11.0-1016-nvidia",
        "dgx_os_version": "7.2.3",
        "firmware": parse_fwupd_devices(text),
        "platform_firmware": parse_fwupd_devices(text, internal_only=True),
    }
    fingerprint = fc.platform_fingerprint(host)
    assert fc.section_problems("platform", fingerprint) == []
    # The fixture's USB receiver has no "internal" flag; the lockdown entry has none either.
    assert fingerprint["firmware"] == {
        "System Firmware": "0.0.1.18",
        "Samsung SSD 990 PRO 4TB": "4B2QJXD7",
        "TPM": "15.23.18433.0",
    }
    assert fingerprint["cuda"] == "13.0.2" and fingerprint["dgx_os"] == "7.2.3"


def test_platform_changes_are_one_line_each():
    before = RECORDS["platform"]
    after = {**before, "cuda": "13.1.0", "firmware": {"System Firmware": "5.37.0.0", "EC": "1"}}
    assert fc.platform_changes(before, after) == [
        "cuda: 13.0.2 -> 13.1.0",
        "firmware EC: None -> 1",
        "firmware System Firmware: 5.36.0.0 -> 5.37.0.0",
    ]
    assert fc.platform_changes(before, dict(before)) == []


def test_the_module_refuses_a_bad_record_before_writing(module_runner, tmp_path):
    path = tmp_path / "sparkops.fact"
    path.write_text('{"engine": {}}\n')
    bad = {**RECORDS["engine"], "port": "8005"}
    failed, result = module_runner(
        sparkops_facts.main, {"section": "engine", "data": bad, "path": str(path)}
    )
    assert failed and "'port' must be a number" in result["msg"]
    assert path.read_text() == '{"engine": {}}\n'


def test_the_module_hands_the_section_to_the_run(module_runner, tmp_path):
    path = tmp_path / "sparkops.fact"
    failed, result = module_runner(
        sparkops_facts.main, {"section": "model", "data": RECORDS["model"], "path": str(path)}
    )
    assert not failed and result["changed"]
    assert result["ansible_facts"] == {fc.IN_RUN_PREFIX + "model": RECORDS["model"]}
    assert json.loads(path.read_text()) == {"model": RECORDS["model"]}
    failed, result = module_runner(
        sparkops_facts.main, {"section": "model", "state": "absent", "path": str(path)}
    )
    assert not failed and result["ansible_facts"] == {fc.IN_RUN_PREFIX + "model": {}}


def test_forget_clears_every_sections_run_fact_and_touches_no_file(module_runner, tmp_path):
    path = tmp_path / "sparkops.fact"
    failed, result = module_runner(sparkops_facts.main, {"state": "forget", "path": str(path)})
    assert not failed and not result["changed"] and not path.exists()
    assert result["ansible_facts"] == {fc.IN_RUN_PREFIX + name: None for name in fc.SECTIONS}
