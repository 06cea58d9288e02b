//! A wasync entity function: records with an empty or missing `Name` stop; the others go on
//! unchanged (the field is set with `{"field": "..."}`).

use wasync_sdk::{Config, EntityFunction, Error, Outcome, Record};

struct RequireField {
    field: String,
}

impl EntityFunction for RequireField {
    fn new(config: &Config) -> Result<Self, Error> {
        let field = match config.json().get("field") {
            None => "Name".to_owned(),
            Some(serde_json::Value::String(f)) => f.clone(),
            Some(_) => return Err(Error::InvalidConfig("`field` must be text".into())),
        };
        Ok(RequireField { field })
    }

    fn apply(&self, _entity: &str, record: Record) -> Result<Outcome, Error> {
        let empty = record.get(&self.field).is_none_or(|v| v.is_empty());
        Ok(if !record.deleted && empty {
            Outcome::Stop(format!("{} is empty", self.field))
        } else {
            Outcome::Keep(record)
        })
    }
}

wasync_sdk::export_entity_function!(RequireField);
