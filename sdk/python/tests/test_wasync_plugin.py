"""Tests of `wasync_plugin.py` run by plain CPython, outside any component:

    python3 -m unittest discover -s sdk/python/tests

The module imports componentize-py's bindings (`wit_world`), so they are generated first from
this checkout's `wit/` (`pip install -r sdk/python/requirements.txt` provides componentize-py).
The batch layout (`docs/batch.md`) is checked against bytes written out by hand, against a
plain reference codec written here apart from the SDK's, and against damaged buffers.
`tests/languages.rs` checks the same code inside components, through the host.
"""

from __future__ import annotations

import math
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
_BINDINGS = tempfile.mkdtemp(prefix="wasync-py-bindings-")


def setUpModule() -> None:
    componentize = shutil.which("componentize-py")
    if componentize is None:
        raise RuntimeError(
            "componentize-py is not installed; install it with: "
            "pip install -r sdk/python/requirements.txt"
        )
    subprocess.run(
        # The connector world's bindings: `types` as every world has it, and `external`.
        [componentize, "-d", str(REPO / "wit"), "-w", "connector", "bindings", _BINDINGS],
        check=True,
        capture_output=True,
    )
    sys.path[:0] = [_BINDINGS, str(REPO / "sdk" / "python")]
    global w, t, x, Err, Ok
    import wasync_plugin as w
    from componentize_py_types import Err, Ok
    from wit_world.exports import external as x
    from wit_world.imports import types as t


def tearDownModule() -> None:
    shutil.rmtree(_BINDINGS, ignore_errors=True)


# --- a reference codec, as plain as the layout's description --------------------------------


def ref_value(v) -> tuple[int, bytes]:
    """(tag, payload) of a value."""
    text = lambda s: struct.pack("<I", len(s.encode())) + s.encode()  # noqa: E731
    return {
        t.Value_Null: lambda: (1, b""),
        t.Value_Boolean: lambda: (2, bytes([v.value])),
        t.Value_Integer: lambda: (3, struct.pack("<q", v.value)),
        t.Value_Float: lambda: (4, struct.pack("<d", v.value)),
        t.Value_Text: lambda: (5, text(v.value)),
        t.Value_Timestamp: lambda: (6, struct.pack("<q", v.value)),
        t.Value_Json: lambda: (7, text(v.value)),
    }[type(v)]()


def ref_column(values) -> bytes:
    parts = [ref_value(v) for v in values]
    return bytes(tag for tag, _ in parts) + b"".join(p for _, p in parts)


def ref_values(values) -> bytes:
    return b"WSB1" + bytes([1]) + struct.pack("<I", len(values)) + ref_column(values)


def ref_results(rows) -> bytes:
    """`rows`: a value, or (kind, message) for an error."""
    status = bytes(4 if isinstance(r, tuple) else 0 for r in rows)
    ok = ref_column([r for r in rows if not isinstance(r, tuple)])
    errors = b"".join(
        bytes([kind]) + struct.pack("<I", len(m.encode())) + m.encode()
        for kind, m in (r for r in rows if isinstance(r, tuple))
    )
    return b"WSB1" + bytes([2]) + struct.pack("<I", len(rows)) + status + errors + ok


def samples():
    return [
        w.null(),
        w.boolean(True),
        w.boolean(False),
        w.integer(-42),
        w.integer(2**63 - 1),
        w.float_(2.5),
        w.float_(-0.0),
        w.text("Acme, Inc."),
        w.text(""),
        w.text("食狮.com.cn"),
        w.text("x" * 70_000),
        w.timestamp(1_700_000_000_000_000),
        w.json_value({"a": [1, 2]}),
    ]


def transformer_of(apply=None, apply_batch=None, config="{}"):
    """The exported resource for a class with this `apply` (and `apply_batch`)."""
    body = {"__init__": lambda self, config: None}
    if apply is not None:
        body["apply"] = lambda self, value: apply(value)
    if apply_batch is not None:
        body["apply_batch"] = lambda self, values: apply_batch(values)
    return w.transformer(type("T", (), body)).create(config)


# --- tests --------------------------------------------------------------------------------


