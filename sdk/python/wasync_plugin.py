"""Typed helpers for wasync plugins written in Python (built with componentize-py).

The bindings componentize-py generates from `wit/` are faithful but clumsy: a value is one of
seven dataclasses (`Value_Text(...)`), results are `Ok(...)`/`Err(...)`, and an exception that
escapes a call traps the whole batch. This module gives plugin authors:

- value constructors and accessors: `text("x")`, `as_text(value)`, `to_python(value)`,
  `from_python(obj)`;
- errors as exceptions: `raise InvalidInput("...")`; any other exception becomes
  `error::other("ExceptionType: message")` for that value or record alone;
- record conveniences: `get(record, "Name")`, `set_field(record, "Name", text("x"))`,
  `fields(record)`;
- configuration parsing: `parse_config(text, allowed={...})`;
- class decorators that turn a per-item class into the resource componentize-py exports:
  `@transformer`, `@entity_function`, `@merge_policy`, `@connector`.

It speaks `wasync:plugin@0.2.0`, where a transform's values and a connector's records cross
as one buffer in the batch layout (`docs/batch.md`): the decorators read it into the same
`Value_*` and `Record` objects the bindings use, call your class per value or per change, and
write the answers back, so your code sees what it saw under 0.1.0. `decode_values`,
`encode_results`, `decode_records` and `encode_records` are there for resources written by
hand.

A transform, in `transform.py` (the module name is the world's export: componentize-py looks
for the resource class there)::

    from wasync_plugin import transformer, text, as_text, null

    @transformer
    class Transformer:
        def __init__(self, config: dict):
            self.suffix = config.get("suffix", "")

        def apply(self, value):
            s = as_text(value)
            return null() if s is None else text(s + self.suffix)
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Optional

from componentize_py_types import Err, Ok
from wit_world.imports import types as _t

__all__ = [
    "PluginError", "InvalidConfig", "InvalidInput", "NotFound", "Unavailable", "Other",
    "null", "boolean", "integer", "float_", "text", "timestamp", "json_value",
    "as_text", "as_int", "as_float", "as_bool", "is_null", "is_empty", "to_python", "from_python",
    "get", "set_field", "fields", "record",
    "parse_config", "to_error", "log",
    "transformer", "entity_function", "merge_policy", "connector",
    "keep", "stop", "attach",
    "Upsert", "Change_Upsert", "Change_Delete", "EntityChange",
    "BatchError", "decode_values", "encode_results", "decode_records", "encode_records",
]

Value = Any  # One of the `wit_world.imports.types.Value_*` dataclasses.
Record = _t.Record
Field = _t.Field


# --- errors -----------------------------------------------------------------------------


class PluginError(Exception):
    """An error the plugin means to return: it becomes the WIT `error` case of its class."""

    case: Callable[[str], Any] = _t.Error_Other

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def to_wit(self) -> Any:
        return type(self).case(self.message)


class InvalidConfig(PluginError):
    """The configuration given to a constructor is not usable."""

    case = _t.Error_InvalidConfig


class InvalidInput(PluginError):
    """An input value or record is not usable; the rest of the batch goes on."""

    case = _t.Error_InvalidInput


class NotFound(PluginError):
    """What was asked for does not exist."""

    case = _t.Error_NotFound


class Unavailable(PluginError):
    """A passing failure: the same call may succeed later."""

    case = _t.Error_Unavailable


class Other(PluginError):
    """Anything else."""

    case = _t.Error_Other


def to_error(exc: BaseException) -> Any:
    """The WIT `error` for an exception: its own case for a `PluginError`, the error a host
    capability returned for an `Err`, else `other("ExceptionType: message")` so the user sees
    what Python raised."""
    if isinstance(exc, PluginError):
        return exc.to_wit()
    if isinstance(exc, Err):
        return exc.value
    message = str(exc)
    return _t.Error_Other(f"{type(exc).__name__}: {message}" if message else type(exc).__name__)


def _guard(call: Callable[[], Any]) -> Any:
    """`Ok(call())`, or `Err(error)` for whatever it raised."""
    try:
        return Ok(call())
    except Exception as exc:  # noqa: BLE001 - every exception must become a value here
        return Err(to_error(exc))


# --- values -----------------------------------------------------------------------------


def null() -> Any:
    """No value."""
    return _t.Value_Null()


def boolean(b: bool) -> Any:
    return _t.Value_Boolean(bool(b))


def integer(n: int) -> Any:
    """A whole number; must fit in 64 bits."""
    if not -(2**63) <= n < 2**63:
        raise InvalidInput(f"integer {n} does not fit in 64 bits")
    return _t.Value_Integer(int(n))


def float_(x: float) -> Any:
    return _t.Value_Float(float(x))


def text(s: str) -> Any:
    return _t.Value_Text(str(s))


def timestamp(micros: int) -> Any:
    """Microseconds since 1970-01-01T00:00:00Z."""
    return _t.Value_Timestamp(int(micros))


def json_value(obj: Any) -> Any:
    """Nested data (a dict or list) as a `json` value."""
    return _t.Value_Json(json.dumps(obj, separators=(",", ":"), ensure_ascii=False))


def is_null(value: Any) -> bool:
    return isinstance(value, _t.Value_Null)


def is_empty(value: Optional[Any]) -> bool:
    """Null, missing (None) or blank text."""
    return value is None or is_null(value) or (
        isinstance(value, _t.Value_Text) and value.value.strip() == ""
    )


def as_text(value: Any) -> Optional[str]:
    """The text of a `text` value, else None."""
    return value.value if isinstance(value, _t.Value_Text) else None


def as_int(value: Any) -> Optional[int]:
    """The number of an `integer` value, else None."""
    return value.value if isinstance(value, _t.Value_Integer) else None


def as_float(value: Any) -> Optional[float]:
    """The number of a `float` or `integer` value, else None."""
    if isinstance(value, (_t.Value_Float, _t.Value_Integer)):
        return float(value.value)
    return None


def as_bool(value: Any) -> Optional[bool]:
    return value.value if isinstance(value, _t.Value_Boolean) else None


def to_python(value: Any) -> Any:
    """A plain Python object: None, bool, int, float, str; `json` parsed; a timestamp stays
    its microseconds (an int)."""
    if isinstance(value, _t.Value_Null):
        return None
    if isinstance(value, _t.Value_Json):
        return json.loads(value.value)
    return value.value


def from_python(obj: Any) -> Any:
    """The value for a plain Python object (dicts and lists become `json`)."""
    if obj is None:
        return null()
    if isinstance(obj, bool):
        return boolean(obj)
    if isinstance(obj, int):
        return integer(obj)
    if isinstance(obj, float):
        return float_(obj)
    if isinstance(obj, str):
        return text(obj)
    if isinstance(obj, (dict, list, tuple)):
        return json_value(obj)
    raise InvalidInput(f"cannot make a value of a {type(obj).__name__}")


# --- records ----------------------------------------------------------------------------


def get(rec: Record, name: str) -> Optional[Any]:
    """The value of field `name`, or None when the record does not have it (unknown, which
    is not the same as a `null` value)."""
    for f in rec.fields:
        if f.name == name:
            return f.value
    return None


def set_field(rec: Record, name: str, value: Any) -> Record:
    """Sets field `name` (adding it when missing); returns the record."""
    for f in rec.fields:
        if f.name == name:
            f.value = value
            return rec
    rec.fields.append(_t.Field(name, value))
    return rec


def fields(rec: Record) -> dict[str, Any]:
    """The record's fields as a dict of plain Python objects."""
    return {f.name: to_python(f.value) for f in rec.fields}


