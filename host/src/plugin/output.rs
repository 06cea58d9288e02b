//! What a call returned, measured against [`Limits::value_bytes`] and
//! [`Limits::output_bytes`]: a plugin that answers with a 100 MB string, or a million keys,
//! is refused here, before anything it returned reaches a later stage or the store.
//!
//! The results are measured once lifted into the host: wasmtime copies them out of the
//! plugin's memory as it returns, so a call can never hand the host more than its memory
//! limit, and what is refused is dropped at once.

use super::limits::Limits;
use crate::wit::entity::Outcome;
use crate::wit::external::{EntityChange, Page};
use crate::wit::merge::Resolution;
use crate::wit::{EntityDescription, Error as PluginErrorValue, Field, Record, Value};

/// What a list element costs beyond its contents: counted so that a million empty results
/// weigh something.
const ELEMENT: usize = 16;

/// The most fields one record may have. The widest objects of the systems wasync syncs
/// have a few thousand (Salesforce allows 800 custom fields on an object); a record with
/// hundreds of thousands is a plugin gone wrong, and every stage after would pay for it.
pub const MAX_FIELDS: usize = 10_000;

/// Totals of one call's output.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Measure {
    /// Bytes in all, contents plus [`ELEMENT`] per list element.
    pub total: usize,
    /// The largest single value (a text, a key, an id), in bytes.
    pub largest: usize,
    /// The most fields of any one record.
    pub widest: usize,
}

impl Measure {
    fn value(&mut self, bytes: usize) {
        self.total += bytes;
        self.largest = self.largest.max(bytes);
    }

    /// Which limit this output is over, if any: the value limit first, as it names the cause.
    pub fn over(&self, limits: &Limits) -> Option<Over> {
        if self.widest > MAX_FIELDS {
            Some(Over::Fields {
                fields: self.widest,
                limit: MAX_FIELDS,
            })
        } else if self.largest > limits.value_bytes {
            Some(Over::Value {
                bytes: self.largest,
                limit: limits.value_bytes,
            })
        } else if self.total > limits.output_bytes {
            Some(Over::Call {
                bytes: self.total,
                limit: limits.output_bytes,
            })
        } else {
            None
        }
    }
}

/// Which output limit a call went over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Over {
    /// One value was larger than [`Limits::value_bytes`].
    Value {
        /// Its size.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// A record had more than [`MAX_FIELDS`] fields.
    Fields {
        /// How many.
        fields: usize,
        /// The limit.
        limit: usize,
    },
    /// The whole output was larger than [`Limits::output_bytes`].
    Call {
        /// Its size.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
}

impl std::fmt::Display for Over {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Over::Value { bytes, limit } => write!(
                f,
                "a value of {bytes} bytes, over the limit of {limit} bytes per value (--max-value-kib)"
            ),
            Over::Fields { fields, limit } => write!(
                f,
                "a record of {fields} fields, over the limit of {limit} fields per record"
            ),
            Over::Call { bytes, limit } => write!(
                f,
                "{bytes} bytes, over the limit of {limit} bytes per call (--max-output-mib)"
            ),
        }
    }
}

/// A batch as one buffer (`wasync:plugin@0.2.0`), before it is decoded: only its size, so
/// that a buffer over the call's limit is dropped unread.
impl Output for [u8] {
    fn measure(&self, m: &mut Measure) {
        m.total += self.len();
    }
}

/// Something a plugin call returns.
pub trait Output {
    /// Adds this to `m`.
    fn measure(&self, m: &mut Measure);

    /// This alone, measured.
    fn measured(&self) -> Measure {
        let mut m = Measure::default();
        self.measure(&mut m);
        m
    }
}

impl Output for String {
    fn measure(&self, m: &mut Measure) {
        m.value(self.len());
    }
}

impl Output for Value {
    fn measure(&self, m: &mut Measure) {
        match self {
            Value::Text(t) | Value::Json(t) => m.value(t.len()),
            _ => m.value(8),
        }
    }
}

impl Output for Field {
    fn measure(&self, m: &mut Measure) {
        self.name.measure(m);
        self.value.measure(m);
    }
}

impl Output for Record {
    fn measure(&self, m: &mut Measure) {
        m.widest = m.widest.max(self.fields.len());
        self.id.measure(m);
        self.watermark.measure(m);
        self.fields.measure(m);
    }
}

