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
    value alone. A class may instead define `apply_batch(self, values) -> list` itself."""

    class Transformer:
        def __init__(self, inner: Any):
            self.inner = inner

        @classmethod
        def create(cls_, config: str) -> "Transformer":
            return cls_(_create(cls, config))

        def apply(self, values: list) -> list:
            inner = self.inner
            return [_guard(lambda v=v: inner.apply(v)) for v in values]

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
    `webhook(self, request)`. Exceptions become error results."""

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
            return unwrap(lambda: self.inner.read(request))

        def write(self, entity: str, changes: list) -> list:
            inner = self.inner
            return [_guard(lambda c=c: inner.write_one(entity, c)) for c in changes]

        def webhook(self, request: Any) -> list:
            return unwrap(lambda: self.inner.webhook(request))

    System.__doc__ = cls.__doc__
    return System
