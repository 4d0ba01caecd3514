# Copyright: sparkops.llm maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or
# https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""tests/testbed/make_harmony_model.py: the constructed harmony-script model.

The model is read back from the GGUF file it writes and run through the script's numpy
reference of llama.cpp's forward pass, on prompts rendered by the gpt-oss chat template the
model carries (so the checks see what llama-server would feed it). Needs a llama.cpp source
tree in SPARKOPS_LLAMA_CPP_SRC for the GPT-2 vocabulary and the template.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import jinja2
import numpy as np
import pytest
from gguf import GGUFReader

SCRIPT = Path(__file__).resolve().parents[2] / "tests" / "testbed" / "make_harmony_model.py"

# Claude Code's Bash tool schema (the parts llama-server builds its tool grammar from).
BASH_TOOL = {
    "type": "function",
    "function": {
        "name": "Bash",
        "description": "Executes a given bash command and returns its output.",
        "parameters": {
            "type": "object",
            "properties": {
                "command": {"type": "string", "description": "The command to execute"},
                "timeout": {"type": "number", "description": "Optional timeout in ms"},
                "description": {"type": "string", "description": "What the command does"},
                "run_in_background": {"type": "boolean", "description": "Run it detached"},
                "dangerouslyDisableSandbox": {"type": "boolean", "description": "No sandbox"},
            },
            "required": ["command"],
            "additionalProperties": False,
        },
    },
}


def _load_script():
    spec = importlib.util.spec_from_file_location("make_harmony_model", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


hm = _load_script()


class Model:
    """A built model read back: tensors, token texts and types, and id lookups."""

    def __init__(self, path: Path) -> None:
        reader = GGUFReader(path)
        self.fields = {name: field.contents() for name, field in reader.fields.items()}
        self.tensors = {t.name: np.array(t.data) for t in reader.tensors}
        self.tokens = list(self.fields["tokenizer.ggml.tokens"])
        self.types = list(self.fields["tokenizer.ggml.token_type"])
        self.ids = {text: index for index, text in enumerate(self.tokens)}
        self.special = {text: self.ids[text] for text in hm.HARMONY_SPECIALS}
        self.byte_tokens = {text: index for index, text in enumerate(self.tokens) if len(text) == 1}
        self.stop = {self.special["<|call|>"], self.special["<|return|>"]}
        self.marker = self.ids[hm.gpt2_encode(hm.TOOLS_MARKER)]

    def tokenize(self, text: str) -> list[int]:
        return hm.rough_tokenize(text, self.special, self.byte_tokens, self.marker)

    def detokenize(self, ids: list[int]) -> str:
        parts = []
        for index in ids:
            text = self.tokens[index]
            normal = self.types[index] == hm.TOKEN_TYPE_NORMAL
            parts.append(hm.gpt2_decode(text) if normal else text)
        return "".join(parts)

    def continue_prompt(self, prompt: str) -> tuple[str, float]:
        generated, margin = hm.greedy(self.tensors, self.tokenize(prompt), self.stop)
        return self.detokenize(generated), margin


def _build(src: Path, out: Path) -> Path:
    subprocess.run(
        [sys.executable, str(SCRIPT), "--llama-cpp-src", str(src), "--out", str(out)],
        check=True,
        capture_output=True,
    )
    return out


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    # conftest's llama_cpp_src fixture is function-scoped; this one builds once per module.
    src = os.environ.get("SPARKOPS_LLAMA_CPP_SRC")
    if not src or not (Path(src) / "models").is_dir():
        pytest.skip("SPARKOPS_LLAMA_CPP_SRC not set to a llama.cpp source tree")
    out = _build(Path(src), tmp_path_factory.mktemp("harmony") / "harmony.gguf")
    return Path(src), out, Model(out)


def _render(src: Path, messages: list[dict], tools: list[dict] | None = None) -> str:
    """The prompt llama-server renders (it uses its own Jinja engine; jinja2 agrees on this
    template), with the generation prompt '<|start|>assistant' at the end."""

    def raise_exception(message):
        raise jinja2.TemplateError(message)

    env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True)
    env.globals.update(raise_exception=raise_exception, strftime_now=lambda fmt: "2025-01-01")
    template = env.from_string((src / hm.TEMPLATE_FILE).read_text(encoding="utf-8"))
    return template.render(messages=messages, tools=tools, add_generation_prompt=True)


