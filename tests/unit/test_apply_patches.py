"""roles/llama_cpp/files/apply_patches.py on a stand-in tree holding the two anchors it edits.

The real llama.cpp tree is patched by molecule/llama_cpp (the role's CPU build) and by
bench/served_vs_bench.sh (the GPU build); here: the edits, idempotence and refusals."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

FILES = Path(__file__).resolve().parents[2] / "roles" / "llama_cpp" / "files"
SPEC = importlib.util.spec_from_file_location("apply_patches", FILES / "apply_patches.py")
apply_patches = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(apply_patches)

# The lines of common/sampling.cpp (llama.cpp 0c1e570) that the patch anchors on.
ENTRY = (
    "llama_token common_sampler_sample(struct common_sampler * gsmpl, "
    "struct llama_context * ctx, int idx, bool grammar_first) {"
)
SAMPLING = (
    """struct llama_sampler * common_sampler_get(const struct common_sampler * gsmpl) {
    return gsmpl->chain;
}

"""
    + ENTRY
    + """
    llama_synchronize(ctx);

    gsmpl->set_logits(ctx, idx);

    // Check if a backend sampler has already sampled a token in which case we
    // return that token id directly.
    gsmpl->set_logits(ctx, idx);
}
"""
)


def tree(tmp_path: Path, sampling: str = SAMPLING) -> Path:
    (tmp_path / "common").mkdir()
    (tmp_path / "common" / "sampling.cpp").write_text(sampling)
    return tmp_path


def run(source: Path, *names: str) -> int:
    return apply_patches.main(["apply_patches.py", str(source), str(FILES / "patches"), *names])


def test_fast_top_k_routes_the_first_fill_only_and_copies_its_code(tmp_path, capsys):
    source = tree(tmp_path)
    assert run(source, "sampling-fast-top-k") == 0
    text = (source / "common" / "sampling.cpp").read_text()
    assert text.index('#include "sparkops_fast_top_k.inc"') < text.index(
        "llama_token common_sampler_sample("
    )
    assert text.count("if (!sparkops_fast_top_k(gsmpl, ctx, idx, grammar_first)) {") == 1
    # The resampling path after a grammar rejection keeps upstream's full fill.
    assert text.rstrip().endswith("    gsmpl->set_logits(ctx, idx);\n}")
    copied = (source / "common" / "sparkops_fast_top_k.inc").read_text()
    assert copied == (FILES / "patches" / "sampling-fast-top-k.inc").read_text()
    assert "applied" in capsys.readouterr().out


def test_a_second_run_changes_nothing(tmp_path, capsys):
    source = tree(tmp_path)
    assert run(source, "sampling-fast-top-k") == 0
    first = (source / "common" / "sampling.cpp").read_text()
    assert run(source, "sampling-fast-top-k") == 0
    assert (source / "common" / "sampling.cpp").read_text() == first
    assert "already applied" in capsys.readouterr().out


@pytest.mark.parametrize(
    "sampling, missing",
    [
        (
            SAMPLING.replace("    // Check if a backend sampler", "    // backend"),
            "gsmpl->set_logits",
        ),
        (
            SAMPLING.replace("llama_token common_sampler_sample(", "llama_token sample("),
            "common_sampler_sample",
        ),
        (SAMPLING + SAMPLING, "common_sampler_sample"),
    ],
)
def test_another_tree_is_refused_and_left_untouched(tmp_path, capsys, sampling, missing):
    source = tree(tmp_path, sampling)
    assert run(source, "sampling-fast-top-k") == 2
    assert (source / "common" / "sampling.cpp").read_text() == sampling
    assert not (source / "common" / "sparkops_fast_top_k.inc").exists()
    error = capsys.readouterr().err
    assert missing in error
    assert "llama_cpp_patches: []" in error


def test_an_unknown_patch_name_is_refused(tmp_path, capsys):
    assert run(tree(tmp_path), "sampling-fast") == 2
    assert "sampling-fast-top-k" in capsys.readouterr().err
