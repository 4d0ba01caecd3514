#!/usr/bin/env python3
# Copyright: sparkops.llm maintainers
# SPDX-License-Identifier: GPL-3.0-or-later
"""Write a tiny GGUF model whose greedy output is a fixed script in OpenAI's harmony format.

The test bed must show Claude Code's agent loop working end to end through llama-server's
gpt-oss support (tool call out, tool result back in, final answer), but it cannot run a
gpt-oss-sized model, and a random-weight model (bench/make_proxy_model.py) only emits
gibberish that never parses as a tool call. So this script constructs the weights by hand:
one llama-architecture layer whose output follows a two-turn script, written the way gpt-oss
itself writes harmony (https://cookbook.openai.com/articles/openai-harmony, and llama.cpp's
models/templates/openai-gpt-oss-120b.jinja, which this model carries as its chat template so
that llama-server picks its gpt-oss chat handling):

  - a fresh request (no earlier tool call in the prompt) that declares tools gets
      <|channel|>analysis<|message|>ANALYSIS<|end|><|start|>assistant<|channel|>commentary
      to=functions.Bash <|constrain|>json<|message|>{"command":"COMMAND"}<|call|>
    (one line in reality), which llama-server turns into a thinking block and a Bash tool_use;
  - a request whose prompt holds an earlier tool call (the template renders each one ending in
    the <|call|> token), or that declares no tools at all (a plain chat request), gets
    <|channel|>final<|message|>FINAL<|return|>, a plain text answer.

"Declares tools" is read off the rendered prompt: the template writes the function tools as
"namespace functions {" ... "} // namespace functions", and llama.cpp's GPT-2 BPE tokenizer
makes the " namespace" of that closing line the token "Ġnamespace" (TOOLS_MARKER; the opening
"namespace" follows a newline and tokenizes differently). The model looks for that one token,
so its limit is plain: a prompt that says " namespace" (a system prompt or a user question about
C++, say) but declares no tools still gets the tool call. That is acceptable in a test bed.

How the weights do it: the vocabulary is llama.cpp's GPT-2 tokenizer plus harmony's special
tokens plus three NORMAL tokens whose text is a whole chunk of the script (a chunk may hold
special-token text: a NORMAL token detokenizes literally, and the gpt-oss parser reads text).
The embedding marks each token's class in one dimension. Attention has two heads, each with a
constant query and RoPE switched off: one looks only at <|call|> keys and writes a "there was a
tool call" bit (CALLED), the other only at the TOOLS_MARKER key and writes a "tools are declared"
bit (TOOLS). The output matrix then maps (current token, CALLED, TOOLS) to the next script token
(outside the script: open the tool call iff TOOLS and not CALLED, else the final answer) with a
logit margin of at least 45, so the script holds at temperature 1. `forward()` is a numpy
reference of llama.cpp's llama graph for this shape; the build checks the script against it
before writing.

    python3 tests/testbed/make_harmony_model.py --llama-cpp-src .cache/src/llama.cpp \
        --out harmony.gguf
    python3 tests/testbed/make_harmony_model.py --print-script
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from gguf import GGUFReader, GGUFWriter

# The tokenizer copy lives in bench/make_proxy_model.py; reuse it instead of a second copy.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from make_proxy_model import copy_tokenizer  # noqa: E402

# The script. Tests and molecule import these (or read --print-script) to compare.
TOOL_NAME = "Bash"
COMMAND = "touch sparkops-agent-loop.txt"
ANALYSIS = "The user wants proof that tools run. I will call Bash."
FINAL = "The agent loop works: Bash ran and its result came back."

VOCAB_FILE = "models/ggml-vocab-gpt-2.gguf"
TEMPLATE_FILE = "models/templates/openai-gpt-oss-120b.jinja"

TOKEN_TYPE_NORMAL = 1
TOKEN_TYPE_CONTROL = 3
# Every special token the gpt-oss template or parser uses. They go in as CONTROL, as in
# o200k_harmony; llama-vocab then makes <|call|> and <|return|> end generation and, because all
# three are present, takes <|end|> off that list (it ends a message, not the turn).
HARMONY_SPECIALS = (
    "<|start|>",
    "<|message|>",
    "<|channel|>",
    "<|end|>",
    "<|call|>",
    "<|return|>",
    "<|constrain|>",
)

# The generated text, cut into the NORMAL tokens that carry it. The tool-call header matches
# gpt-oss's own "<|channel|>commentary to=functions.NAME <|constrain|>json<|message|>" (see
# llama.cpp tests/test-chat.cpp, "Complex tool calling"); the arguments are a separate token
# because once the header is out, llama-server's lazy tool grammar checks every token, and the
# compact JSON object is one that the grammar from Bash's schema accepts in one go.
OPEN_CALL_TEXT = (
    f"<|channel|>analysis<|message|>{ANALYSIS}<|end|>"
    f"<|start|>assistant<|channel|>commentary to=functions.{TOOL_NAME} <|constrain|>json<|message|>"
)
CALL_ARGS_TEXT = json.dumps({"command": COMMAND}, separators=(",", ":"))
FINAL_TEXT = f"<|channel|>final<|message|>{FINAL}"
SCRIPT_TOKENS = (OPEN_CALL_TEXT, CALL_ARGS_TEXT, FINAL_TEXT)
TOOL_CALL_OUTPUT = OPEN_CALL_TEXT + CALL_ARGS_TEXT + "<|call|>"
FINAL_OUTPUT = FINAL_TEXT + "<|return|>"
# The text of the GPT-2 token ("Ġnamespace") whose presence in the prompt means "tools are
# declared": the gpt-oss template closes its function tools with "} // namespace functions".
TOOLS_MARKER = " namespace"

# Shape: one layer, two heads of 32 dimensions (one K/V head each, no GQA sharing); every
# tensor F32 (the file is about 26 MB, mostly the two vocabulary-sized matrices).
N_EMBD = 64
N_HEAD = 2
N_HEAD_KV = 2
HEAD_DIM = N_EMBD // N_HEAD
N_FF = 64
N_CTX_TRAIN = 131072  # gpt-oss's context, so the test bed can ask for its real -c
RMS_EPS = 1e-5
ROPE_FREQ_BASE = 10000.0
# llama.cpp divides each RoPE angle by its pair's factor (ggml-cpu ops.cpp, theta/ff): 1e20
# keeps every angle below 1e-15 radians, so attention ignores position.
ROPE_FACTOR = 1e20

# Residual-stream dimensions. Every token has exactly one class dimension set to 1, so all
# embeddings have the same norm and RMSNorm scales them alike.
D_OTHER = 0  # any token outside the script (prompt text, other specials)
D_OPEN = 1  # the OPEN_CALL token
D_ARGS = 2  # the CALL_ARGS token
D_FINAL = 3  # the FINAL token
D_CALL = 4  # <|call|>: the only token head 0 looks at
D_MARKER = 5  # TOOLS_MARKER: the only token head 1 looks at
D_CALLED = 6  # written by head 0: 1 when the prompt holds a <|call|>, else 0
D_TOOLS = 7  # written by head 1: 1 when the prompt holds TOOLS_MARKER, else 0
# (head, the class dimension it looks for, the bit it writes). Each head uses the first of its
# HEAD_DIM query/key/value dimensions only.
HEADS = ((0, D_CALL, D_CALLED), (1, D_MARKER, D_TOOLS))
# Attention: a head's query is a constant (attn_q.bias) in its first dimension, its key the
# normalised value of its class dimension (8 for its token, 0 otherwise): that token's key
# scores QUERY * 8 / sqrt(HEAD_DIM) = 56.6, every other key 0. 56.6 dwarfs ln(131072) = 11.8,
# so one such token among a full context still takes the whole softmax, and so do any number
# of them (their values are equal); without one, every value is 0.
QUERY = 40.0
# Logit scale. Outside the script the logits are open = s*(-1 + 2*TOOLS - 4*CALLED) and
# final = s*(1 - 2*TOOLS + 4*CALLED) (times RMSNorm's 8/sqrt(1 + bits set)); each script token
# names its successor with 8*s. The weakest margin (the tool call opening, TOOLS set, over
# every zero logit) is 8 * 8/sqrt(2) = 45; all others are larger.
LOGIT_SCALE = 8.0
MIN_MARGIN = 30.0


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's byte-to-character map: the alphabet its BPE token texts are written in."""
    printable = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    chars = printable[:]
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            chars.append(256 + extra)
            extra += 1
    return {byte: chr(char) for byte, char in zip(printable, chars, strict=True)}