def record(id: str, values: dict[str, Any], watermark: Any = None, deleted: bool = False) -> Record:
    """A record from plain Python objects."""
    return _t.Record(
        id,
        from_python(watermark),
        [_t.Field(name, from_python(v)) for name, v in values.items()],
        deleted,
    )


# --- configuration ----------------------------------------------------------------------


def parse_config(
    config: str, allowed: Optional[Iterable[str]] = None, require_object: bool = True
) -> Any:
    """The configuration as a dict; `InvalidConfig` when it is not a JSON object or has a key
    outside `allowed` (when given), so a misspelt setting is refused, not ignored. With
    `require_object=False`, any JSON value is returned for the plugin to check."""
    try:
        parsed = json.loads(config) if config.strip() else {}
    except json.JSONDecodeError as exc:
        raise InvalidConfig(f"the configuration is not JSON: {exc}") from None
    if not require_object:
        return parsed
    if not isinstance(parsed, dict):
        raise InvalidConfig("the configuration must be a JSON object")
    if allowed is not None:
        allowed = set(allowed)
        for key in parsed:
            if key not in allowed:
                expected = ", ".join(f"`{k}`" for k in sorted(allowed)) or "none"
                raise InvalidConfig(f"unknown setting `{key}` (expected: {expected})")
    return parsed