class Values(unittest.TestCase):
    def test_the_example_of_the_layout_reads_back(self):
        buf = bytes.fromhex(
            "57534231 01 03000000 050103 08000000 61636d652e636f6d 0700000000000000"
        )
        self.assertEqual(
            w.decode_values(buf), [w.text("acme.com"), w.null(), w.integer(7)]
        )

    def test_every_kind_of_value_reads_back_as_the_bindings_objects(self):
        values = samples()
        decoded = w.decode_values(ref_values(values))
        self.assertEqual(decoded, values)
        self.assertEqual([type(v) for v in decoded], [type(v) for v in values])
        self.assertEqual(math.copysign(1, decoded[6].value), -1)

    def test_an_empty_batch(self):
        self.assertEqual(w.decode_values(ref_values([])), [])

    def test_a_bytes_like_buffer_reads_as_bytes(self):
        buf = ref_values(samples())
        self.assertEqual(w.decode_values(bytearray(buf)), samples())
        self.assertEqual(w.decode_values(memoryview(buf)), samples())


class Refused(unittest.TestCase):
    def refused(self, buf, at, says):
        with self.assertRaises(w.BatchError) as caught:
            w.decode_values(buf)
        self.assertEqual(caught.exception.at, at, str(caught.exception))
        self.assertIn(says, str(caught.exception))
        with self.assertRaises(w.BatchError):
            transformer_of(apply=lambda v: v).apply(buf)

    def test_header(self):
        good = ref_values([w.text("a")])
        self.refused(b"", 0, "9 bytes")
        self.refused(b"WSB2" + good[4:], 0, "WSB1")
        self.refused(good[:4] + b"\x02" + good[5:], 4, "expected kind 1")
        self.refused(good[:5] + struct.pack("<I", 1000) + good[9:], 5, "row count is 1000")

    def test_tags_and_booleans(self):
        self.refused(ref_values([w.null()])[:9] + b"\x00", 9, "the tag of row 0 is 0")
        self.refused(ref_values([w.null(), w.null()])[:10] + b"\x08", 10, "the tag of row 1 is 8")
        self.refused(ref_values([w.boolean(True)])[:-1] + b"\x02", 10, "a boolean is 2")

    def test_lengths_and_ends(self):
        buf = ref_values([w.text("abc"), w.integer(1)])
        self.refused(buf + b"\x00", len(buf), "1 bytes follow")
        self.refused(buf[:-1], 18, "the value of row 1 runs past the end")
        text = ref_values([w.text("abc")])
        self.refused(text[:-1], len(text) - 1, "needs 1 bytes more")
        long = text[:10] + struct.pack("<I", 2**32 - 1) + text[14:]
        self.refused(long, len(long), "bytes more")

    def test_text_that_is_not_utf8_is_refused_where_it_goes_wrong(self):
        buf = bytearray(ref_values([w.text("ab"), w.text("cdé")]))
        buf[-1] = 0xFF
        self.refused(bytes(buf), len(buf) - 2, "row 1 is not UTF-8")
        surrogate = ref_values([w.text("a")])[:-5] + struct.pack("<I", 3) + b"\xed\xa0\x80"
        self.refused(surrogate, 14, "not UTF-8")

    def test_damaged_buffers_are_refused_or_read_back_to_the_same_bytes(self):
        """As `sdk/batch`'s fuzz test: flipped bits, lengths set to 0, 1, 2^32-1 and off by
        one, cut and grown tails. Only `BatchError` may escape."""
        rng = random.Random(0x5EED)
        mixed = ref_values(samples()[:10] + [w.text("tail")])
        ascii = ref_values(
            [w.null(), w.boolean(True), w.integer(7), w.text("Acme, Inc."), w.text(""),
             w.timestamp(100), w.json_value({"a": 1}), w.text("tail")]
        )
        self.assertTrue(ascii.isascii())  # read through the one-text path
        for round in range(6000):
            good = mixed if round % 2 else ascii
            buf = bytearray(good)
            for _ in range(rng.randint(1, 3)):
                at = rng.randrange(len(buf)) if buf else 0
                how = rng.randrange(4)
                if how == 0 and buf:
                    buf[at] ^= 1 << rng.randrange(8)
                elif how == 1 and at + 4 <= len(buf):
                    n = struct.unpack_from("<I", buf, at)[0]
                    new = rng.choice([0, 1, 2**32 - 1, n - 1, n + 1]) % 2**32
                    buf[at : at + 4] = struct.pack("<I", new)
                elif how == 2:
                    del buf[at:]
                else:
                    buf += bytes(rng.randrange(1, 4))
            try:
                values = w.decode_values(bytes(buf))
            except w.BatchError:
                continue
            self.assertEqual(ref_values(values), bytes(buf))


