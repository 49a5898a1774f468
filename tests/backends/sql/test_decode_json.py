"""`decode_json` (JSON columns read back) answers exactly as `json.loads`: values and errors."""

from __future__ import annotations

import json
import math
import random
import struct
from typing import Any

import pytest

from crudql.backends.sql.storage import decode_json

TEXTS = [
    '{"a": 1, "b": [1.5, -0.0, 1e400, -1e400, 5e-324, 1E-400], "c": null, "d": true}',
    str(2**70), "-" + str(2**200), "123456789012345678901234567890.5", "NaN", "Infinity", "-Infinity",
    '{"a": 1, "a": 2}', '"\\ud800"', '"\\ud83d\\ude00"', '"\\u0000"', '  {"x" : [ ] }  ', '"Zoë Ångström"',
]
INVALID = ['{"a":1}x', "", "{", "\ufeff{}", "[1,]", "'a'"]


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    return repr(a) == repr(b)


@pytest.mark.parametrize("text", TEXTS)
def test_values_are_json_loads(text: str) -> None:
    assert _same(decode_json(text), json.loads(text))
    assert _same(decode_json(text.encode("utf-8", "surrogatepass")), json.loads(text.encode("utf-8", "surrogatepass")))


def test_bytes_in_other_encodings_are_json_loads() -> None:
    for encoding in ("utf-16", "utf-32", "utf-8-sig"):
        data = '{"a": "é"}'.encode(encoding)
        assert decode_json(data) == json.loads(data)


@pytest.mark.parametrize("text", INVALID)
def test_errors_are_json_loads(text: str) -> None:
    with pytest.raises(json.JSONDecodeError):
        decode_json(text)


def test_floats_round_the_same() -> None:
    rng = random.Random(14)
    for _ in range(20_000):
        x = struct.unpack("d", rng.getrandbits(64).to_bytes(8, "little"))[0]
        if math.isfinite(x):
            for text in (repr(x), f"{x:.17g}", f"{x:.6g}"):
                assert decode_json(text) == json.loads(text), text