BYTE_TO_CHAR = bytes_to_unicode()
CHAR_TO_BYTE = {char: byte for byte, char in BYTE_TO_CHAR.items()}


def gpt2_encode(text: str) -> str:
    """Token text that llama.cpp's BPE detokenizer (llama_decode_text) turns back into text."""
    return "".join(BYTE_TO_CHAR[byte] for byte in text.encode("utf-8"))


def gpt2_decode(token_text: str) -> str:
    return bytes(CHAR_TO_BYTE[char] for char in token_text).decode("utf-8")


def print_script() -> None:
    print(
        json.dumps(
            {
                "tool": TOOL_NAME,
                "command": COMMAND,
                "analysis": ANALYSIS,
                "final": FINAL,
                "tool_call_output": TOOL_CALL_OUTPUT,
                "final_output": FINAL_OUTPUT,
                "tools_marker": TOOLS_MARKER,
            }
        )
    )


class Vocab:
    """Token ids of the appended tokens, given the size of the base GPT-2 vocabulary, and the
    id of TOOLS_MARKER's token in it."""

    def __init__(self, base_size: int, marker: int) -> None:
        self.base_size = base_size
        self.marker = marker
        self.special = {text: base_size + index for index, text in enumerate(HARMONY_SPECIALS)}
        first_script = base_size + len(HARMONY_SPECIALS)
        self.open_call, self.call_args, self.final = range(first_script, first_script + 3)
        self.size = first_script + len(SCRIPT_TOKENS)
        self.call = self.special["<|call|>"]
        self.ret = self.special["<|return|>"]

    def appended(self) -> list[tuple[str, int]]:
        """(token text, token type) in id order."""
        tokens = [(text, TOKEN_TYPE_CONTROL) for text in HARMONY_SPECIALS]
        tokens += [(gpt2_encode(text), TOKEN_TYPE_NORMAL) for text in SCRIPT_TOKENS]
        return tokens