class Results(unittest.TestCase):
    def test_results_are_written_in_the_layout(self):
        def apply(v):
            if w.as_text(v) == "bad":
                raise ValueError("no")
            return v

        out = transformer_of(apply=apply).apply(
            ref_values([w.text("acme.com"), w.text("bad"), w.integer(7)])
        )
        self.assertEqual(
            out.hex(" "),
            "57 53 42 31 02 03 00 00 00"  # header: results, 3 rows
            " 00 04 00"  # statuses: ok, error, ok
            " 07 0e 00 00 00 56 61 6c 75 65 45 72 72 6f 72 3a 20 6e 6f"  # other, "ValueError: no"
            " 05 03 08 00 00 00 61 63 6d 65 2e 63 6f 6d 07 00 00 00 00 00 00 00",  # ok values
        )

    def test_every_kind_of_value_is_written_back(self):
        values = samples()
        out = transformer_of(apply=lambda v: v).apply(ref_values(values))
        self.assertEqual(out, ref_results(values))

    def test_a_transform_making_new_values_with_the_helpers(self):
        def apply(v):
            s = w.as_text(v)
            return w.null() if s is None else w.text(s.upper() + "é" * 100)

        values = [w.text("a"), w.integer(1), w.text("b" * 300)]
        self.assertEqual(
            transformer_of(apply=apply).apply(ref_values(values)),
            ref_results([w.text("A" + "é" * 100), w.null(), w.text("B" * 300 + "é" * 100)]),
        )

    def test_exceptions_fail_their_rows_with_their_kinds(self):
        cases = [
            (w.InvalidConfig("c"), (0, "c")),
            (w.InvalidInput("i"), (1, "i")),
            (Err(t.Error_AccessDenied("a")), (2, "a")),
            (w.NotFound("n"), (3, "n")),
            (Err(t.Error_Unauthorized("u")), (4, "u")),
            (Err(t.Error_RateLimited("r")), (5, "r")),
            (w.Unavailable("later"), (6, "later")),
            (w.Other("o"), (7, "o")),
            (KeyError("k"), (7, "KeyError: 'k'")),
            (RuntimeError(), (7, "RuntimeError")),
            (Err("not a WIT error"), (7, "not a WIT error")),
            (ValueError("\udcff"), (7, "ValueError: ?")),
        ]

        def apply(v):
            if v.value == len(cases):
                return w.text("fine")
            raise cases[v.value][0]

        inputs = [w.integer(i) for i in range(len(cases) + 1)]
        self.assertEqual(
            transformer_of(apply=apply).apply(ref_values(inputs)),
            ref_results([expected for _, expected in cases] + [w.text("fine")]),
        )

    def test_an_answer_that_cannot_be_written_fails_its_row_alone(self):
        answers = {0: "not a value", 1: t.Value_Integer(2**63), 2: t.Value_Text(5), 3: w.text("ok")}
        out = transformer_of(apply=lambda v: answers[v.value]).apply(
            ref_values([w.integer(i) for i in range(4)])
        )
        self.assertEqual(
            out,
            ref_results(
                [
                    (7, "TypeError: expected a value (text(...), null(), ...), got str"),
                    (7, "OverflowError: 9223372036854775808 is not a 64-bit integer"),
                    (7, "AttributeError: 'int' object has no attribute 'encode'"),
                    w.text("ok"),
                ]
            ),
        )

    def test_an_empty_batch_answers_an_empty_batch(self):
        self.assertEqual(transformer_of(apply=lambda v: v).apply(ref_values([])), ref_results([]))


