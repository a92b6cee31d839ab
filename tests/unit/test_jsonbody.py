"""The request path's JSON reads and writes exactly what the standard library would, only faster."""

from __future__ import annotations

import json

import pytest

from mockserver import jsonbody


@pytest.mark.parametrize(
    "raw",
    [
        b"12092582411968441000000000",  # past 64 bits: orjson alone would read a float
        b"-9223372036854775809",
        b'{"maxRetries": 18446744073709551616, "n": [1, 2.5]}',
        b"[9223372036854775807, -0, 1E2, -0.0, 0.1, 1.5e-320]",
        b'{"a": 1, "a": 2}',
        b'"\\ud800"',  # a lone surrogate
        b"[1e308, -1.7976931348623157e308, 1e-400]",  # the largest a double holds, and one too small for it
        b'{"number": "+919812345678", "name": "\xc3\xa9"}',
    ],
)
def test_parse_reads_what_the_standard_library_reads(raw: bytes) -> None:
    parsed, expected = jsonbody.parse(raw), json.loads(raw.decode("utf-8"))
    assert repr(parsed) == repr(expected)  # repr: nan != nan, and 1 == 1.0 would hide a float


@pytest.mark.parametrize("raw", [b"{not json", b'{"a": 1} trailing', b"", b"\xef\xbb\xbf{}"])
def test_parse_refuses_with_the_standard_librarys_message(raw: bytes) -> None:
    with pytest.raises(json.JSONDecodeError) as ours:
        jsonbody.parse(raw)
    with pytest.raises(json.JSONDecodeError) as theirs:
        json.loads(raw.decode("utf-8"))
    assert str(ours.value) == str(theirs.value)


def test_parse_refuses_bytes_that_are_not_utf8() -> None:
    with pytest.raises(UnicodeDecodeError):
        jsonbody.parse(b'{"a": "\xff"}')


def test_encode_is_compact_utf8_and_falls_back_for_what_orjson_refuses() -> None:
    assert jsonbody.encode({"error": False, "message": "é", "n": [1, 2.5, None]}) == (
        '{"error":false,"message":"é","n":[1,2.5,null]}'.encode()
    )
    assert jsonbody.encode({"id": 2**70}) == b'{"id":1180591620717411303424}'
    assert jsonbody.encode({1: "a"}) == b'{"1":"a"}'


@pytest.mark.parametrize(
    "raw",
    [
        b'{"customerData": {"jsonData": [{"number": "+919845012345", "n": [1, 2.5, null, true]}]}}',
        b"[9223372036854775807, 18446744073709551616, -0.0, 1e308]",
        b'"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["',
        b'{"a": "\\u00e9", "a": 2}',
        b"[" * jsonbody.MAX_DEPTH + b"]" * jsonbody.MAX_DEPTH,
    ],
)
def test_the_gradual_reader_reads_what_the_standard_library_reads(raw: bytes) -> None:
    assert repr(jsonbody.parse_gradually(raw)) == repr(json.loads(raw.decode("utf-8")))
    assert repr(jsonbody.parse(raw)) == repr(json.loads(raw.decode("utf-8")))


@pytest.mark.parametrize("depth", [jsonbody.MAX_DEPTH + 1, 255, 1024, 1025, 100_000])
@pytest.mark.parametrize("reader", [jsonbody.parse, jsonbody.parse_gradually])
def test_nesting_past_the_limit_is_refused_by_both_readers(depth: int, reader: object) -> None:
    for raw in (b"[" * depth + b"]" * depth, b'{"a":' * depth + b"1" + b"}" * depth):
        with pytest.raises(jsonbody.TooDeep, match=f"nested more than {jsonbody.MAX_DEPTH} levels deep"):
            reader(raw)  # type: ignore[operator]


def test_the_depth_counts_empty_and_sibling_containers() -> None:
    limit = jsonbody.MAX_DEPTH
    wide = b"[" + b",".join([b"[]"] * 500) + b"]"  # many brackets, two levels
    assert len(jsonbody.parse(wide)) == 500
    inner_empty = b"[" * (limit - 1) + b"{}" + b"]" * (limit - 1)  # exactly the limit
    assert jsonbody.parse(inner_empty) is not None
    with pytest.raises(jsonbody.TooDeep):
        jsonbody.parse(b"[" * limit + b"{}" + b"]" * limit)


NOT_FINITE = [
    (b'{"seconds": NaN}', "body.seconds", "NaN"),
    (b'{"seconds": Infinity}', "body.seconds", "Infinity"),
    (b'{"seconds": -Infinity}', "body.seconds", "-Infinity"),
    (b"NaN", "body", "NaN"),
    (b"[1, -1E+999, Infinity]", "body[1]", "-1E+999"),  # past a double: json reads it as -inf
    (
        b'{"customerData": {"jsonData": [{"number": "+919812345678"}, {"number": "+1", "priority": 1e400}]}}',
        "body.customerData.jsonData[1].priority",
        "1e400",
    ),
    (b'{"id": 12345678901234567890123, "n": NaN}', "body.n", "NaN"),  # 19 digits: read by json alone
    (b'{"a": NaN, "a": 1, "b": [Infinity]}', "body.b[0]", "Infinity"),  # the NaN the last "a" replaced
]


@pytest.mark.parametrize(
    ("raw", "location", "written"), NOT_FINITE, ids=[r.decode()[:40] for r, _, _ in NOT_FINITE]
)
@pytest.mark.parametrize("reader", [jsonbody.parse, jsonbody.parse_gradually])
def test_numbers_that_are_not_finite_are_refused_naming_the_field(
    raw: bytes, location: str, written: str, reader: object
) -> None:
    # json reads NaN and Infinity (which JSON has not) and a number past a double as a float that is not
    # finite; the schema validator (jsonschema-rs) sees such a float as null ("must be a number, not null").
    with pytest.raises(jsonbody.NotFinite) as refused:
        reader(raw)  # type: ignore[operator]
    assert refused.value.location == location
    assert refused.value.rule.startswith(f"is {written}, ")
    assert isinstance(refused.value, ValueError)


def test_the_refusal_says_why() -> None:
    with pytest.raises(jsonbody.NotFinite) as literal:
        jsonbody.parse(b'{"seconds": Infinity}')
    assert (
        literal.value.rule == "is Infinity, which is not valid JSON (NaN and Infinity are not JSON numbers)"
    )
    with pytest.raises(jsonbody.NotFinite) as large:
        jsonbody.parse(b'{"seconds": 1e400}')
    assert large.value.rule == "is 1e400, a number too large for a double (at most about 1.8e308)"


def test_a_duplicate_key_that_replaces_a_nan_leaves_a_body_that_is_read() -> None:
    assert jsonbody.parse(b'{"a": NaN, "a": 1}') == {"a": 1}
