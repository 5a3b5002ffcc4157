"""Just enough of the GGUF header to learn whether a model file carries a chat template.

xllamacpp does not say whether a model has one (llama.cpp silently falls back to ChatML),
and a base model prompted through a template it never saw answers nonsense, so the local
adapter picks its default prompt format from the file itself.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import BinaryIO

_MAGIC = b"GGUF"
_CHAT_TEMPLATE_KEY = "tokenizer.chat_template"
_STRING = 8
_ARRAY = 9
_FIXED_SIZES = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}


class GGUFFormatError(ValueError):
    """The file is not a GGUF model file this reader understands."""


def has_chat_template(path: Path) -> bool:
    """Whether the GGUF file's metadata holds a non-empty ``tokenizer.chat_template``."""
    with path.open("rb") as fh:
        if fh.read(4) != _MAGIC:
            raise GGUFFormatError(f"{path} is not a GGUF file (bad magic number)")
        version = _unpack(fh, "<I")
        if version < 2:
            raise GGUFFormatError(f"{path}: GGUF version {version} is not supported")
        _unpack(fh, "<Q")
        kv_count = _unpack(fh, "<Q")
        for _ in range(kv_count):
            key = _read_string(fh)
            value_type = _unpack(fh, "<I")
            if key == _CHAT_TEMPLATE_KEY and value_type == _STRING:
                return bool(_read_string(fh).strip())
            _skip_value(fh, value_type)
    return False


def _unpack(fh: BinaryIO, fmt: str) -> int:
    size = struct.calcsize(fmt)
    data = fh.read(size)
    if len(data) != size:
        raise GGUFFormatError("truncated GGUF header")
    value: int = struct.unpack(fmt, data)[0]
    return value


def _read_string(fh: BinaryIO) -> str:
    length = _unpack(fh, "<Q")
    data = fh.read(length)
    if len(data) != length:
        raise GGUFFormatError("truncated GGUF header")
    return data.decode("utf-8", errors="replace")


def _skip_value(fh: BinaryIO, value_type: int) -> None:
    if value_type == _STRING:
        fh.seek(_unpack(fh, "<Q"), 1)
    elif value_type == _ARRAY:
        item_type = _unpack(fh, "<I")
        count = _unpack(fh, "<Q")
        if item_type in _FIXED_SIZES:
            fh.seek(count * _FIXED_SIZES[item_type], 1)
        else:
            for _ in range(count):
                _skip_value(fh, item_type)
    elif value_type in _FIXED_SIZES:
        fh.seek(_FIXED_SIZES[value_type], 1)
    else:
        raise GGUFFormatError(f"unknown GGUF value type {value_type}")