class ApplyBatch(unittest.TestCase):
    def test_its_answers_and_failures_are_rows(self):
        def apply_batch(values):
            return [w.text("a"), Ok(w.null()), w.InvalidInput("bad"), Err(t.Error_NotFound("gone"))]

        out = transformer_of(apply_batch=apply_batch).apply(ref_values([w.null()] * 4))
        self.assertEqual(
            out, ref_results([w.text("a"), w.null(), (1, "bad"), (3, "gone")])
        )

    def test_it_is_called_with_the_decoded_values(self):
        seen = []
        transformer_of(apply=lambda v: v, apply_batch=lambda vs: seen.extend(vs) or vs).apply(
            ref_values(samples())
        )
        self.assertEqual(seen, samples())

    def test_an_exception_it_raises_fails_every_row(self):
        def apply_batch(values):
            raise w.Unavailable("down")

        out = transformer_of(apply_batch=apply_batch).apply(ref_values([w.null()] * 2))
        self.assertEqual(out, ref_results([(6, "down"), (6, "down")]))

    def test_a_wrong_number_of_answers_fails_the_call(self):
        with self.assertRaisesRegex(RuntimeError, "answered 1 results for 2 values"):
            transformer_of(apply_batch=lambda vs: vs[:1]).apply(ref_values([w.null()] * 2))


def rec(id, watermark=None, fields=(), deleted=False):
    return t.Record(id, watermark or w.null(), [t.Field(n, v) for n, v in fields], deleted)


class Records(unittest.TestCase):
    def test_records_are_written_in_the_layout(self):
        records = [
            rec("1", w.integer(5), [("Name", w.text("A")), ("Type", w.text("x"))]),
            rec("2", fields=[("Type", w.null())], deleted=True),
        ]
        self.assertEqual(
            w.encode_records(records).hex(" "),
            "57 53 42 31 03 02 00 00 00"  # header: records, 2 rows
            " 01 00 00 00 31 01 00 00 00 32"  # ids "1", "2"
            " 03 01 05 00 00 00 00 00 00 00"  # watermarks: 5, null
            " 00 01"  # deleted
            " 02 00 00 00"  # 2 field columns
            " 04 00 00 00 4e 61 6d 65 05 00 01 00 00 00 41"  # Name: "A", absent
            " 04 00 00 00 54 79 70 65 05 01 01 00 00 00 78",  # Type: "x", null
        )
        self.assertEqual(w.decode_records(w.encode_records(records)), records)

    def test_fields_read_back_in_column_order_and_a_repeated_field_keeps_its_first(self):
        records = [
            rec("a", fields=[("B", w.integer(1)), ("A", w.text("x")), ("B", w.integer(2))]),
            rec("b", fields=[("A", w.json_value([1])), ("C", w.boolean(False))]),
            rec("c", w.timestamp(7)),
        ]
        self.assertEqual(
            w.decode_records(w.encode_records(records)),
            [
                rec("a", fields=[("B", w.integer(1)), ("A", w.text("x"))]),
                rec("b", fields=[("A", w.json_value([1])), ("C", w.boolean(False))]),
                rec("c", w.timestamp(7)),
            ],
        )
        self.assertEqual(w.decode_records(w.encode_records([])), [])

    def test_refused(self):
        good = w.encode_records([rec("1", fields=[("A", w.null())])])
        cases = [
            (ref_values([w.null()]), 4, "expected kind 3 (records)"),
            (good[:14] + b"\x00" + good[15:], 14, "the tag of row 0 is 0"),  # absent watermark
            (good[:15] + b"\x02" + good[16:], 15, "the deleted flag of row 0 is 2"),
            (good[:16] + struct.pack("<I", 9) + good[20:], 16, "the field count is 9"),
            (good[:-1], 25, "the tag needs 1 bytes, 0 are left"),
            (good + b"\x00", 26, "1 bytes follow the end"),
        ]
        two = w.encode_records([rec("1", fields=[("A", w.null()), ("B", w.null())])])
        cases.append((two[:30] + b"A" + two[31:], 26, "the field `A` has two columns"))
        for buf, at, says in cases:
            with self.assertRaises(w.BatchError) as caught:
                w.decode_records(buf)
            self.assertEqual(caught.exception.at, at, str(caught.exception))
            self.assertIn(says, str(caught.exception))

    def test_damaged_records_are_refused_or_read_back_to_the_same_records(self):
        rng = random.Random(0xC0DE)
        good = w.encode_records(
            [
                rec("1", w.integer(5), [("Name", w.text("Acme")), ("Type", w.text("x"))]),
                rec("", fields=[("Type", w.null()), ("N", w.float_(1.5))], deleted=True),
            ]
        )
        for _ in range(3000):
            buf = bytearray(good)
            at = rng.randrange(len(buf))
            if rng.randrange(2):
                buf[at] ^= 1 << rng.randrange(8)
            else:
                del buf[at:]
            try:
                records = w.decode_records(bytes(buf))
            except w.BatchError:
                continue
            again = w.encode_records(records)  # bytes: a damaged float may be a NaN
            self.assertEqual(w.encode_records(w.decode_records(again)), again)