def build_tensors(vocab: Vocab) -> dict[str, np.ndarray]:
    """The weights, in numpy shape order (rows = outputs), in the order they are written."""
    f32 = np.float32
    embd = np.zeros((vocab.size, N_EMBD), f32)
    embd[:, D_OTHER] = 1.0
    for token, dim in (
        (vocab.open_call, D_OPEN),
        (vocab.call_args, D_ARGS),
        (vocab.final, D_FINAL),
        (vocab.call, D_CALL),
        (vocab.marker, D_MARKER),
    ):
        embd[token] = 0.0
        embd[token, dim] = 1.0

    # Q, K and V rows are laid out head after head (llama.cpp views them as
    # [HEAD_DIM, n_head, n_tokens]); the attention output concatenates the heads the same way.
    wq = np.zeros((N_HEAD * HEAD_DIM, N_EMBD), f32)
    bq = np.zeros(N_HEAD * HEAD_DIM, f32)
    wk = np.zeros((N_HEAD_KV * HEAD_DIM, N_EMBD), f32)
    wv = np.zeros((N_HEAD_KV * HEAD_DIM, N_EMBD), f32)
    wo = np.zeros((N_EMBD, N_HEAD * HEAD_DIM), f32)
    for head, looks_for, writes in HEADS:
        row = head * HEAD_DIM
        bq[row] = QUERY
        wk[row, looks_for] = 1.0
        wv[row, looks_for] = 1.0
        # The value is 8 after RMSNorm (a one-hot embedding's rms is 1/8); scale it to 1.
        wo[writes, row] = 1.0 / np.sqrt(N_EMBD)

    scale = LOGIT_SCALE
    out = np.zeros((vocab.size, N_EMBD), f32)
    # Outside the script: open the tool call iff TOOLS and not CALLED, else the final answer.
    out[vocab.open_call, D_OTHER] = -scale
    out[vocab.open_call, D_TOOLS] = 2 * scale
    out[vocab.open_call, D_CALLED] = -4 * scale
    out[vocab.final, D_OTHER] = scale
    out[vocab.final, D_TOOLS] = -2 * scale
    out[vocab.final, D_CALLED] = 4 * scale
    # Inside the script each token names its successor, outweighing the bits' pull.
    out[vocab.call_args, D_OPEN] = 8 * scale
    out[vocab.call, D_ARGS] = 8 * scale
    out[vocab.ret, D_FINAL] = 8 * scale

    ones = np.ones(N_EMBD, f32)
    return {
        "token_embd.weight": embd,
        "rope_freqs.weight": np.full(HEAD_DIM // 2, ROPE_FACTOR, f32),
        "blk.0.attn_norm.weight": ones,
        "blk.0.attn_q.weight": wq,
        "blk.0.attn_q.bias": bq,
        # Zero K/V biases: harmless, and kept so a loader that fuses Q/K/V (which then wants
        # all three biases) still applies the query bias.
        "blk.0.attn_k.weight": wk,
        "blk.0.attn_k.bias": np.zeros(N_HEAD_KV * HEAD_DIM, f32),
        "blk.0.attn_v.weight": wv,
        "blk.0.attn_v.bias": np.zeros(N_HEAD_KV * HEAD_DIM, f32),
        "blk.0.attn_output.weight": wo,
        "blk.0.ffn_norm.weight": ones,
        # The feed-forward block is not needed: zero weights make it add exactly 0.
        "blk.0.ffn_gate.weight": np.zeros((N_FF, N_EMBD), f32),
        "blk.0.ffn_up.weight": np.zeros((N_FF, N_EMBD), f32),
        "blk.0.ffn_down.weight": np.zeros((N_EMBD, N_FF), f32),
        "output_norm.weight": ones,
        "output.weight": out,
    }


# Reference forward pass --------------------------------------------------------------------


def _rms_norm(x: np.ndarray, weight: np.ndarray, eps: float) -> np.ndarray:
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * weight


def _rope(x: np.ndarray, pos: np.ndarray, factors: np.ndarray, base: float) -> np.ndarray:
    """llama.cpp's "normal" RoPE (LLAMA_ROPE_TYPE_NORM): rotate consecutive pairs."""
    dims = x.shape[-1]
    theta = pos[:, None].astype(np.float64) * base ** (-np.arange(0, dims, 2) / dims) / factors
    cos, sin = np.cos(theta), np.sin(theta)
    x0, x1 = x[..., 0::2], x[..., 1::2]
    out = np.empty_like(x)
    out[..., 0::2] = x0 * cos - x1 * sin
    out[..., 1::2] = x0 * sin + x1 * cos
    return out


def forward(tensors: dict[str, np.ndarray], tokens: Sequence[int]) -> np.ndarray:
    """Logits after the last token, computed as llama.cpp's llama graph does for this shape
    (one layer, N_HEAD heads over N_HEAD_KV K/V heads): RMSNorm, Q/K/V with biases added
    before the split into heads, RoPE with freq factors on each head, causal softmax attention
    (scale 1/sqrt(HEAD_DIM); query head h reads K/V head h // (N_HEAD / N_HEAD_KV)) over K/V
    rounded to F16 like the default KV cache, heads concatenated into the output projection,
    SwiGLU FFN, output norm and head."""
    t = tensors
    ids = np.asarray(tokens)
    x = t["token_embd.weight"][ids].astype(np.float32)
    xn = _rms_norm(x, t["blk.0.attn_norm.weight"], RMS_EPS)
    pos = np.arange(len(ids))
    factors = t["rope_freqs.weight"]
    q = xn[-1:] @ t["blk.0.attn_q.weight"].T + t["blk.0.attn_q.bias"]
    k = xn @ t["blk.0.attn_k.weight"].T + t["blk.0.attn_k.bias"]
    v = xn @ t["blk.0.attn_v.weight"].T + t["blk.0.attn_v.bias"]
    q = q.reshape(1, N_HEAD, HEAD_DIM)
    k = k.reshape(len(ids), N_HEAD_KV, HEAD_DIM)
    v = v.reshape(len(ids), N_HEAD_KV, HEAD_DIM)
    heads = []
    for head in range(N_HEAD):
        kv = head // (N_HEAD // N_HEAD_KV)
        qh = _rope(q[:, head], pos[-1:], factors, ROPE_FREQ_BASE)
        kh = _rope(k[:, kv], pos, factors, ROPE_FREQ_BASE).astype(np.float16).astype(np.float64)
        vh = v[:, kv].astype(np.float16).astype(np.float64)
        scores = (kh @ qh[0]) / np.sqrt(HEAD_DIM)
        weights = np.exp(scores - scores.max())
        weights /= weights.sum()
        heads.append(weights @ vh)
    h = x[-1] + np.concatenate(heads) @ t["blk.0.attn_output.weight"].T
    hn = _rms_norm(h, t["blk.0.ffn_norm.weight"], RMS_EPS)
    gate = hn @ t["blk.0.ffn_gate.weight"].T
    up = hn @ t["blk.0.ffn_up.weight"].T
    h = h + (gate / (1.0 + np.exp(-gate)) * up) @ t["blk.0.ffn_down.weight"].T
    return _rms_norm(h, t["output_norm.weight"], RMS_EPS) @ t["output.weight"].T


def greedy(
    tensors: dict[str, np.ndarray], prompt: Sequence[int], stop: set[int], limit: int = 8
) -> tuple[list[int], float]:
    """Greedy continuation up to and including a stop token; also the smallest logit margin
    (best minus second best) seen on the way."""
    tokens = list(prompt)
    generated: list[int] = []
    margin = float("inf")
    for _ in range(limit):
        logits = forward(tensors, tokens)
        best, second = np.argsort(logits)[::-1][:2]
        margin = min(margin, float(logits[best] - logits[second]))
        generated.append(int(best))
        tokens.append(int(best))
        if best in stop:
            break
    return generated, margin


def rough_tokenize(
    text: str, special: dict[str, int], byte_tokens: dict[str, int], marker: int | None = None
) -> list[int]:
    """Special-token texts to their ids, TOOLS_MARKER (where GPT-2's pre-tokenizer makes it a
    word of its own: not followed by a letter) to `marker`, everything else one token per byte.
    Real BPE merges bytes into longer tokens, but all of those are 'other' tokens to this model
    alike."""
    pieces = [re.escape(s) for s in special]
    if marker is not None:
        pieces.append(re.escape(TOOLS_MARKER) + r"(?![^\W\d_])")
    tokens: list[int] = []
    for part in re.split("(" + "|".join(pieces) + ")", text):
        if part in special:
            tokens.append(special[part])
        elif marker is not None and part == TOOLS_MARKER:
            tokens.append(marker)
        else:
            tokens.extend(byte_tokens[BYTE_TO_CHAR[byte]] for byte in part.encode("utf-8"))
    return tokens


def self_check(tensors: dict[str, np.ndarray], vocab: Vocab) -> None:
    """Refuse to write a model whose reference forward pass strays from the script."""
    s = vocab.special
    ordinary = list(range(100, 140))
    system = [s["<|start|>"], 1000, s["<|message|>"], *ordinary, s["<|end|>"]]
    # A developer message declaring tools, ending "} // namespace functions<|end|>".
    tools = [s["<|start|>"], 1001, s["<|message|>"], *ordinary, 92, 3373, vocab.marker, 5499]
    tools += [s["<|end|>"]]
    user = [s["<|start|>"], 7220, s["<|message|>"], *ordinary, s["<|end|>"]]
    turn = [s["<|start|>"], 562, s["<|channel|>"], 200, s["<|message|>"], 300, vocab.call]
    turn += [s["<|start|>"], 400, s["<|message|>"], 500, s["<|end|>"]]
    reply = [s["<|start|>"], 562]
    filler = [7] * 30000
    many_turns = (user + [7] * 50 + turn) * 100 + filler
    call = [vocab.open_call, vocab.call_args, vocab.call]
    final = [vocab.final, vocab.ret]
    stop = {vocab.call, vocab.ret}
    cases = (
        ("fresh with tools", system + tools + user + reply, call),
        ("fresh without tools", system + user + reply, final),
        ("after a tool call", system + tools + user + turn + reply, final),
        ("after a tool call, no tools", system + user + turn + reply, final),
        ("30,000-token fresh with tools", system + tools + filler + user + reply, call),
        ("30,000-token fresh, tools last", system + filler + tools + user + reply, call),
        ("30,000-token fresh without tools", system + filler + user + reply, final),
        ("30,000 tokens after a tool call", system + tools + user + turn + filler + reply, final),
        ("100 tool calls", system + tools + many_turns + reply, final),
        ("100 tool calls, no tools", system + many_turns + reply, final),
    )
    for name, prompt, expected in cases:
        got, margin = greedy(tensors, prompt, stop)
        if got != expected or margin < MIN_MARGIN:
            raise SystemExit(f"self-check ({name}): got {got} margin {margin}, want {expected}")


class _AppendingWriter:
    """What copy_tokenizer writes through: appends harmony's tokens to the token list and
    types, and drops the keys this script sets itself."""

    def __init__(self, writer: GGUFWriter, appended: list[tuple[str, int]], skip: set[str]):
        self.writer = writer
        self.appended = appended
        self.skip = skip

    def add_key_value(self, name, value, value_type, sub_type=None) -> None:
        if name in self.skip:
            return
        if name == "tokenizer.ggml.tokens":
            value = list(value) + [text for text, _ in self.appended]
        elif name == "tokenizer.ggml.token_type":
            value = list(value) + [token_type for _, token_type in self.appended]
        self.writer.add_key_value(name, value, value_type, sub_type=sub_type)


def build(src: Path, out: Path) -> dict:
    reader = GGUFReader(src / VOCAB_FILE)
    base_tokens = list(reader.fields["tokenizer.ggml.tokens"].contents())
    marker = gpt2_encode(TOOLS_MARKER)
    if base_tokens.count(marker) != 1:
        raise SystemExit(f"{VOCAB_FILE} has no single token {marker!r}")
    vocab = Vocab(len(base_tokens), base_tokens.index(marker))
    clash = set(base_tokens) & {text for text, _ in vocab.appended()}
    if clash:  # llama-vocab asserts that token texts are unique
        raise SystemExit(f"tokens already in {VOCAB_FILE}: {sorted(clash)}")
    template = (src / TEMPLATE_FILE).read_text(encoding="utf-8")
    if "<|channel|>" not in template:  # what makes llama-server choose its gpt-oss handler
        raise SystemExit(f"{TEMPLATE_FILE} does not look like the gpt-oss template")

    tensors = build_tensors(vocab)
    self_check(tensors, vocab)

    writer = GGUFWriter(str(out), "llama")
    skip = {"tokenizer.ggml.eos_token_id", "tokenizer.chat_template"}
    copy_tokenizer(reader, _AppendingWriter(writer, vocab.appended(), skip), 0)
    writer.add_eos_token_id(vocab.ret)
    writer.add_add_bos_token(False)
    writer.add_add_eos_token(False)
    writer.add_chat_template(template)
    writer.add_name("sparkops harmony script (constructed weights)")
    writer.add_block_count(1)
    writer.add_context_length(N_CTX_TRAIN)
    writer.add_embedding_length(N_EMBD)
    writer.add_feed_forward_length(N_FF)
    writer.add_head_count(N_HEAD)
    writer.add_head_count_kv(N_HEAD_KV)
    writer.add_rope_dimension_count(HEAD_DIM)
    writer.add_rope_freq_base(ROPE_FREQ_BASE)
    writer.add_layer_norm_rms_eps(RMS_EPS)
    writer.add_file_type(0)  # ALL_F32
    for name, array in tensors.items():
        writer.add_tensor(name, array)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return {
        "path": str(out),
        "vocab_size": vocab.size,
        "eos_token_id": vocab.ret,
        "call_token_id": vocab.call,
        "tools_marker_id": vocab.marker,
        "script_token_ids": [vocab.open_call, vocab.call_args, vocab.final],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--llama-cpp-src", type=Path, help="llama.cpp source tree")
    parser.add_argument("--out", type=Path, help="the GGUF file to write")
    parser.add_argument(
        "--print-script", action="store_true", help="print the scripted strings as JSON, exit"
    )
    args = parser.parse_args()
    if args.print_script:
        print_script()
        return 0
    if not (args.llama_cpp_src and args.out):
        parser.error("--llama-cpp-src and --out are required (or --print-script)")
    print(json.dumps(build(args.llama_cpp_src, args.out)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