def log(level: str, message: str) -> None:
    """Writes to the host's log (`trace`, `debug`, `info`, `warn`, `error`)."""
    from wit_world.imports import log as _log

    _log.log(_log.Level[level.upper()], message)


# --- entity outcomes ----------------------------------------------------------------------


def keep(rec: Record) -> Any:
    """The record goes on down the pipeline."""
    from wit_world.exports import entity as _e

    return _e.Outcome_Keep(rec)


def stop(reason: str) -> Any:
    """The record stops here, for `reason` (not an error)."""
    from wit_world.exports import entity as _e

    return _e.Outcome_Stop(reason)


def attach(rec: Record, unified_id: str) -> Any:
    """The record goes on as part of the unified record `unified_id`."""
    from wit_world.exports import entity as _e

    return _e.Outcome_Attach(_e.Attached(rec, unified_id))


# --- connector changes ------------------------------------------------------------------
#
# 0.1.0's bindings made these types; from 0.2.0 on, records cross as a batch and the bindings
# no longer have them, so the helpers keep them, with the same names and fields, for
# `write_one` and `webhook` (import them from here, not from `wit_world.exports.external`).


@dataclass
class Upsert:
    """Create (`id` None) or update (`id`, the external id) a record with these fields."""

    id: Optional[str]
    fields: list


@dataclass
class Change_Upsert:
    """A change to write: create or update."""

    value: Upsert


@dataclass
class Change_Delete:
    """A change to write: delete the record with this external id."""

    value: str


@dataclass
class EntityChange:
    """A record of `entity` that changed, as a webhook reports it."""

    entity: str
    record: Record


# --- the batch layout ---------------------------------------------------------------------
#
# From `wasync:plugin@0.2.0` on, a transform's values and answers and a connector's records
# cross as one buffer each, in the layout `docs/batch.md` specifies (`sdk/batch` is the
# reference, matched here byte for byte):
#
#   header   b"WSB1", a kind byte (1 values, 2 results, 3 records), a u32 row count
#   column   a tag byte per row (0 absent, 1 null ... 7 json), then the rows' payloads in order
#   values   one column
#   results  a status byte per row (0 ok, 4 error), for each failed row a kind byte and a
#            message, then the ok rows' values as a column
#   records  the ids, a column of watermarks, a deleted byte per row, a u32 count of field
#            columns, then per field its name and a column (absent where a record lacks it)
#
# Integers are little-endian; a text is a u32 byte length and that many bytes of UTF-8.
#
# The author's `apply` runs once per value, and so does everything around it: the loops below
# keep to local names, one `struct` call per length, `bytearray +=`, and try text (in and
# out) before anything else. They make the same `Value_*` objects as componentize-py's
# bindings, so that code written for 0.1.0 runs unchanged.

_MAGIC = b"WSB1"
_HEADER = struct.Struct("<4sBI")
_U32 = struct.Struct("<I")
_I64 = struct.Struct("<q")
_F64 = struct.Struct("<d")

_VALUES = 1
_RESULTS = 2
_RECORDS = 3

# Column tags (0, absent, is for records only). The hot loops spell text's 5 as a literal.
_NULL, _BOOLEAN, _INTEGER, _FLOAT, _TEXT, _TIMESTAMP, _JSON = range(1, 8)
_VALUE_TAGS = bytes(range(1, 8))
_FIELD_TAGS = bytes(range(0, 8))

# Row statuses of a results batch.
_OK = 0
_ERROR = 4

# The length of most texts, as written: a look-up is cheaper than `_U32.pack`.
_SHORT_LENGTHS = tuple(_U32.pack(n) for n in range(256))

# The kind byte of each WIT `error` case: its place in the WIT's list of cases.
_ERROR_KINDS = {
    case: kind
    for kind, case in enumerate(
        (
            _t.Error_InvalidConfig,
            _t.Error_InvalidInput,
            _t.Error_AccessDenied,
            _t.Error_NotFound,
            _t.Error_Unauthorized,
            _t.Error_RateLimited,
            _t.Error_Unavailable,
            _t.Error_Other,
        )
    )
}
_OTHER_KIND = 7


