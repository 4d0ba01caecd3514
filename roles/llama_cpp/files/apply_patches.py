#!/usr/bin/env python3
# Copyright: sparkops.llm maintainers
# SPDX-License-Identifier: GPL-3.0-or-later
"""Apply sparkops.llm's named patches to a llama.cpp source tree, in place.

    apply_patches.py SOURCE_DIR PATCH_DIR NAME [NAME ...]

Each patch is our own code in PATCH_DIR plus a few anchored edits of upstream files. An anchor
must occur exactly once, else nothing of that patch is written and the exit status is 2, with
a message saying which file lacks what: the tree is another llama.cpp than the patch was
written for. A tree that already carries a patch is left as it is.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


class PatchError(Exception):
    """The tree does not look like the one the patch was written for."""


def replace_once(text: str, anchor: str, replacement: str, where: str) -> str:
    count = text.count(anchor)
    if count != 1:
        first_line = anchor.strip().splitlines()[0]
        raise PatchError(f"{where} has {count} occurrences of `{first_line}`, not 1")
    return text.replace(anchor, replacement)


def sampling_fast_top_k(source: Path, patch_dir: Path) -> bool:
    """common_sampler_sample() fills its candidates through sparkops_fast_top_k() first."""
    target = source / "common" / "sampling.cpp"
    include = '#include "sparkops_fast_top_k.inc"'
    try:
        text = target.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PatchError("the tree has no common/sampling.cpp") from None
    code = patch_dir / "sampling-fast-top-k.inc"
    if include in text:
        # Already routed: only the patch's own code may have changed since.
        shutil.copyfile(code, source / "common" / "sparkops_fast_top_k.inc")
        return False
    entry = "llama_token common_sampler_sample(struct common_sampler * gsmpl,"
    first_fill = "    gsmpl->set_logits(ctx, idx);\n\n    // Check if a backend sampler"
    text = replace_once(text, entry, f"{include}\n\n{entry}", "common/sampling.cpp")
    text = replace_once(
        text,
        first_fill,
        "    if (!sparkops_fast_top_k(gsmpl, ctx, idx, grammar_first)) {\n"
        "        gsmpl->set_logits(ctx, idx);\n"
        "    }\n\n    // Check if a backend sampler",
        "common/sampling.cpp",
    )
    shutil.copyfile(code, source / "common" / "sparkops_fast_top_k.inc")
    # Written last: a failure above leaves upstream's file untouched.
    partial = target.with_name(target.name + ".sparkops-partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(target)
    return True


PATCHES = {"sampling-fast-top-k": sampling_fast_top_k}


def main(argv: list[str]) -> int:
    if len(argv) < 4:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    source, patch_dir, names = Path(argv[1]), Path(argv[2]), argv[3:]
    unknown = [name for name in names if name not in PATCHES]
    if unknown:
        print(f"unknown patch {unknown}; known: {sorted(PATCHES)}", file=sys.stderr)
        return 2
    for name in names:
        try:
            applied = PATCHES[name](source, patch_dir)
        except PatchError as error:
            print(
                f"patch {name} does not fit this llama.cpp source: {error}. It was written for "
                "another llama.cpp commit (roles/llama_cpp/README.md); build this source "
                "without it (llama_cpp_patches: []) or pin that commit.",
                file=sys.stderr,
            )
            return 2
        print(f"patch {name}: {'applied' if applied else 'already applied'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