impl Output for PluginErrorValue {
    fn measure(&self, m: &mut Measure) {
        let (PluginErrorValue::InvalidConfig(t)
        | PluginErrorValue::InvalidInput(t)
        | PluginErrorValue::AccessDenied(t)
        | PluginErrorValue::NotFound(t)
        | PluginErrorValue::Unauthorized(t)
        | PluginErrorValue::RateLimited(t)
        | PluginErrorValue::Unavailable(t)
        | PluginErrorValue::Other(t)) = self;
        t.measure(m);
    }
}

impl<T: Output> Output for Vec<T> {
    fn measure(&self, m: &mut Measure) {
        for item in self {
            m.total += ELEMENT;
            item.measure(m);
        }
    }
}

impl<T: Output, E: Output> Output for Result<T, E> {
    fn measure(&self, m: &mut Measure) {
        match self {
            Ok(t) => t.measure(m),
            Err(e) => e.measure(m),
        }
    }
}

impl Output for Outcome {
    fn measure(&self, m: &mut Measure) {
        match self {
            Outcome::Keep(record) => record.measure(m),
            Outcome::Attach(attached) => {
                attached.record.measure(m);
                attached.unified_id.measure(m);
            }
            Outcome::Stop(reason) => reason.measure(m),
        }
    }
}

impl Output for Resolution {
    fn measure(&self, m: &mut Measure) {
        self.fields.measure(m);
    }
}

impl Output for Page {
    fn measure(&self, m: &mut Measure) {
        self.records.measure(m);
    }
}

impl Output for EntityDescription {
    fn measure(&self, m: &mut Measure) {
        self.name.measure(m);
        self.id_field.measure(m);
        self.watermark_field.measure(m);
        for field in &self.fields {
            m.total += ELEMENT;
            field.name.measure(m);
        }
    }
}

impl Output for EntityChange {
    fn measure(&self, m: &mut Measure) {
        self.entity.measure(m);
        self.record.measure(m);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(value_bytes: usize, output_bytes: usize) -> Limits {
        Limits {
            value_bytes,
            output_bytes,
            ..Limits::default()
        }
    }

    #[test]
    fn one_large_value_is_over_the_value_limit() {
        let out: Vec<Result<Value, PluginErrorValue>> =
            vec![Ok(Value::Text("x".repeat(11))), Ok(Value::Integer(1))];
        let m = out.measured();
        assert_eq!(m.largest, 11);
        assert_eq!(m.total, 11 + 8 + 2 * ELEMENT);
        assert_eq!(
            m.over(&limits(10, 1000)),
            Some(Over::Value {
                bytes: 11,
                limit: 10
            })
        );
        assert_eq!(m.over(&limits(11, 1000)), None);
    }

    #[test]
    fn many_small_results_are_over_the_call_limit() {
        let keys: Vec<Vec<String>> = vec![vec![String::new(); 100]];
        let m = keys.measured();
        assert_eq!(m.total, 101 * ELEMENT);
        assert!(matches!(
            m.over(&limits(10, 1000)),
            Some(Over::Call { bytes: 1616, .. })
        ));
    }

    #[test]
    fn a_record_with_too_many_fields_is_over_the_limit() {
        let wide = Record {
            id: "id".into(),
            watermark: Value::Null,
            fields: (0..=MAX_FIELDS)
                .map(|i| Field {
                    name: format!("f{i}"),
                    value: Value::Null,
                })
                .collect(),
            deleted: false,
        };
        let over = vec![wide].measured().over(&Limits::default());
        assert!(matches!(over, Some(Over::Fields { fields, .. }) if fields == MAX_FIELDS + 1));
    }

    #[test]
    fn errors_and_field_names_count() {
        let out: Vec<Result<Outcome, PluginErrorValue>> = vec![
            Err(PluginErrorValue::Other("e".repeat(20))),
            Ok(Outcome::Keep(Record {
                id: "id".into(),
                watermark: Value::Null,
                fields: vec![Field {
                    name: "n".repeat(30),
                    value: Value::Null,
                }],
                deleted: false,
            })),
        ];
        assert_eq!(out.measured().largest, 30);
    }
}