class BatchError(ValueError):
    """A buffer that is not a valid batch, and the byte where reading it went wrong.

    The host sends only valid batches: one that is not is a bug in a host, so it is not
    turned into per-value errors but escapes `apply`, which fails the call with this
    message."""

    def __init__(self, at: int, what: str):
        super().__init__(f"invalid batch at byte {at}: {what}")
        self.at = at
        self.what = what


_KIND_NAMES = {_VALUES: "values", _RESULTS: "results", _RECORDS: "records"}


def _header(buf: Any, kind: int) -> tuple:
    """`buf` as `bytes` and the row count of the batch of `kind` it holds, after checking
    its header."""
    if buf.__class__ is not bytes:
        buf = bytes(buf)
    if len(buf) < 9:
        raise BatchError(0, f"the header needs 9 bytes, {len(buf)} are left")
    magic, found, rows = _HEADER.unpack_from(buf)
    if magic != _MAGIC:
        raise BatchError(0, "it does not begin with `WSB1`")
    if found != kind:
        raise BatchError(4, f"expected kind {kind} ({_KIND_NAMES[kind]}), found {found}")
    if rows > len(buf) - 9:
        left = len(buf) - 9
        raise BatchError(5, f"the row count is {rows}, more than the {left} bytes left can hold")
    return buf, rows


def _values_header(buf: Any) -> tuple:
    """`buf` as `bytes` and the row count of the `values` batch it holds, after checking its
    header and its tags (all at once: a value's tags are 1 to 7)."""
    buf, rows = _header(buf, _VALUES)
    _bytes(buf, 9, rows, _VALUE_TAGS, "the tag")
    return buf, rows


def _read(buf: bytes, at: int, tag: int) -> tuple:
    """The value at `at` with tag `tag` (any but text, which the loops read themselves), and
    where the next payload begins. Lengths are not checked here (see `_check_end`)."""
    if tag == _NULL:
        return _t.Value_Null(), at
    if tag == _INTEGER:
        return _t.Value_Integer(_I64.unpack_from(buf, at)[0]), at + 8
    if tag == _FLOAT:
        return _t.Value_Float(_F64.unpack_from(buf, at)[0]), at + 8
    if tag == _BOOLEAN:
        byte = buf[at]
        if byte > 1:
            raise BatchError(at, f"a boolean is {byte}, not 0 or 1")
        return _t.Value_Boolean(byte == 1), at + 1
    if tag == _TIMESTAMP:
        return _t.Value_Timestamp(_I64.unpack_from(buf, at)[0]), at + 8
    end = at + 4 + _U32.unpack_from(buf, at)[0]  # _JSON, the last tag `_values_header` lets by
    return _t.Value_Json(buf[at + 4 : end].decode()), end


def _malformed(buf: bytes, at: int, row: int, exc: Exception) -> BatchError:
    """The `BatchError` for what reading row `row`'s payload at `at` raised."""
    if isinstance(exc, BatchError):
        return exc
    if isinstance(exc, UnicodeDecodeError) and at + 4 + _U32.unpack_from(buf, at)[0] <= len(buf):
        return BatchError(at + 4 + exc.start, f"the text of row {row} is not UTF-8")
    return BatchError(at, f"the value of row {row} runs past the end")


def _check_end(buf: bytes, at: int) -> None:
    """Refuses a batch whose last payload ends anywhere but at its last byte. (The loops do
    not check each length: a text cut short leaves them past the end, caught here.)"""
    if at > len(buf):
        raise BatchError(len(buf), f"the last value needs {at - len(buf)} bytes more")
    if at < len(buf):
        raise BatchError(at, f"{len(buf) - at} bytes follow the end of the batch")


def decode_values(buf: bytes) -> list:
    """The values of a `values` batch, as `wit_world.imports.types.Value_*` objects (a
    `BatchError` when `buf` is not one)."""
    buf, rows = _values_header(buf)
    at = 9 + rows
    Text, u32, read = _t.Value_Text, _U32.unpack_from, _read
    values: list = []
    append = values.append
    # A batch that is all ASCII (most are) is read as one text whose slices are its texts,
    # which saves decoding each one.
    ascii = buf.decode("ascii") if buf.isascii() else None
    try:
        for tag in buf[9 : 9 + rows]:
            if tag == 5:
                end = at + 4 + u32(buf, at)[0]
                append(Text(buf[at + 4 : end].decode() if ascii is None else ascii[at + 4 : end]))
                at = end
            else:
                value, at = read(buf, at, tag)
                append(value)
    except (BatchError, struct.error, IndexError, UnicodeDecodeError) as exc:
        raise _malformed(buf, at, len(values), exc) from None
    _check_end(buf, at)
    return values


