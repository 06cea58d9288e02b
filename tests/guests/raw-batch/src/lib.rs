//! A field transform on `wasync:plugin@0.2.0` that writes its answer buffer itself, without
//! the SDK. Text is echoed back; a text naming a fault makes the whole answer malformed:
//!
//! | input      | the answer                                                     |
//! |------------|----------------------------------------------------------------|
//! | `garbage`  | bytes that are no batch at all                                 |
//! | `truncate` | a valid answer cut short by one byte                           |
//! | `utf8`     | the echo, with its last text's last byte made invalid UTF-8    |
//! | `extra`    | one result more than there were values                         |
//! | `huge`     | a header claiming 2³²−1 rows                                   |

wit_bindgen::generate!({
    path: "../../../wit",
    world: "field-transform",
});

use exports::wasync::plugin::transform::{Guest, GuestTransformer, Transformer};
use wasync::plugin::types::Error;
use wasync_batch::{ErrorKind, ValueRef};

struct Component;
struct Raw;

impl Guest for Component {
    type Transformer = Raw;
}

impl GuestTransformer for Raw {
    fn create(_config: String) -> Result<Transformer, Error> {
        Ok(Transformer::new(Raw))
    }

    fn apply(&self, values: Vec<u8>) -> Vec<u8> {
        let values = wasync_batch::decode_values(&values).expect("the host writes valid batches");
        let fault = values.iter().find_map(|v| match v {
            ValueRef::Text(t @ ("garbage" | "truncate" | "utf8" | "extra" | "huge")) => Some(*t),
            _ => None,
        });
        let mut rows: Vec<Result<ValueRef<'_>, ErrorKind>> =
            values.iter().copied().map(Ok).collect();
        if fault == Some("extra") {
            rows.push(Ok(ValueRef::Null));
        }
        let mut buf = wasync_batch::encode_results(rows, |v| *v, |&kind| (kind, ""));
        match fault {
            Some("garbage") => b"not a batch".to_vec(),
            Some("truncate") => {
                buf.pop();
                buf
            }
            Some("utf8") => {
                if let Some(last) = buf.last_mut() {
                    *last = 0xff;
                }
                buf
            }
            Some("huge") => {
                buf[5..9].copy_from_slice(&u32::MAX.to_le_bytes());
                buf
            }
            _ => buf,
        }
    }
}

export!(Component);
