"""The shared local facts file: sections merge without touching each other."""

from __future__ import annotations

import json

import pytest
from ansible_collections.sparkops.llm.plugins.module_utils.local_facts import (
    LocalFactsError,
    merge_section,
    parse_facts,
    render_facts,
)


def test_merging_one_section_keeps_the_others():
    document = {"platform": {"cuda": "13.0.2"}, "model": {"name": "gpt-oss-120b"}}
    merged = merge_section(document, "llama_cpp", {"stamp": "abc"}, "present")
    assert merged == {
        "platform": {"cuda": "13.0.2"},
        "model": {"name": "gpt-oss-120b"},
        "llama_cpp": {"stamp": "abc"},
    }
    assert "llama_cpp" not in document  # the input is not mutated


def test_absent_drops_only_that_section():
    merged = merge_section({"a": {"x": 1}, "b": {}}, "a", None, "absent")
    assert merged == {"b": {}}


def test_rendering_is_stable_so_reruns_compare_equal():
    first = render_facts({"b": {"z": 1, "a": 2}, "a": {}})
    second = render_facts(json.loads(first))
    assert first == second
    assert first.index('"a"') < first.index('"b"')


def test_empty_file_is_an_empty_document():
    assert parse_facts("  \n") == {}


@pytest.mark.parametrize("text", ["{not json", "[1, 2]"])
def test_broken_file_is_refused_with_the_path(text):
    with pytest.raises(LocalFactsError, match="/etc/ansible/facts.d/sparkops.fact"):
        parse_facts(text, "/etc/ansible/facts.d/sparkops.fact")