def _put(value: Any, tags: bytearray, payload: bytearray) -> None:
    """Appends `value` to a column. One that cannot be written raises before anything is
    appended, so that its row can fail alone."""
    cls = value.__class__
    if cls is _t.Value_Text or cls is _t.Value_Json:
        data = value.value.encode()
        payload += _U32.pack(len(data))
        payload += data
        tags.append(_TEXT if cls is _t.Value_Text else _JSON)
    elif cls is _t.Value_Null:
        tags.append(_NULL)
    elif cls is _t.Value_Integer or cls is _t.Value_Timestamp:
        try:
            payload += _I64.pack(value.value)
        except struct.error:
            raise OverflowError(f"{value.value!r} is not a 64-bit integer") from None
        tags.append(_INTEGER if cls is _t.Value_Integer else _TIMESTAMP)
    elif cls is _t.Value_Float:
        payload += _F64.pack(value.value)
        tags.append(_FLOAT)
    elif cls is _t.Value_Boolean:
        payload.append(1 if value.value else 0)
        tags.append(_BOOLEAN)
    else:
        raise TypeError(f"expected a value (text(...), null(), ...), got {type(value).__name__}")


def _put_error(errors: bytearray, failure: Any) -> None:
    """Appends a failed row's kind and message: `failure` is a WIT `error`, or an exception
    (turned into one by `to_error`)."""
    error = failure if failure.__class__ in _ERROR_KINDS else to_error(failure)
    kind = _ERROR_KINDS.get(error.__class__)
    # An `Err` holding something other than a WIT error is `other`, with that thing's text.
    message = str(error if kind is None else error.value).encode("utf-8", "replace")
    errors.append(_OTHER_KIND if kind is None else kind)
    errors += _U32.pack(len(message))
    errors += message


def _results(status: bytearray, tags: bytearray, payload: bytearray, errors: bytearray) -> bytes:
    """A `results` batch from its parts: the errors go before the values."""
    header = _HEADER.pack(_MAGIC, _RESULTS, len(status))
    return b"".join((header, status, errors, tags, payload))


def _apply_each(apply: Callable[[Any], Any], buf: bytes) -> bytes:
    """The `results` batch of `apply` on each value of the `values` batch `buf`; an exception
    fails its row alone. Decoding, the call and encoding are one loop: no list of values or
    answers is made."""
    buf, rows = _values_header(buf)
    at = 9 + rows
    status = bytearray(rows)  # every row ok (0) until it fails
    tags = bytearray()  # one per ok row
    payload = bytearray()
    errors = bytearray()
    failed = 0
    Text, u32, read, put = _t.Value_Text, _U32.unpack_from, _read, _put
    lengths, pack, ok = _SHORT_LENGTHS, _U32.pack, tags.append
    ascii = buf.decode("ascii") if buf.isascii() else None  # see `decode_values`
    try:
        for tag in buf[9 : 9 + rows]:
            if tag == 5:
                end = at + 4 + u32(buf, at)[0]
                value = Text(buf[at + 4 : end].decode() if ascii is None else ascii[at + 4 : end])
                at = end
            else:
                value, at = read(buf, at, tag)
            try:
                out = apply(value)
                if out.__class__ is Text:  # `_put`'s first case, inline
                    data = out.value.encode()
                    n = len(data)
                    payload += lengths[n] if n < 256 else pack(n)
                    payload += data
                    ok(5)
                else:
                    put(out, tags, payload)
            except Exception as exc:  # noqa: BLE001 - every exception must become a row's error
                status[len(tags) + failed] = _ERROR
                failed += 1
                _put_error(errors, exc)
    except (BatchError, struct.error, IndexError, UnicodeDecodeError) as exc:
        raise _malformed(buf, at, len(tags) + failed, exc) from None
    _check_end(buf, at)
    return _results(status, tags, payload, errors)


