# Copyright: sparkops.llm maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or
# https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Pure-Python GGUF header reader (standard library only).

Reads the header, every metadata key/value and every tensor description of a GGUF v2/v3 file
without touching tensor data, so that planning works on a 60 GiB model in milliseconds.

File layout (ggml ``docs/gguf.md``): ``"GGUF"`` magic, uint32 version, uint64 tensor count,
uint64 metadata count, the metadata pairs, the tensor infos (name, n_dims, dims, ggml type,
offset relative to the data section), then padding to ``general.alignment`` (default 32) and
the tensor data. Split models (``llama-gguf-split``) are named ``NAME-00001-of-00003.gguf``
and carry ``split.no`` / ``split.count`` / ``split.tensors.count`` in every shard.
"""

from __future__ import annotations

import os
import re
import struct

GGUF_MAGIC = b"GGUF"
DEFAULT_ALIGNMENT = 32

# Arrays longer than this are skipped while reading and kept as an ArraySummary (the tokenizer
# vocabulary has about 200k strings; nobody needs them for planning).
DEFAULT_MAX_ARRAY_LEN = 4096

# ggml type id -> (name, elements per block, bytes per block).
# Block layouts as defined in ggml (ggml-common.h); QK_K = 256.
GGML_TYPES = {
    0: ("F32", 1, 4),
    1: ("F16", 1, 2),
    2: ("Q4_0", 32, 18),
    3: ("Q4_1", 32, 20),
    6: ("Q5_0", 32, 22),
    7: ("Q5_1", 32, 24),
    8: ("Q8_0", 32, 34),
    9: ("Q8_1", 32, 36),
    10: ("Q2_K", 256, 84),
    11: ("Q3_K", 256, 110),
    12: ("Q4_K", 256, 144),
    13: ("Q5_K", 256, 176),
    14: ("Q6_K", 256, 210),
    15: ("Q8_K", 256, 292),
    16: ("IQ2_XXS", 256, 66),
    17: ("IQ2_XS", 256, 74),
    18: ("IQ3_XXS", 256, 98),
    19: ("IQ1_S", 256, 50),
    20: ("IQ4_NL", 32, 18),
    21: ("IQ3_S", 256, 110),
    22: ("IQ2_S", 256, 82),
    23: ("IQ4_XS", 256, 136),
    24: ("I8", 1, 1),
    25: ("I16", 1, 2),
    26: ("I32", 1, 4),
    27: ("I64", 1, 8),
    28: ("F64", 1, 8),
    29: ("IQ1_M", 256, 56),
    30: ("BF16", 1, 2),
    34: ("TQ1_0", 256, 54),
    35: ("TQ2_0", 256, 66),
    39: ("MXFP4", 32, 17),
    40: ("NVFP4", 64, 36),
}

GGML_TYPE_IDS = {name: type_id for type_id, (name, _b, _s) in GGML_TYPES.items()}

# GGUF metadata value types
_UINT8, _INT8, _UINT16, _INT16, _UINT32, _INT32, _FLOAT32, _BOOL, _STRING, _ARRAY = range(10)
_UINT64, _INT64, _FLOAT64 = 10, 11, 12

_SCALAR_FORMATS = {
    _UINT8: "B",
    _INT8: "b",
    _UINT16: "H",
    _INT16: "h",
    _UINT32: "I",
    _INT32: "i",
    _FLOAT32: "f",
    _BOOL: "?",
    _UINT64: "Q",
    _INT64: "q",
    _FLOAT64: "d",
}

VALUE_TYPE_NAMES = {
    _UINT8: "uint8",
    _INT8: "int8",
    _UINT16: "uint16",
    _INT16: "int16",
    _UINT32: "uint32",
    _INT32: "int32",
    _FLOAT32: "float32",
    _BOOL: "bool",
    _STRING: "string",
    _ARRAY: "array",
    _UINT64: "uint64",
    _INT64: "int64",
    _FLOAT64: "float64",
}

SPLIT_NAME_RE = re.compile(r"^(?P<prefix>.*)-(?P<no>\d{5})-of-(?P<count>\d{5})\.gguf$")

# Sanity limits so a corrupt length field fails cleanly instead of allocating gigabytes.
_MAX_STRING_LEN = 64 * 1024 * 1024
_MAX_DIMS = 8


class GgufError(Exception):
    """Raised for anything that is not a readable GGUF file (or split set)."""


class ArraySummary:
    """Stand-in for a metadata array too long to keep (for example the tokenizer vocabulary)."""

    __slots__ = ("item_type", "length")

    def __init__(self, item_type, length):
        self.item_type = item_type
        self.length = length

    def __len__(self):
        return self.length

    def __eq__(self, other):
        return (
            isinstance(other, ArraySummary)
            and other.item_type == self.item_type
            and other.length == self.length
        )

    def __repr__(self):
        return f"ArraySummary({VALUE_TYPE_NAMES.get(self.item_type, '?')}[{self.length}])"

    def to_dict(self):
        return {"array_of": VALUE_TYPE_NAMES.get(self.item_type, "?"), "length": self.length}


def ggml_type_name(type_id):
    entry = GGML_TYPES.get(type_id)
    return entry[0] if entry else f"UNKNOWN_{type_id}"


def tensor_nbytes(type_id, dims):
    """Bytes taken by a tensor of ggml type ``type_id`` and shape ``dims`` (ne0 first).

    ggml stores rows of ``dims[0]`` elements as whole blocks, so ``dims[0]`` must be a multiple
    of the block size.
    """
    entry = GGML_TYPES.get(type_id)
    if entry is None:
        raise GgufError(f"unknown ggml tensor type {type_id}")
    _name, block, size = entry
    n = 1
    for d in dims:
        n *= int(d)
    if dims and int(dims[0]) % block:
        raise GgufError(
            f"tensor row of {dims[0]} elements is not a multiple of the {entry[0]} "
            f"block size {block}"
        )
    return n // block * size


class TensorInfo:
    __slots__ = ("name", "dims", "type_id", "offset", "nbytes", "shard")

    def __init__(self, name, dims, type_id, offset, shard=0):
        self.name = name
        self.dims = tuple(dims)
        self.type_id = type_id
        self.offset = offset
        self.shard = shard
        self.nbytes = tensor_nbytes(type_id, dims)

    @property
    def type_name(self):
        return ggml_type_name(self.type_id)

    @property
    def n_elements(self):
        n = 1
        for d in self.dims:
            n *= d
        return n

    def to_dict(self):
        return {
            "name": self.name,
            "dims": list(self.dims),
            "type": self.type_name,
            "offset": self.offset,
            "nbytes": self.nbytes,
            "shard": self.shard,
        }

    def __repr__(self):
        return f"TensorInfo({self.name!r}, {self.dims!r}, {self.type_name}, {self.nbytes} bytes)"


class GgufFile:
    """One parsed GGUF file (one shard)."""

    def __init__(self, path, version, endian, metadata, metadata_types, tensors, data_offset):
        self.path = path
        self.version = version
        self.endian = endian
        self.metadata = metadata
        self.metadata_types = metadata_types
        self.tensors = tensors
        self.data_offset = data_offset

    @property
    def architecture(self):
        return self.metadata.get("general.architecture")

    @property
    def alignment(self):
        return int(self.metadata.get("general.alignment", DEFAULT_ALIGNMENT))

    @property
    def tensor_bytes(self):
        return sum(t.nbytes for t in self.tensors)


class GgufModel:
    """A model as one or more shards: metadata from the first, tensors from all of them."""

    def __init__(self, shards):
        self.shards = shards

    @property
    def path(self):
        return self.shards[0].path

    @property
    def paths(self):
        return [s.path for s in self.shards]

    @property
    def metadata(self):
        return self.shards[0].metadata

    @property
    def architecture(self):
        return self.shards[0].architecture

    @property
    def tensors(self):
        out = []
        for shard in self.shards:
            out.extend(shard.tensors)
        return out

    @property
    def tensor_bytes(self):
        return sum(s.tensor_bytes for s in self.shards)

    @property
    def file_bytes(self):
        return sum(os.path.getsize(p) for p in self.paths)


class _Reader:
    """Buffered little/big-endian reader over a binary file object."""

    _CHUNK = 1 << 20

    def __init__(self, fh, path, endian="<"):
        self.fh = fh
        self.path = path
        self.endian = endian
        self.buf = b""
        self.pos = 0  # position inside buf
        self.base = 0  # file offset of buf[0]

    def tell(self):
        return self.base + self.pos

    def _fill(self, n):
        avail = len(self.buf) - self.pos
        if avail >= n:
            return
        chunk = self.fh.read(max(n - avail, self._CHUNK))
        self.base += self.pos
        self.buf = self.buf[self.pos :] + chunk
        self.pos = 0
        if len(self.buf) < n:
            raise GgufError(
                f"{self.path}: truncated GGUF file (needed {n} bytes at offset {self.tell()}, "
                f"file ends at {self.base + len(self.buf)})"
            )

    def read(self, n):
        self._fill(n)
        out = self.buf[self.pos : self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt):
        fmt = self.endian + fmt
        size = struct.calcsize(fmt)
        self._fill(size)
        out = struct.unpack_from(fmt, self.buf, self.pos)
        self.pos += size
        return out

    def scalar(self, fmt):
        return self.unpack(fmt)[0]

    def string(self):
        n = self.scalar("Q")
        if n > _MAX_STRING_LEN:
            raise GgufError(f"{self.path}: implausible string length {n} at offset {self.tell()}")
        raw = self.read(n)
        return raw.decode("utf-8", errors="replace")

    def skip_string(self):
        n = self.scalar("Q")
        if n > _MAX_STRING_LEN:
            raise GgufError(f"{self.path}: implausible string length {n} at offset {self.tell()}")
        self._fill(n)
        self.pos += n

    def value(self, vtype, max_array_len):
        if vtype in _SCALAR_FORMATS:
            return self.scalar(_SCALAR_FORMATS[vtype])
        if vtype == _STRING:
            return self.string()
        if vtype == _ARRAY:
            itype = self.scalar("I")
            count = self.scalar("Q")
            if itype == _ARRAY:
                return [self.value(_ARRAY, max_array_len) for _ in range(count)]
            if itype not in _SCALAR_FORMATS and itype != _STRING:
                raise GgufError(f"{self.path}: unknown array item type {itype}")
            if count > max_array_len:
                if itype == _STRING:
                    for _ in range(count):
                        self.skip_string()
                else:
                    size = struct.calcsize(self.endian + _SCALAR_FORMATS[itype]) * count
                    self._fill(size)
                    self.pos += size
                return ArraySummary(itype, count)
            if itype == _STRING:
                return [self.string() for _ in range(count)]
            return list(self.unpack(f"{count}{_SCALAR_FORMATS[itype]}"))
        raise GgufError(f"{self.path}: unknown metadata value type {vtype} at offset {self.tell()}")


def read_gguf_file(path, max_array_len=DEFAULT_MAX_ARRAY_LEN, shard=0):
    """Parse one GGUF file's header, metadata and tensor infos. Never reads tensor data."""
    path = os.fspath(path)
    try:
        fh = open(path, "rb")
    except OSError as exc:
        raise GgufError(f"cannot open {path}: {exc.strerror or exc}") from exc
    with fh:
        reader = _Reader(fh, path)
        try:
            magic = reader.read(4)
        except GgufError:
            raise GgufError(f"{path}: not a GGUF file (shorter than the 4-byte magic)") from None
        if magic != GGUF_MAGIC:
            raise GgufError(f"{path}: not a GGUF file (magic {magic!r}, expected {GGUF_MAGIC!r})")
        version = reader.scalar("I")
        if version & 0xFFFF == 0 and version >> 16:
            # A big-endian GGUF read as little-endian: the version lands in the high half.
            reader.endian = ">"
            version = struct.unpack(">I", struct.pack("<I", version))[0]
        if version == 1:
            raise GgufError(f"{path}: GGUF version 1 is not supported (re-convert the model)")
        if version not in (2, 3):
            raise GgufError(f"{path}: unsupported GGUF version {version}")
        n_tensors, n_kv = reader.unpack("QQ")

        metadata = {}
        metadata_types = {}
        for _ in range(n_kv):
            key = reader.string()
            vtype = reader.scalar("I")
            metadata[key] = reader.value(vtype, max_array_len)
            metadata_types[key] = VALUE_TYPE_NAMES.get(vtype, str(vtype))

        tensors = []
        for _ in range(n_tensors):
            name = reader.string()
            n_dims = reader.scalar("I")
            if n_dims > _MAX_DIMS:
                raise GgufError(f"{path}: tensor {name!r} has implausible n_dims {n_dims}")
            dims = reader.unpack(f"{n_dims}Q") if n_dims else ()
            type_id, offset = reader.unpack("IQ")
            tensors.append(TensorInfo(name, dims, type_id, offset, shard))

        alignment = int(metadata.get("general.alignment", DEFAULT_ALIGNMENT)) or DEFAULT_ALIGNMENT
        header_end = reader.tell()
        data_offset = (header_end + alignment - 1) // alignment * alignment

    file_size = os.path.getsize(path)
    # Vocab-only files end right after the header (no padding), so only check real data.
    needed = data_offset + max((t.offset + t.nbytes for t in tensors), default=0)
    if tensors and needed > file_size:
        raise GgufError(
            f"{path}: truncated GGUF file: tensor data needs {needed} bytes, file has {file_size}"
        )
    return GgufFile(path, version, reader.endian, metadata, metadata_types, tensors, data_offset)


