"""Conditions of the `filter` entity function: parsed once from the configuration, evaluated
per record, explained when a record stops.

A port of `plugins/filter/src/condition.rs`; the twin must give the same outcomes and the same
reasons, so JSON is handled as serde_json does it: object keys in sorted order, numbers that
keep whether they were whole, compact output.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, Optional

from wasync_plugin import InvalidConfig, Record, get
from wit_world.imports import types as t

TESTS = ["equals", "not_equals", "in", "not_in", "is_empty", "contains"]
GROUPS = ["all", "any", "not"]
# Longest shown value in a reason, in characters.
LONGEST = 60
_I64 = range(-(2**63), 2**63)


def _quoted(names: list[str]) -> str:
    return ", ".join(f"`{n}`" for n in names)


def dumps(obj: Any) -> str:
    """serde_json's compact form: sorted keys, no spaces, non-ASCII kept."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, sort_keys=True)


def fold(text: str, ignore_case: bool) -> str:
    """Text as compared: trimmed and lowercased when case is ignored, else as it is."""
    return text.strip().lower() if ignore_case else text


def json_equal(a: Any, b: Any) -> bool:
    """Equality of parsed JSON by type, as serde_json's `Value`: `true` is not `1`, `1` is
    not `1.0`."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    return a == b


class Condition:
    """A condition on a record's fields: a field test, `all`, `any` or `not`."""

    def __init__(self, kind: str, field: str = "", test: Optional[Test] = None,
                 parts: Optional[list[Condition]] = None):
        self.kind = kind
        self.field = field
        self.test = test
        self.parts = parts or []

    @staticmethod
    def parse(obj: Any, path: str, ignore_case: bool) -> Condition:
        if not isinstance(obj, dict):
            raise InvalidConfig(
                f'{path}: a condition must be an object, like {{"field": "Type", "equals": "Customer"}}'
            )
        group = next((k for k in sorted(obj) if k in GROUPS), None)
        if group is not None:
            return Condition._parse_group(obj, group, path, ignore_case)
        return Condition._parse_field(obj, path, ignore_case)

    @staticmethod
    def _parse_group(obj: dict, group: str, path: str, ignore_case: bool) -> Condition:
        if len(obj) != 1:
            raise InvalidConfig(f"{path}: `{group}` must stand alone in its object")
        inner = obj[group]
        path = f"{path}.{group}"
        if group == "not":
            return Condition("not", parts=[Condition.parse(inner, path, ignore_case)])
        if not isinstance(inner, list) or not inner:
            raise InvalidConfig(f"{path}: list at least one condition")
        parts = [Condition.parse(c, f"{path}[{i}]", ignore_case) for i, c in enumerate(inner)]
        return Condition(group, parts=parts)

    @staticmethod
    def _parse_field(obj: dict, path: str, ignore_case: bool) -> Condition:
        keys = sorted(obj)
        unknown = next((k for k in keys if k != "field" and k not in TESTS), None)
        if unknown is not None:
            raise InvalidConfig(
                f"{path}: unknown key `{unknown}` (expected `field` with one of "
                f"{_quoted(TESTS)}, or one of {_quoted(GROUPS)})"
            )
        field = obj.get("field")
        if not isinstance(field, str) or not field.strip():
            raise InvalidConfig(f"{path}: `field` must name a field")
        tests = [k for k in keys if k != "field"]
        if not tests:
            raise InvalidConfig(f"{path}: give one test of `{field}`: {_quoted(TESTS)}")
        if len(tests) > 1:
            raise InvalidConfig(f"{path}: give only one test of `{field}`")
        try:
            test = Test.parse(tests[0], obj[tests[0]], ignore_case)
        except InvalidConfig as exc:
            raise InvalidConfig(f"{path}: {exc.message}") from None
        return Condition("field", field=field, test=test)

    def holds(self, rec: Record) -> bool:
        if self.kind == "field":
            return self.test.holds(get(rec, self.field))
        if self.kind == "all":
            return all(c.holds(rec) for c in self.parts)
        if self.kind == "any":
            return any(c.holds(rec) for c in self.parts)
        return not self.parts[0].holds(rec)

    def explain(self, rec: Record, holds: bool) -> str:
        """Why the condition does (`holds`) or does not hold, by the parts that decided it."""
        if self.kind == "field":
            return self.test.explain(self.field, get(rec, self.field), holds)
        if self.kind == "not":
            return self.parts[0].explain(rec, not holds)
        if (self.kind == "all" and holds) or (self.kind == "any" and not holds):
            return " and ".join(c.explain(rec, holds) for c in self.parts)
        decider = next((c for c in self.parts if c.holds(rec) == holds), None)
        return "" if decider is None else decider.explain(rec, holds)