USER = {"role": "user", "content": "Show that your tools run: touch a file."}
SYSTEM = {"role": "system", "content": "Be brief."}
TOOL_TURN = [
    USER,
    {
        "role": "assistant",
        "thinking": hm.ANALYSIS,
        "tool_calls": [
            {
                "type": "function",
                "function": {"name": "Bash", "arguments": {"command": hm.COMMAND}},
            }
        ],
    },
    {"role": "tool", "content": ""},
]


def test_build_is_deterministic(llama_cpp_src, tmp_path):
    first = _build(llama_cpp_src, tmp_path / "a.gguf").read_bytes()
    second = _build(llama_cpp_src, tmp_path / "b.gguf").read_bytes()
    assert len(first) > 1_000_000
    assert hashlib.sha256(first).hexdigest() == hashlib.sha256(second).hexdigest()


def test_metadata_template_and_tokens(built):
    src, _, model = built
    fields = model.fields
    assert fields["general.architecture"] == "llama"
    assert fields["tokenizer.ggml.model"] == "gpt2"
    assert fields["tokenizer.ggml.pre"] == "gpt-2"
    template = (src / hm.TEMPLATE_FILE).read_text(encoding="utf-8")
    assert fields["tokenizer.chat_template"] == template
    assert "<|channel|>" in template  # llama-server's trigger for its gpt-oss handler
    assert model.tokens[fields["tokenizer.ggml.eos_token_id"]] == "<|return|>"
    assert fields["tokenizer.ggml.add_bos_token"] is False
    assert fields["llama.attention.head_count"] == hm.N_HEAD == 2
    assert fields["llama.attention.head_count_kv"] == hm.N_HEAD_KV == 2
    assert fields["llama.rope.dimension_count"] == hm.HEAD_DIM == 32
    # The tools marker is GPT-2's own token, not an appended one.
    assert model.tokens[model.marker] == "Ġnamespace"
    assert model.marker < len(model.tokens) - len(hm.HARMONY_SPECIALS) - len(hm.SCRIPT_TOKENS)
    for text in hm.HARMONY_SPECIALS:
        assert model.types[model.ids[text]] == hm.TOKEN_TYPE_CONTROL, text
    assert len(set(model.tokens)) == len(model.tokens)  # llama-vocab asserts uniqueness
    # The script tokens detokenize (GPT-2 byte alphabet) to the scripted text.
    script = [index for index, t in enumerate(model.types) if t == hm.TOKEN_TYPE_NORMAL]
    tail = script[-len(hm.SCRIPT_TOKENS) :]
    assert [hm.gpt2_decode(model.tokens[index]) for index in tail] == list(hm.SCRIPT_TOKENS)
    assert json.loads(hm.CALL_ARGS_TEXT) == {"command": hm.COMMAND}


def test_fresh_prompt_calls_bash(built):
    src, _, model = built
    prompt = _render(src, [SYSTEM, USER], [BASH_TOOL])
    assert prompt.endswith("<|start|>assistant") and "<|call|>" not in prompt
    # The template declares the tools as "namespace functions {" ... "} // namespace
    # functions"; only the closing " namespace" is the marker token.
    assert "\nnamespace functions {" in prompt and "} // namespace functions" in prompt
    assert model.tokenize(prompt).count(model.marker) == 1
    text, margin = model.continue_prompt(prompt)
    assert text == hm.TOOL_CALL_OUTPUT
    assert text == (
        "<|channel|>analysis<|message|>The user wants proof that tools run. I will call Bash."
        "<|end|><|start|>assistant<|channel|>commentary to=functions.Bash <|constrain|>json"
        '<|message|>{"command":"touch sparkops-agent-loop.txt"}<|call|>'
    )
    assert margin >= hm.MIN_MARGIN


def test_after_tool_result_answers(built):
    src, _, model = built
    prompt = _render(src, TOOL_TURN, [BASH_TOOL])
    assert "<|call|>" in prompt and "functions.Bash to=assistant" in prompt
    text, margin = model.continue_prompt(prompt)
    assert text == hm.FINAL_OUTPUT
    assert text == (
        "<|channel|>final<|message|>The agent loop works: Bash ran and its result came back."
        "<|return|>"
    )
    assert margin >= hm.MIN_MARGIN


