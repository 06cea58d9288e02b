//! The one SOQL statement reads use, its literals, and its place in a URL.
//!
//! Reads are keyset pages over (`SystemModstamp`, `Id`):
//!
//! ```text
//! SELECT Id, SystemModstamp, IsDeleted, Name FROM Account
//! WHERE (SystemModstamp > W OR (SystemModstamp = W AND Id > 'ID')) AND SystemModstamp <= U
//! ORDER BY SystemModstamp ASC, Id ASC LIMIT n
//! ```
//!
//! Watermarks are microseconds; Salesforce keeps milliseconds, and a literal with more than
//! three fraction digits is not SOQL. A watermark that came from Salesforce is a whole
//! millisecond and goes out unchanged. One that is not (given by hand) is rounded down, and
//! the conditions are written so that they keep their meaning: after `W` with a
//! sub-millisecond part is `SystemModstamp > floor(W)` (no Salesforce record can equal `W`,
//! so the id part is moot), and up to `U` is `SystemModstamp <= floor(U)`.

use crate::describe::{FieldType, ID, SObject, WATERMARK};
use wasync_sdk::time;
use wasync_sdk::{Error, Timestamp};

/// Where a read starts and stops, as instants.
#[derive(Debug, Clone, PartialEq)]
pub struct Window<'a> {
    /// After this (watermark, id); none reads from the beginning.
    pub after: Option<(Timestamp, &'a str)>,
    /// Up to this watermark, inclusive.
    pub until: Option<Timestamp>,
    pub limit: u32,
}

/// What a query selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Select {
    /// The fields read, by name.
    Named,
    /// `FIELDS(ALL)`: a short query for a field list too long for a URL, at most
    /// [`FIELDS_ALL_LIMIT`] records a query.
    All,
    /// The fields read, by name, but compound ones: a Bulk API 2.0 query job's, which
    /// takes neither `FIELDS()` nor compound fields (their components are fields of their
    /// own).
    Bulk,
}

/// The largest `LIMIT` Salesforce takes with `FIELDS(ALL)`.
pub const FIELDS_ALL_LIMIT: u32 = 200;

/// The keyset query for one page of `sobject`.
pub fn select(sobject: &SObject, window: &Window, select: Select) -> Result<String, Error> {
    let fields: Vec<&str> = match select {
        Select::Named => sobject.selected().map(|f| f.name.as_str()).collect(),
        Select::All => vec!["FIELDS(ALL)"],
        Select::Bulk => sobject
            .selected()
            .filter(|f| f.field_type != FieldType::Compound)
            .map(|f| f.name.as_str())
            .collect(),
    };
    let limit = match select {
        Select::Named | Select::Bulk => window.limit,
        Select::All => window.limit.min(FIELDS_ALL_LIMIT),
    };
    let mut soql = format!("SELECT {} FROM {}", fields.join(", "), sobject.name);
    soql.push_str(&conditions(window)?);
    soql.push_str(&format!(
        " ORDER BY {WATERMARK} ASC, {ID} ASC LIMIT {limit}"
    ));
    Ok(soql)
}

/// `SELECT COUNT()` of the records in `window` (its limit aside).
pub fn count(sobject: &SObject, window: &Window) -> Result<String, Error> {
    Ok(format!(
        "SELECT COUNT() FROM {}{}",
        sobject.name,
        conditions(window)?
    ))
}

/// ` WHERE ...` for the window's cursor and bound, or nothing.
fn conditions(window: &Window) -> Result<String, Error> {
    let mut conditions = Vec::new();
    if let Some((watermark, id)) = window.after {
        let floor = time::floor_millis(watermark);
        let at = datetime(floor)?;
        conditions.push(if floor == watermark {
            format!(
                "({WATERMARK} > {at} OR ({WATERMARK} = {at} AND {ID} > {}))",
                quote(id)
            )
        } else {
            format!("{WATERMARK} > {at}")
        });
    }
    if let Some(until) = window.until {
        conditions.push(format!(
            "{WATERMARK} <= {}",
            datetime(time::floor_millis(until))?
        ));
    }
    if conditions.is_empty() {
        Ok(String::new())
    } else {
        Ok(format!(" WHERE {}", conditions.join(" AND ")))
    }
}

/// A datetime literal, `2024-03-01T12:00:00.000Z` (unquoted, milliseconds).
fn datetime(micros: Timestamp) -> Result<String, Error> {
    time::format_millis(micros).ok_or_else(|| {
        Error::InvalidInput(format!(
            "the watermark {micros} (microseconds) is outside the years 0000 to 9999"
        ))
    })
}