class Expected:
    """A configured value, prepared for comparison."""

    def __init__(self, obj: Any, ignore_case: bool):
        self.json = obj
        self.text = fold(obj, ignore_case) if isinstance(obj, str) else None
        self.ignore_case = ignore_case

    def matches(self, value: Any) -> bool:
        e = self.json
        is_number = isinstance(e, (int, float)) and not isinstance(e, bool)
        if isinstance(value, t.Value_Null):
            return e is None
        if isinstance(value, t.Value_Boolean):
            return isinstance(e, bool) and value.value == e
        if isinstance(value, t.Value_Text):
            if not isinstance(e, str):
                return False
            if not self.ignore_case:
                return value.value == e
            return self.text == fold(value.value, True)
        if isinstance(value, t.Value_Integer):
            if not is_number:
                return False
            if isinstance(e, int) and e in _I64:
                return value.value == e
            return float(e) == float(value.value)
        if isinstance(value, t.Value_Float):
            return is_number and float(e) == value.value
        if isinstance(value, t.Value_Timestamp):
            return isinstance(e, int) and not isinstance(e, bool) and e in _I64 and e == value.value
        if isinstance(value, t.Value_Json):
            if not isinstance(e, (list, dict)):
                return False
            try:
                return json_equal(json.loads(value.value), e)
            except ValueError:
                return False
        return False

    def shown(self) -> str:
        return dumps(self.json)


class Test:
    """A test of one field's value."""

    def __init__(self, name: str, expected: Any):
        self.name = name
        self.expected = expected

    @staticmethod
    def parse(name: str, obj: Any, ignore_case: bool) -> Test:
        if name in ("equals", "not_equals"):
            return Test(name, Expected(obj, ignore_case))
        if name in ("in", "not_in"):
            if not isinstance(obj, list):
                raise InvalidConfig(f"`{name}` must be a list of values")
            if not obj:
                raise InvalidConfig(f"`{name}` must list at least one value")
            return Test(name, [Expected(v, ignore_case) for v in obj])
        if name == "is_empty":
            if not isinstance(obj, bool):
                raise InvalidConfig("`is_empty` must be true or false")
            return Test(name, obj)
        if not isinstance(obj, str) or obj == "":
            raise InvalidConfig("`contains` must be non-empty text")
        return Test(name, (obj, fold(obj, ignore_case), ignore_case))

    def holds(self, value: Optional[Any]) -> bool:
        v = t.Value_Null() if value is None else value
        if self.name == "equals":
            return self.expected.matches(v)
        if self.name == "not_equals":
            return not self.expected.matches(v)
        if self.name == "in":
            return any(e.matches(v) for e in self.expected)
        if self.name == "not_in":
            return not any(e.matches(v) for e in self.expected)
        if self.name == "is_empty":
            empty = isinstance(v, t.Value_Null) or (
                isinstance(v, t.Value_Text) and v.value.strip() == ""
            )
            return empty == self.expected
        _, needle, ignore_case = self.expected
        if not isinstance(v, t.Value_Text):
            return False
        return needle in fold(v.value, ignore_case)

    def explain(self, field: str, value: Optional[Any], holds: bool) -> str:
        is_ = f"{field} is {shown(value)}"
        positive = (not holds) if self.name in ("not_equals", "not_in") else holds
        if self.name in ("equals", "not_equals"):
            return is_ if positive else f"{is_}, not {self.expected.shown()}"
        if self.name in ("in", "not_in"):
            items = "[" + ", ".join(e.shown() for e in self.expected) + "]"
            return f"{is_}, one of {items}" if positive else f"{is_}, not one of {items}"
        if self.name == "is_empty":
            if self.expected == positive:
                return f"{field} is missing (empty)" if value is None else f"{field} is empty"
            return f"{is_}, not empty"
        needle = dumps(self.expected[0])
        if positive:
            return f"{is_}, which contains {needle}"
        return f"{is_}, which does not contain {needle}"


def _float_text(x: float) -> str:
    """A float as Rust's `Display` writes it: no exponent, no `.0` on whole numbers."""
    if x != x:
        return "NaN"
    if x in (float("inf"), float("-inf")):
        return "inf" if x > 0 else "-inf"
    if x.is_integer():
        return str(int(x))
    return format(Decimal(repr(x)), "f")


def shown(value: Optional[Any]) -> str:
    """A field's value in a reason: JSON-like, long text cut short."""
    if value is None:
        return "missing"
    if isinstance(value, t.Value_Null):
        text = "null"
    elif isinstance(value, t.Value_Boolean):
        text = "true" if value.value else "false"
    elif isinstance(value, t.Value_Integer):
        text = str(value.value)
    elif isinstance(value, t.Value_Float):
        text = _float_text(value.value)
    elif isinstance(value, t.Value_Timestamp):
        text = f"the timestamp {value.value}"
    elif isinstance(value, t.Value_Text):
        text = dumps(value.value)
    else:
        text = value.value
    if len(text) > LONGEST:
        return text[:LONGEST] + "…"
    return text
