//! A field transform built straight against `wasync:plugin@0.1.0` (`wit/0.1/`), without the
//! SDK, which now builds 0.2.0: upper-cases text, refuses integers, passes anything else.

wit_bindgen::generate!({
    path: "../../../wit/0.1",
    world: "field-transform",
});

use exports::wasync::plugin::transform::{Guest, GuestTransformer, Transformer};
use wasync::plugin::types::{Error, Value};

struct Component;
struct Upper;

impl Guest for Component {
    type Transformer = Upper;
}

impl GuestTransformer for Upper {
    fn create(_config: String) -> Result<Transformer, Error> {
        Ok(Transformer::new(Upper))
    }

    fn apply(&self, values: Vec<Value>) -> Vec<Result<Value, Error>> {
        values
            .into_iter()
            .map(|value| match value {
                Value::Text(text) => Ok(Value::Text(text.to_uppercase())),
                Value::Integer(_) => Err(Error::InvalidInput("no numbers".into())),
                other => Ok(other),
            })
            .collect()
    }
}

export!(Component);
