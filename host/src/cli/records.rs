//! Records and entity outcomes as JSON, for `wasync plugin call` and `wasync plugin test`.
//!
//! A record is `{"id": "001", "watermark": null, "fields": {"Name": "Acme"}, "deleted":
//! false}`; only `id` is required. An outcome is `{"keep": RECORD}`, `{"stop": "reason"}` or
//! `{"attach": {"record": RECORD, "unified_id": "u1"}}`.

use crate::value::{from_json, to_json};
use crate::wit::entity::Outcome;
use crate::wit::{Field, Record};
use anyhow::{Context, bail};
use serde_json::{Map, Value as Json, json};

/// The record a JSON object stands for.
pub fn record_from_json(doc: &Json) -> anyhow::Result<Record> {
    let Some(object) = doc.as_object() else {
        bail!(
            "a record must be a JSON object like {{\"id\": \"1\", \"fields\": {{\"Name\": \"Acme\"}}}}"
        );
    };
    if let Some(key) = object
        .keys()
        .find(|k| !["id", "watermark", "fields", "deleted"].contains(&k.as_str()))
    {
        bail!("unknown record key `{key}` (expected `id`, `watermark`, `fields`, `deleted`)");
    }
    let id = match object.get("id") {
        Some(Json::String(id)) => id.clone(),
        Some(Json::Number(n)) => n.to_string(),
        _ => bail!("a record needs an `id` (text)"),
    };
    let fields = match object.get("fields") {
        None => Vec::new(),
        Some(Json::Object(fields)) => fields
            .iter()
            .map(|(name, value)| Field {
                name: name.clone(),
                value: from_json(value.clone()),
            })
            .collect(),
        Some(_) => bail!("`fields` must be an object of field names to values"),
    };
    let deleted = match object.get("deleted") {
        None => false,
        Some(Json::Bool(b)) => *b,
        Some(_) => bail!("`deleted` must be true or false"),
    };
    Ok(Record {
        id,
        watermark: from_json(object.get("watermark").cloned().unwrap_or(Json::Null)),
        fields,
        deleted,
    })
}

/// The JSON form of a record.
pub fn record_to_json(record: &Record) -> Json {
    let fields: Map<String, Json> = record
        .fields
        .iter()
        .map(|f| (f.name.clone(), to_json(&f.value)))
        .collect();
    json!({
        "id": record.id,
        "watermark": to_json(&record.watermark),
        "fields": fields,
        "deleted": record.deleted,
    })
}

/// The JSON form of an entity function's outcome.
pub fn outcome_to_json(outcome: &Outcome) -> Json {
    match outcome {
        Outcome::Keep(record) => json!({ "keep": record_to_json(record) }),
        Outcome::Stop(reason) => json!({ "stop": reason }),
        Outcome::Attach(attached) => json!({
            "attach": {
                "record": record_to_json(&attached.record),
                "unified_id": attached.unified_id,
            }
        }),
    }
}

/// Parses one input line as a record, naming the line in errors.
pub fn parse_record_line(line: &str, line_no: usize) -> anyhow::Result<Record> {
    let doc: Json =
        serde_json::from_str(line).with_context(|| format!("line {line_no}: not JSON"))?;
    record_from_json(&doc).with_context(|| format!("line {line_no}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wit::Value;

    #[test]
    fn records_round_trip_through_json() {
        let doc = json!({"id": "1", "watermark": 5, "fields": {"Name": "Acme", "N": 2}, "deleted": false});
        let record = record_from_json(&doc).expect("parses");
        assert_eq!(record.watermark, Value::Integer(5));
        assert_eq!(record_to_json(&record), doc);
    }

    #[test]
    fn refuses_what_is_not_a_record() {
        for (doc, says) in [
            (json!([]), "must be a JSON object"),
            (json!({"fields": {}}), "needs an `id`"),
            (
                json!({"id": "1", "feilds": {}}),
                "unknown record key `feilds`",
            ),
            (
                json!({"id": "1", "fields": []}),
                "`fields` must be an object",
            ),
        ] {
            let error = record_from_json(&doc).expect_err("refused").to_string();
            assert!(error.contains(says), "{doc}: {error}");
        }
    }
}