def encode_results(results: Iterable[Any]) -> bytes:
    """A `results` batch of one row per item: a value (or `Ok(value)`) is an ok row; an
    exception, an `Err(error)` or a WIT `error` is a failed row."""
    status = bytearray()
    tags = bytearray()
    payload = bytearray()
    errors = bytearray()
    for result in results:
        if isinstance(result, BaseException) or result.__class__ in _ERROR_KINDS:
            failure = result
        else:
            try:
                _put(result.value if isinstance(result, Ok) else result, tags, payload)
                status.append(_OK)
                continue
            except Exception as exc:  # noqa: BLE001 - a value that cannot be written
                failure = exc
        status.append(_ERROR)
        _put_error(errors, failure)
    return _results(status, tags, payload, errors)


def _apply_batch(apply_batch: Callable[[list], Any], buf: bytes) -> bytes:
    """The `results` batch of a class's own `apply_batch` on the `values` batch `buf`: its
    answers, one per value, or, when it raises, its error for every value."""
    values = decode_values(buf)
    try:
        answers = list(apply_batch(values))
    except Exception as exc:  # noqa: BLE001
        return encode_results([exc] * len(values))
    if len(answers) != len(values):
        raise RuntimeError(
            f"apply_batch answered {len(answers)} results for {len(values)} values; "
            "it must answer one per value, in order"
        )
    return encode_results(answers)


# Records: a connector's pages, its webhook changes and the changes it is asked to write. They
# are not read a value at a time by an author's code, so this is plain code that checks every
# length as it goes.


def encode_records(records: Iterable[Record]) -> bytes:
    """A `records` batch of `records` (`Record` objects). A field named twice in one record
    keeps its first value; a field a record lacks is absent in that record's row."""
    ids = bytearray()
    marks, mark_payload = bytearray(), bytearray()
    deleted = bytearray()
    columns: dict = {}  # name -> (tags, payload), in the order names first appear
    rows = 0
    for rec in records:
        data = rec.id.encode()
        ids += _U32.pack(len(data))
        ids += data
        _put(rec.watermark, marks, mark_payload)
        deleted.append(1 if rec.deleted else 0)
        for field in rec.fields:
            column = columns.get(field.name)
            if column is None:
                column = columns[field.name] = (bytearray(rows), bytearray())  # absent so far
            if len(column[0]) == rows:  # the record's first value for this name
                _put(field.value, *column)
        rows += 1
        for tags, _ in columns.values():
            if len(tags) < rows:
                tags.append(0)  # absent
    parts = [_HEADER.pack(_MAGIC, _RECORDS, rows), ids, marks, mark_payload, deleted]
    parts.append(_U32.pack(len(columns)))
    for name, (tags, payload) in columns.items():
        data = name.encode()
        parts += (_U32.pack(len(data)), data, tags, payload)
    return b"".join(parts)


def _text(buf: bytes, at: int, what: str) -> tuple:
    """The text at `at`, and where it ends."""
    if len(buf) - at < 4:
        raise BatchError(at, f"{what} needs 4 bytes, {len(buf) - at} are left")
    end = at + 4 + _U32.unpack_from(buf, at)[0]
    if end > len(buf):
        raise BatchError(at + 4, f"{what} needs {end - at - 4} bytes, {len(buf) - at - 4} are left")
    try:
        return buf[at + 4 : end].decode(), end
    except UnicodeDecodeError as exc:
        raise BatchError(at + 4 + exc.start, f"{what} is not UTF-8") from None


def _bytes(buf: bytes, at: int, rows: int, allowed: bytes, what: str) -> bytes:
    """The `rows` bytes at `at`, each one of `allowed`."""
    part = buf[at : at + rows]
    if len(part) < rows:
        raise BatchError(at, f"{what} needs {rows} bytes, {len(part)} are left")
    if part.translate(None, allowed):
        row = next(i for i, b in enumerate(part) if b not in allowed)
        allowed = ", ".join(map(str, allowed))
        raise BatchError(at + row, f"{what} of row {row} is {part[row]}, not one of {allowed}")
    return part