def test_no_tools_answers_directly(built):
    # A plain chat request: no tools declared, so the fresh prompt gets the final answer.
    src, _, model = built
    prompt = _render(src, [SYSTEM, {"role": "user", "content": "say hi"}])
    assert prompt.endswith("<|start|>assistant") and "namespace" not in prompt
    assert model.marker not in model.tokenize(prompt)
    text, margin = model.continue_prompt(prompt)
    assert text == hm.FINAL_OUTPUT
    assert margin >= hm.MIN_MARGIN


def test_no_tools_after_a_tool_call_answers(built):
    src, _, model = built
    text, margin = model.continue_prompt(_render(src, TOOL_TURN))
    assert text == hm.FINAL_OUTPUT
    assert margin >= hm.MIN_MARGIN


def test_the_marker_is_what_declares_tools(built):
    # Without the closing " namespace" token the tools prompt gets the final answer; with it
    # (the documented limit) a prompt without tools gets the tool call.
    src, _, model = built
    prompt = _render(src, [SYSTEM, USER], [BASH_TOOL])
    unmarked = prompt.replace("} // namespace functions", "} // functions")
    assert model.continue_prompt(unmarked)[0] == hm.FINAL_OUTPUT
    # " namespaces" is a different BPE word, so it does not count either.
    plural = [{"role": "system", "content": "Mind the namespaces."}, USER]
    assert model.continue_prompt(_render(src, plural))[0] == hm.FINAL_OUTPUT
    marked = [{"role": "system", "content": "Use the std namespace."}, USER]
    assert model.continue_prompt(_render(src, marked))[0] == hm.TOOL_CALL_OUTPUT


def test_many_tool_calls_still_answer(built):
    # Every earlier turn's <|call|> attends alike: twenty of them still read as "called".
    src, _, model = built
    messages = [USER]
    for _ in range(20):
        messages += TOOL_TURN[1:]
    prompt = _render(src, messages, [BASH_TOOL])
    tokens = model.tokenize(prompt)
    assert tokens.count(model.special["<|call|>"]) == 20 and tokens.count(model.marker) == 1
    generated, margin = hm.greedy(model.tensors, tokens, model.stop)
    assert model.detokenize(generated) == hm.FINAL_OUTPUT
    assert margin >= hm.MIN_MARGIN


def test_the_call_token_is_what_flips_the_script(built):
    # The same post-tool prompt with its <|call|> replaced by <|end|> opens a tool call again.
    src, _, model = built
    prompt = _render(src, TOOL_TURN, [BASH_TOOL]).replace("<|call|>", "<|end|>")
    text, _ = model.continue_prompt(prompt)
    assert text == hm.TOOL_CALL_OUTPUT


@pytest.mark.parametrize(
    ("after_tool", "tools"),
    [(False, True), (True, True), (False, False)],
    ids=["fresh", "after-tool", "no-tools"],
)
def test_long_prompt_keeps_the_script(built, after_tool, tools):
    # Claude Code's system prompt and tool schemas come to ~30,000 tokens: the attention that
    # finds <|call|> or the tools marker must not be diluted by them, nor invent either one
    # when there is none.
    src, _, model = built
    system = {"role": "system", "content": "You are a coding agent. " * 850}
    messages = [system, *TOOL_TURN] if after_tool else [system, USER]
    prompt = _render(src, messages, [BASH_TOOL] if tools else None)
    tokens = model.tokenize(prompt)
    assert len(tokens) >= 20_000
    generated, margin = hm.greedy(model.tensors, tokens, model.stop)
    expected = hm.TOOL_CALL_OUTPUT if tools and not after_tool else hm.FINAL_OUTPUT
    assert model.detokenize(generated) == expected
    assert margin >= hm.MIN_MARGIN


def test_print_script_matches_constants():
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--print-script"], check=True, capture_output=True
    )
    script = json.loads(result.stdout)
    assert script["command"] == hm.COMMAND == "touch sparkops-agent-loop.txt"
    assert script["analysis"] == hm.ANALYSIS
    assert script["final"] == hm.FINAL
    assert script["tool_call_output"] == hm.TOOL_CALL_OUTPUT
    assert script["final_output"] == hm.FINAL_OUTPUT
    assert script["tools_marker"] == hm.TOOLS_MARKER == " namespace"