/// A SOQL string literal: quoted, with `\` and `'` (and control characters) escaped.
pub fn quote(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('\'');
    for c in text.chars() {
        match c {
            '\\' => quoted.push_str("\\\\"),
            '\'' => quoted.push_str("\\'"),
            '\n' => quoted.push_str("\\n"),
            '\r' => quoted.push_str("\\r"),
            '\t' => quoted.push_str("\\t"),
            c => quoted.push(c),
        }
    }
    quoted.push('\'');
    quoted
}

/// `text` as a URL query value: unreserved characters as they are, spaces as `+`, every
/// other byte of its UTF-8 as `%XX`.
pub fn encode_query_value(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len() * 3 / 2);
    for &b in text.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                encoded.push(char::from(b));
            }
            b' ' => encoded.push('+'),
            _ => encoded.push_str(&format!("%{b:02X}")),
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::describe::Describe;
    use crate::settings::EntitySettings;
    use serde_json::json;

    /// 2024-03-01T12:00:00Z.
    const NOON: Timestamp = 1_709_294_400_000_000;

    fn account() -> Result<SObject, Error> {
        let describe: Describe = serde_json::from_value(json!({"fields": [
            {"name": "Id", "type": "id"},
            {"name": "IsDeleted", "type": "boolean"},
            {"name": "Name", "type": "string", "createable": true, "updateable": true},
            {"name": "SystemModstamp", "type": "datetime"},
        ]}))
        .map_err(|e| Error::Other(e.to_string()))?;
        let settings = EntitySettings {
            fields: Some(vec!["Name".into()]),
            upsert_field: None,
        };
        SObject::new("Account", describe, &settings)
    }

    #[test]
    fn selects_from_the_beginning() -> Result<(), Error> {
        let window = Window {
            after: None,
            until: None,
            limit: 500,
        };
        assert_eq!(
            select(&account()?, &window, Select::Named)?,
            "SELECT Id, SystemModstamp, IsDeleted, Name FROM Account \
             ORDER BY SystemModstamp ASC, Id ASC LIMIT 500"
        );
        Ok(())
    }

    #[test]
    fn selects_after_a_cursor_up_to_a_bound() -> Result<(), Error> {
        let window = Window {
            after: Some((NOON + 5_000, "001000000000001AAA")),
            until: Some(NOON + 60_000_000),
            limit: 200,
        };
        assert_eq!(
            select(&account()?, &window, Select::Named)?,
            "SELECT Id, SystemModstamp, IsDeleted, Name FROM Account WHERE \
             (SystemModstamp > 2024-03-01T12:00:00.005Z OR (SystemModstamp = \
             2024-03-01T12:00:00.005Z AND Id > '001000000000001AAA')) AND SystemModstamp <= \
             2024-03-01T12:01:00.000Z ORDER BY SystemModstamp ASC, Id ASC LIMIT 200"
        );
        Ok(())
    }

    #[test]
    fn rounds_sub_millisecond_bounds_without_changing_their_meaning() -> Result<(), Error> {
        let window = Window {
            after: Some((NOON + 5_001, "001")),
            until: Some(NOON + 999),
            limit: 1,
        };
        assert_eq!(
            select(&account()?, &window, Select::Named)?,
            "SELECT Id, SystemModstamp, IsDeleted, Name FROM Account WHERE \
             SystemModstamp > 2024-03-01T12:00:00.005Z AND SystemModstamp <= \
             2024-03-01T12:00:00.000Z ORDER BY SystemModstamp ASC, Id ASC LIMIT 1"
        );
        let window = Window {
            after: Some((i64::MAX, "001")),
            until: None,
            limit: 1,
        };
        assert!(matches!(
            select(&account()?, &window, Select::Named),
            Err(Error::InvalidInput(_))
        ));
        Ok(())
    }

    #[test]
    fn quotes_text() {
        assert_eq!(quote("001"), "'001'");
        assert_eq!(quote(r"it's a \ test"), r"'it\'s a \\ test'");
        assert_eq!(quote("a\nb"), r"'a\nb'");
    }

    #[test]
    fn encodes_query_values() {
        assert_eq!(
            encode_query_value(
                "SELECT Id FROM A WHERE Id > 'x+y' AND T = 2024-01-01T00:00:00.000Z"
            ),
            "SELECT+Id+FROM+A+WHERE+Id+%3E+%27x%2By%27+AND+T+%3D+2024-01-01T00%3A00%3A00.000Z"
        );
        assert_eq!(encode_query_value("é&#"), "%C3%A9%26%23");
    }
}