def _column(buf: bytes, at: int, rows: int, allowed: bytes) -> tuple:
    """A column of `rows` rows at `at` (None where a row is absent), and where it ends."""
    tags = _bytes(buf, at, rows, allowed, "the tag")
    at += rows
    cells = []
    for tag in tags:
        if tag == _TEXT or tag == _JSON:
            value, at = _text(buf, at, "a text")
            cells.append(_t.Value_Text(value) if tag == _TEXT else _t.Value_Json(value))
        elif tag == 0:
            cells.append(None)
        else:
            try:
                value, at = _read(buf, at, tag)
            except (struct.error, IndexError):
                raise BatchError(at, "a value runs past the end") from None
            cells.append(value)
    return cells, at


def decode_records(buf: bytes) -> list:
    """The records of a `records` batch, as `Record` objects (a `BatchError` when `buf` is not
    one). A record's fields come in the batch's column order."""
    buf, rows = _header(buf, _RECORDS)
    at = 9
    ids = []
    for _ in range(rows):
        id_, at = _text(buf, at, "an id")
        ids.append(id_)
    marks, at = _column(buf, at, rows, _VALUE_TAGS)
    deleted = _bytes(buf, at, rows, b"\x00\x01", "the deleted flag")
    at += rows
    if len(buf) - at < 4:
        raise BatchError(at, f"the field count needs 4 bytes, {len(buf) - at} are left")
    count = _U32.unpack_from(buf, at)[0]
    at += 4
    if count * (4 + rows) > len(buf) - at:
        left = len(buf) - at
        raise BatchError(at - 4, f"the field count is {count}, more than {left} bytes can hold")
    records = [_t.Record(ids[row], marks[row], [], deleted[row] == 1) for row in range(rows)]
    seen = set()
    for _ in range(count):
        start = at
        name, at = _text(buf, at, "a field name")
        if name in seen:
            raise BatchError(start, f"the field `{name}` has two columns")
        seen.add(name)
        cells, at = _column(buf, at, rows, _FIELD_TAGS)
        for rec, cell in zip(records, cells):
            if cell is not None:
                rec.fields.append(_t.Field(name, cell))
    _check_end(buf, at)
    return records


# --- resource adapters ----------------------------------------------------------------------


def _create(cls: type, config: str) -> Any:
    """Constructs `cls` from the parsed configuration; every failure is `invalid-config`.

    A class that sets `OBJECT_CONFIG = False` is given any JSON value, to say itself what is
    wrong with one that is not an object."""
    try:
        return cls(parse_config(config, require_object=getattr(cls, "OBJECT_CONFIG", True)))
    except Err:
        raise
    except PluginError as exc:
        raise Err(exc.to_wit()) from None
    except Exception as exc:  # noqa: BLE001
        raise Err(_t.Error_InvalidConfig(to_error(exc).value)) from None


def transformer(cls: type) -> type:
    """Makes the exported `Transformer` resource from a class with `__init__(self, config:
    dict)` and `apply(self, value) -> value`. Each value is guarded: an exception fails that
    value alone.

    A class may define `apply_batch(self, values: list) -> list` instead (it is then the one
    called): it gets the batch's values and answers one item per value, in order: a value,
    or, for a value that failed, an exception (returned, not raised) or an `Err(error)`. An
    exception it raises fails every value of the batch.

    The batch crosses the contract as one buffer (`docs/batch.md`): the resource decodes it,
    calls the class and encodes the answers, so the class never sees the buffer."""

    class Transformer:
        def __init__(self, inner: Any):
            self.inner = inner

        @classmethod
        def create(cls_, config: str) -> "Transformer":
            return cls_(_create(cls, config))

        def apply(self, values: bytes) -> bytes:
            inner = self.inner
            batch = getattr(inner, "apply_batch", None)
            if batch is not None:
                return _apply_batch(batch, values)
            return _apply_each(inner.apply, values)

    Transformer.__doc__ = cls.__doc__
    return Transformer


def entity_function(cls: type) -> type:
    """Makes the exported `Function` resource from a class with `__init__(self, config:
    dict)` and `apply(self, entity: str, record) -> outcome` (`keep`, `stop`, `attach`)."""

    class Function:
        def __init__(self, inner: Any):
            self.inner = inner

        @classmethod
        def create(cls_, config: str) -> "Function":
            return cls_(_create(cls, config))

        def apply(self, entity: str, records: list) -> list:
            inner = self.inner
            return [_guard(lambda r=r: inner.apply(entity, r)) for r in records]

    Function.__doc__ = cls.__doc__
    return Function