def split_shard_paths(path, count=None):
    """All shard paths of a split model given any shard path, or [path] if not split.

    ``count`` (from ``split.count``) wins over the count in the file name when both exist.
    """
    path = os.fspath(path)
    directory, base = os.path.split(path)
    match = SPLIT_NAME_RE.match(base)
    if not match:
        if count and count > 1:
            raise GgufError(
                f"{path} declares split.count={count} but its name does not follow "
                f"NAME-00001-of-{count:05d}.gguf, so the other shards cannot be found"
            )
        return [path]
    total = count or int(match.group("count"))
    prefix = match.group("prefix")
    return [
        os.path.join(directory, f"{prefix}-{i:05d}-of-{total:05d}.gguf")
        for i in range(1, total + 1)
    ]


def read_gguf(path, max_array_len=DEFAULT_MAX_ARRAY_LEN):
    """Read a whole model: one file, or every shard of a split model (pass shard 1)."""
    first = read_gguf_file(path, max_array_len=max_array_len, shard=0)
    count = int(first.metadata.get("split.count", 1) or 1)
    if count <= 1:
        return GgufModel([first])
    split_no = int(first.metadata.get("split.no", 0))
    if split_no != 0:
        raise GgufError(
            f"{path} is shard {split_no + 1} of {count}: pass the first shard "
            f"(-00001-of-{count:05d}.gguf)"
        )
    paths = split_shard_paths(path, count)
    missing = [p for p in paths[1:] if not os.path.exists(p)]
    if missing:
        raise GgufError(f"split model {path} needs {count} shards; missing: {', '.join(missing)}")
    shards = [first]
    for i, shard_path in enumerate(paths[1:], start=1):
        shard = read_gguf_file(shard_path, max_array_len=max_array_len, shard=i)
        got_no = int(shard.metadata.get("split.no", i))
        got_count = int(shard.metadata.get("split.count", count))
        if got_no != i or got_count != count:
            raise GgufError(
                f"{shard_path} says it is shard {got_no + 1} of {got_count}, "
                f"expected shard {i + 1} of {count}"
            )
        shards.append(shard)
    expected_tensors = first.metadata.get("split.tensors.count")
    got_tensors = sum(len(s.tensors) for s in shards)
    if expected_tensors is not None and int(expected_tensors) != got_tensors:
        raise GgufError(
            f"split model {path} declares {expected_tensors} tensors but its shards "
            f"hold {got_tensors}"
        )
    return GgufModel(shards)


def metadata_to_jsonable(metadata):
    """Metadata with ArraySummary replaced by plain dicts, for module results."""
    out = {}
    for key, value in metadata.items():
        if isinstance(value, ArraySummary):
            out[key] = value.to_dict()
        else:
            out[key] = value
    return out
