use super::*;

fn sample_values() -> Vec<ValueRef<'static>> {
    vec![
        ValueRef::Null,
        ValueRef::Boolean(true),
        ValueRef::Boolean(false),
        ValueRef::Integer(-42),
        ValueRef::Float(2.5),
        ValueRef::Text("Acme, Inc."),
        ValueRef::Text(""),
        ValueRef::Timestamp(1_700_000_000_000_000),
        ValueRef::Json(r#"{"a":[1,2]}"#),
        ValueRef::Text("Zürich ✓"),
    ]
}

/// A record as the tests keep one.
struct Rec<'a> {
    id: &'a str,
    watermark: ValueRef<'a>,
    deleted: bool,
    fields: Vec<(&'a str, ValueRef<'a>)>,
}

impl EncodeRecord for Rec<'_> {
    fn id(&self) -> &str {
        self.id
    }
    fn watermark(&self) -> ValueRef<'_> {
        self.watermark
    }
    fn deleted(&self) -> bool {
        self.deleted
    }
    fn field_count(&self) -> usize {
        self.fields.len()
    }
    fn field(&self, i: usize) -> (&str, ValueRef<'_>) {
        self.fields[i]
    }
}

type Row<'a> = Result<ValueRef<'a>, (ErrorKind, &'a str)>;

fn results(rows: Vec<Row<'_>>) -> Vec<u8> {
    encode_results(rows, |v| *v, |&(kind, message)| (kind, message))
}

fn sample_results() -> Vec<u8> {
    results(vec![
        Ok(ValueRef::Text("acme.com")),
        Err((ErrorKind::InvalidInput, "not a host name")),
        Ok(ValueRef::Null),
        Err((ErrorKind::Other, "")),
    ])
}

fn sample_records() -> Vec<u8> {
    encode_records(&[
        Rec {
            id: "001A",
            watermark: ValueRef::Timestamp(10),
            deleted: false,
            fields: vec![
                ("Name", ValueRef::Text("Acme")),
                ("Employees", ValueRef::Integer(5)),
            ],
        },
        // Other fields, in another order, one named twice.
        Rec {
            id: "001B",
            watermark: ValueRef::Timestamp(11),
            deleted: false,
            fields: vec![
                ("Website", ValueRef::Text("acme.com")),
                ("Name", ValueRef::Null),
                ("Name", ValueRef::Text("ignored")),
            ],
        },
        Rec {
            id: "001C",
            watermark: ValueRef::Null,
            deleted: true,
            fields: vec![],
        },
    ])
}

#[test]
fn values_round_trip() {
    let values = sample_values();
    let buf = encode_values(values.iter().copied());
    assert_eq!(decode_values(&buf), Ok(values.clone()));
    assert_eq!(decode_values(&encode_values([])), Ok(vec![]));

    let mut reused = vec![1, 2, 3];
    encode_values_into(values.iter().copied(), &mut reused);
    assert_eq!(reused, buf, "into a buffer, the same bytes");
}

#[test]
fn results_round_trip_with_errors_in_their_rows() {
    let buf = sample_results();
    let results = decode_results(&buf).expect("decodes");
    assert_eq!(
        results,
        vec![
            Ok(ValueRef::Text("acme.com")),
            Err(ErrorRef {
                kind: ErrorKind::InvalidInput,
                message: "not a host name"
            }),
            Ok(ValueRef::Null),
            Err(ErrorRef {
                kind: ErrorKind::Other,
                message: ""
            }),
        ]
    );
}

#[test]
fn records_round_trip_with_absent_fields() {
    let buf = sample_records();
    let records = decode_records(&buf).expect("decodes");
    assert_eq!(records.ids, ["001A", "001B", "001C"]);
    assert_eq!(records.deleted, [false, false, true]);
    assert_eq!(
        records.watermarks,
        [
            ValueRef::Timestamp(10),
            ValueRef::Timestamp(11),
            ValueRef::Null
        ]
    );
    let fields = |row| records.fields(row).collect::<Vec<_>>();
    assert_eq!(
        fields(0),
        [
            ("Name", ValueRef::Text("Acme")),
            ("Employees", ValueRef::Integer(5))
        ]
    );
    assert_eq!(
        fields(1),
        [
            ("Name", ValueRef::Null),
            ("Website", ValueRef::Text("acme.com"))
        ]
    );
    assert_eq!(fields(2), []);
}

#[test]
fn a_wrong_kind_names_both_kinds() {
    let err = decode_values(&sample_results()).expect_err("a results buffer");
    assert_eq!(err.at, 4);
    assert!(err.what.contains("expected kind 1"), "{err}");
}

#[test]
fn a_row_count_past_the_buffer_is_refused_before_allocating() {
    let mut buf = encode_values([ValueRef::Null]);
    buf[5..9].copy_from_slice(&u32::MAX.to_le_bytes());
    let err = decode_values(&buf).expect_err("too many rows");
    assert!(err.what.contains("row count"), "{err}");
}

#[test]
fn text_that_is_not_utf8_is_refused_where_it_goes_wrong() {
    let mut buf = encode_values([ValueRef::Text("abc")]);
    let last = buf.len() - 1;
    buf[last] = 0xff;
    let err = decode_values(&buf).expect_err("not UTF-8");
    assert_eq!(err.at, last);
    assert!(err.what.contains("UTF-8"), "{err}");
}

#[test]
fn trailing_bytes_and_truncation_are_refused() {
    let mut buf = sample_results();
    buf.push(0);
    assert!(decode_results(&buf).is_err());
    buf.pop();
    for len in 0..buf.len() {
        assert!(decode_results(&buf[..len]).is_err(), "cut at {len}");
    }
}

#[test]
fn a_field_with_two_columns_is_refused() {
    let mut buf = encode_records(&[Rec {
        id: "1",
        watermark: ValueRef::Null,
        deleted: false,
        fields: vec![("a", ValueRef::Null), ("b", ValueRef::Null)],
    }]);
    // Rename column `b` to `a`: its name is the last text but one byte of tag.
    let at = buf.len() - 2;
    assert_eq!(buf[at], b'b');
    buf[at] = b'a';
    let err = decode_records(&buf).expect_err("duplicate column");
    assert!(err.what.contains("two columns"), "{err}");
}

#[test]
fn a_results_batch_is_exactly_as_long_as_its_parts() {
    let buf = sample_results();
    // Header, four statuses, two errors (kind, length, text), two tags, one text.
    assert_eq!(buf.len(), 9 + 4 + (1 + 4 + 15) + (1 + 4) + 2 + (4 + 8));
    assert_eq!(
        buf.capacity(),
        buf.len(),
        "one allocation of the exact size"
    );
    let records = sample_records();
    assert_eq!(
        records.capacity(),
        records.len(),
        "one allocation of the exact size"
    );
}

/// xorshift64*: a seeded, replayable source of mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Damages `buf` the ways a hostile or buggy plugin would: flipped bytes, lengths and counts
/// set to large or off-by-one values, cut or grown tails.
fn mutate(rng: &mut Rng, buf: &mut Vec<u8>) {
    for _ in 0..1 + rng.below(3) {
        match rng.below(5) {
            0 if !buf.is_empty() => {
                let at = rng.below(buf.len());
                buf[at] ^= 1 << rng.below(8);
            }
            1 if buf.len() >= 4 => {
                let at = rng.below(buf.len() - 3);
                let word = match rng.below(4) {
                    0 => u32::MAX,
                    1 => 0,
                    2 => u32::from_le_bytes([buf[at], buf[at + 1], buf[at + 2], buf[at + 3]])
                        .wrapping_add(1),
                    _ => rng.next() as u32,
                };
                buf[at..at + 4].copy_from_slice(&word.to_le_bytes());
            }
            2 => buf.truncate(rng.below(buf.len() + 1)),
            3 => buf.push(rng.next() as u8),
            _ if !buf.is_empty() => {
                let at = rng.below(buf.len());
                buf[at] = rng.below(9) as u8;
            }
            _ => {}
        }
    }
}

/// The decoders never panic on a damaged buffer, and what they accept encodes back to the
/// same bytes (values, results) or to the same records.
#[test]
fn damaged_buffers_are_refused_or_decoded_never_a_panic() {
    let seed = std::env::var("WASYNC_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_ba7c_u64);
    let rounds: usize = std::env::var("WASYNC_FUZZ_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30_000);
    let mut rng = Rng(seed | 1);
    let seeds = [
        encode_values(sample_values()),
        sample_results(),
        sample_records(),
    ];
    let mut accepted = 0;
    for _ in 0..rounds {
        let mut buf = seeds[rng.below(seeds.len())].clone();
        mutate(&mut rng, &mut buf);
        if let Ok(values) = decode_values(&buf) {
            accepted += 1;
            // The layout is canonical: what decodes encodes back to the same bytes (and
            // a NaN, which equals nothing, is compared by its bits).
            assert_eq!(encode_values(values.iter().copied()), buf, "seed {seed}");
        }
        if let Ok(results) = decode_results(&buf) {
            accepted += 1;
            // Only an error kind this layout does not know changes (to `other`).
            let again = encode_again(&results);
            assert_eq!(again.len(), buf.len(), "seed {seed}");
            let results = decode_results(&again).expect("re-encoded results decode");
            assert_eq!(encode_again(&results), again, "seed {seed}");
        }
        if let Ok(records) = decode_records(&buf) {
            accepted += 1;
            let rows: Vec<Rec<'_>> = (0..records.len())
                .map(|row| Rec {
                    id: records.ids[row],
                    watermark: records.watermarks[row],
                    deleted: records.deleted[row],
                    fields: records.fields(row).collect(),
                })
                .collect();
            let again = encode_records(&rows);
            let again = decode_records(&again).expect("re-encoded records decode");
            for row in 0..records.len() {
                // Compared as printed, where a NaN equals itself.
                let printed = |r: &Records<'_>| format!("{:?}", r.fields(row).collect::<Vec<_>>());
                assert_eq!(printed(&records), printed(&again), "seed {seed}");
            }
        }
    }
    // Some damage leaves a valid buffer (a flipped payload byte): the round trip above
    // checked those.
    assert!(accepted > 0, "seed {seed}: no mutation was accepted");
}

fn encode_again(decoded: &[Result<ValueRef<'_>, ErrorRef<'_>>]) -> Vec<u8> {
    results(
        decoded
            .iter()
            .map(|r| r.map_err(|e| (e.kind, e.message)))
            .collect(),
    )
}