def merge_policy(cls: type) -> type:
    """Makes the exported `Policy` resource from a class with `__init__(self, config: dict)`,
    `match_keys(self, record) -> list[str]` and `resolve(self, group) -> Resolution`.

    `match_keys` has no error case in WIT: an exception there gives the record no keys (it has
    no duplicates) and is logged."""

    class Policy:
        def __init__(self, inner: Any):
            self.inner = inner

        @classmethod
        def create(cls_, config: str) -> "Policy":
            return cls_(_create(cls, config))

        def match_keys(self, records: list) -> list:
            out = []
            for r in records:
                try:
                    out.append(list(self.inner.match_keys(r)))
                except Exception as exc:  # noqa: BLE001
                    log("warn", f"match_keys failed for record {r.id}: {to_error(exc).value}")
                    out.append([])
            return out

        def resolve(self, groups: list) -> list:
            inner = self.inner
            return [_guard(lambda g=g: inner.resolve(g)) for g in groups]

    Policy.__doc__ = cls.__doc__
    return Policy


def connector(cls: type) -> type:
    """Makes the exported `System` resource from a class with `__init__(self, config: dict)`,
    `describe(self)`, `read(self, request)`, `write_one(self, entity, change) -> str` and
    `webhook(self, request)`. Exceptions become error results.

    Records cross as batches (`docs/batch.md`) and the resource reads and writes them: `read`
    may answer `Page(records, more)` with a list of records; `write_one` gets each change as
    0.1.0 gave it, a `Change_Upsert(Upsert(id, fields))` (`id` None to create) or a
    `Change_Delete(id)`, and answers the external id written; `webhook` answers a list of
    `EntityChange(entity, record)`, grouped for the host into runs of one entity."""

    def unwrap(call: Callable[[], Any]) -> Any:
        try:
            return call()
        except Err:
            raise
        except Exception as exc:  # noqa: BLE001
            raise Err(to_error(exc)) from None

    class System:
        def __init__(self, inner: Any):
            self.inner = inner

        @classmethod
        def create(cls_, config: str) -> "System":
            return cls_(_create(cls, config))

        def describe(self) -> list:
            return unwrap(self.inner.describe)

        def read(self, request: Any) -> Any:
            page = unwrap(lambda: self.inner.read(request))
            page.records = unwrap(lambda: _records_batch(page.records))
            return page

        def write(self, entity: str, changes: bytes) -> bytes:
            inner = self.inner
            answers = []
            for rec in decode_records(changes):
                if rec.deleted:
                    change = Change_Delete(rec.id)
                else:
                    change = Change_Upsert(Upsert(rec.id or None, rec.fields))
                try:
                    answers.append(_external_id(inner.write_one(entity, change)))
                except Exception as exc:  # noqa: BLE001 - a change's error, for it alone
                    answers.append(exc)
            return encode_results(answers)

        def webhook(self, request: Any) -> list:
            changes = unwrap(lambda: self.inner.webhook(request))
            return unwrap(lambda: _entity_changes(changes))

    System.__doc__ = cls.__doc__
    return System


def _records_batch(records: Any) -> bytes:
    """`records` as a `records` batch: a list of records is encoded, a batch kept."""
    if isinstance(records, (bytes, bytearray, memoryview)):
        return bytes(records)
    return encode_records(records)


def _external_id(id: Any) -> Any:
    """The `text` value of the external id `write_one` answered."""
    if id.__class__ is not str:
        raise TypeError(f"write_one answers the external id written (a str), not {id!r}")
    return _t.Value_Text(id)


def _entity_changes(changes: Iterable[Any]) -> list:
    """A webhook's changes as the bindings carry them: `EntityChanges(entity, records)`, a
    records batch per run of one entity, in order. Takes `EntityChange`s (one record each)
    or `EntityChanges` whose records are a list or a batch already."""
    from wit_world.exports.external import EntityChanges

    runs: list = []  # [entity, records, whether a run of EntityChange that may grow]
    for change in changes:
        if hasattr(change, "record"):
            if runs and runs[-1][2] and runs[-1][0] == change.entity:
                runs[-1][1].append(change.record)
            else:
                runs.append([change.entity, [change.record], True])
        else:
            runs.append([change.entity, change.records, False])
    return [EntityChanges(entity, _records_batch(records)) for entity, records, _ in runs]