class Connector(unittest.TestCase):
    def system(self, **methods):
        body = {"__init__": lambda self, config: None}
        body.update({name: (lambda f: lambda self, *a: f(*a))(f) for name, f in methods.items()})
        return w.connector(type("S", (), body)).create("{}")

    def test_a_page_of_records_is_sent_as_a_batch(self):
        records = [rec("1", w.integer(1), [("A", w.text("a"))])]
        page = self.system(read=lambda request: x.Page(records, True)).read(
            x.ReadRequest("items", None, None, 10)
        )
        self.assertEqual(page, x.Page(w.encode_records(records), True))

    def test_a_read_that_raises_is_its_error(self):
        with self.assertRaises(Err) as caught:
            self.system(read=lambda request: 1 / 0).read(x.ReadRequest("items", None, None, 10))
        self.assertEqual(caught.exception.value, t.Error_Other("ZeroDivisionError: division by zero"))

    def test_each_change_is_written_as_0_1_gave_it_and_answers_its_id_or_error(self):
        seen = []

        def write_one(entity, change):
            seen.append((entity, change))
            if isinstance(change, w.Change_Delete):
                raise w.NotFound(f"no {change.value}")
            if change.value.id is None:
                return "new-1"
            return 7

        changes = w.encode_records(
            [
                rec("", fields=[("Name", w.text("A"))]),
                rec("9", deleted=True),
                rec("3", fields=[("Name", w.text("B"))]),
            ]
        )
        out = self.system(write_one=write_one).write("items", changes)
        self.assertEqual(
            seen,
            [
                ("items", w.Change_Upsert(w.Upsert(None, [t.Field("Name", w.text("A"))]))),
                ("items", w.Change_Delete("9")),
                ("items", w.Change_Upsert(w.Upsert("3", [t.Field("Name", w.text("B"))]))),
            ],
        )
        self.assertEqual(
            out,
            ref_results(
                [
                    w.text("new-1"),
                    (3, "no 9"),
                    (7, "TypeError: write_one answers the external id written (a str), not 7"),
                ]
            ),
        )

    def test_webhook_changes_go_as_runs_of_one_entity(self):
        a1, a2, b1, a3 = (rec(i) for i in "1234")
        changes = [
            w.EntityChange("a", a1),
            w.EntityChange("a", a2),
            w.EntityChange("b", b1),
            w.EntityChange("a", a3),
            x.EntityChanges("c", [a1]),
        ]
        out = self.system(webhook=lambda request: changes).webhook(
            x.WebhookRequest("POST", "/", [], b"")
        )
        self.assertEqual(
            out,
            [
                x.EntityChanges("a", w.encode_records([a1, a2])),
                x.EntityChanges("b", w.encode_records([b1])),
                x.EntityChanges("a", w.encode_records([a3])),
                x.EntityChanges("c", w.encode_records([a1])),
            ],
        )


class Create(unittest.TestCase):
    def test_a_refused_configuration_is_invalid_config(self):
        class T:
            def __init__(self, config):
                raise ValueError("bad setting")

        with self.assertRaises(Err) as caught:
            w.transformer(T).create("{}")
        self.assertEqual(caught.exception.value, t.Error_InvalidConfig("ValueError: bad setting"))


if __name__ == "__main__":
    unittest.main()
