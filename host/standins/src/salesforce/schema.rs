//! The stand-in org's sObjects (Account, Contact), their field values, ids and describe.

use std::cmp::Ordering;

use serde_json::{Value, json};

use crate::time;

/// A Salesforce field type (the `type` of describe).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FieldType {
    Id,
    String,
    Textarea,
    Url,
    Phone,
    Email,
    Picklist,
    Boolean,
    Int,
    Currency,
    Date,
    Datetime,
    Reference,
}

impl FieldType {
    fn name(self) -> &'static str {
        match self {
            FieldType::Id => "id",
            FieldType::String => "string",
            FieldType::Textarea => "textarea",
            FieldType::Url => "url",
            FieldType::Phone => "phone",
            FieldType::Email => "email",
            FieldType::Picklist => "picklist",
            FieldType::Boolean => "boolean",
            FieldType::Int => "int",
            FieldType::Currency => "currency",
            FieldType::Date => "date",
            FieldType::Datetime => "datetime",
            FieldType::Reference => "reference",
        }
    }

    /// The type's name in SOQL filter errors (`must be of type dateTime`).
    pub(crate) fn soql_name(self) -> &'static str {
        match self {
            FieldType::Id | FieldType::Reference => "id",
            FieldType::Boolean => "boolean",
            FieldType::Int => "int",
            FieldType::Currency => "double",
            FieldType::Date => "date",
            FieldType::Datetime => "dateTime",
            _ => "string",
        }
    }

    /// Text types compare case-insensitively, as SOQL does.
    pub(crate) fn is_text(self) -> bool {
        matches!(
            self,
            FieldType::String
                | FieldType::Textarea
                | FieldType::Url
                | FieldType::Phone
                | FieldType::Email
                | FieldType::Picklist
        )
    }

    fn is_id(self) -> bool {
        matches!(self, FieldType::Id | FieldType::Reference)
    }
}

/// One field of an sObject.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Field {
    pub name: &'static str,
    pub label: &'static str,
    pub ty: FieldType,
    pub createable: bool,
    pub updateable: bool,
    pub nillable: bool,
    pub external_id: bool,
    pub unique: bool,
    /// Maximum length of text values (0: not text).
    pub length: usize,
    pub filterable: bool,
    pub sortable: bool,
    pub picklist: &'static [&'static str],
    pub reference_to: &'static [&'static str],
}

impl Field {
    const fn new(name: &'static str, label: &'static str, ty: FieldType) -> Field {
        Field {
            name,
            label,
            ty,
            createable: true,
            updateable: true,
            nillable: true,
            external_id: false,
            unique: false,
            length: 0,
            filterable: true,
            sortable: true,
            picklist: &[],
            reference_to: &[],
        }
    }

    const fn text(name: &'static str, label: &'static str, ty: FieldType, length: usize) -> Field {
        Field {
            length,
            ..Field::new(name, label, ty)
        }
    }

    const fn system(name: &'static str, label: &'static str, ty: FieldType) -> Field {
        Field {
            createable: false,
            updateable: false,
            nillable: false,
            ..Field::new(name, label, ty)
        }
    }

    /// Required on create: not nillable, yet createable.
    pub(crate) fn required(&self) -> bool {
        !self.nillable && self.createable && self.ty != FieldType::Boolean
    }

    fn describe(&self) -> Value {
        json!({
            "name": self.name,
            "label": self.label,
            "type": self.ty.name(),
            "length": self.length,
            "updateable": self.updateable,
            "createable": self.createable,
            "nillable": self.nillable,
            "externalId": self.external_id,
            "unique": self.unique,
            "idLookup": self.ty == FieldType::Id || self.external_id,
            "filterable": self.filterable,
            "sortable": self.sortable,
            "custom": self.name.ends_with("__c"),
            "defaultedOnCreate": !self.createable || self.ty == FieldType::Boolean,
            "caseSensitive": false,
            "referenceTo": self.reference_to,
            "picklistValues": self.picklist.iter().map(|v| json!({
                "active": true, "defaultValue": false, "label": v, "value": v,
            })).collect::<Vec<_>>(),
        })
    }
}

/// An sObject type.
#[derive(Debug)]
pub(crate) struct SObject {
    pub name: &'static str,
    pub label: &'static str,
    pub label_plural: &'static str,
    pub key_prefix: &'static str,
    pub fields: &'static [Field],
}

/// Index of `Id` in every sObject's fields.
pub(crate) const ID: usize = 0;
/// Index of `IsDeleted` in every sObject's fields.
pub(crate) const IS_DELETED: usize = 1;

const INDUSTRIES: &[&str] = &[
    "Agriculture",
    "Apparel",
    "Banking",
    "Biotechnology",
    "Chemicals",
    "Communications",
    "Construction",
    "Consulting",
    "Education",
    "Electronics",
    "Energy",
    "Engineering",
    "Entertainment",
    "Environmental",
    "Finance",
    "Food & Beverage",
    "Government",
    "Healthcare",
    "Hospitality",
    "Insurance",
    "Machinery",
    "Manufacturing",
    "Media",
    "Not For Profit",
    "Recreation",
    "Retail",
    "Shipping",
    "Technology",
    "Telecommunications",
    "Transportation",
    "Utilities",
    "Other",
];

const ACCOUNT_TYPES: &[&str] = &[
    "Prospect",
    "Customer",
    "Customer - Direct",
    "Customer - Channel",
    "Channel Partner / Reseller",
    "Installation Partner",
    "Technology Partner",
    "Partner",
    "Other",
];

use FieldType as T;

const ACCOUNT_FIELDS: &[Field] = &[
    Field {
        length: 18,
        ..Field::system("Id", "Account ID", T::Id)
    },
    Field::system("IsDeleted", "Deleted", T::Boolean),
    Field {
        nillable: false,
        ..Field::text("Name", "Account Name", T::String, 255)
    },
    Field {
        picklist: ACCOUNT_TYPES,
        ..Field::text("Type", "Account Type", T::Picklist, 255)
    },
    Field {
        picklist: INDUSTRIES,
        ..Field::text("Industry", "Industry", T::Picklist, 255)
    },
    Field::text("Website", "Website", T::Url, 255),
    Field::text("Phone", "Account Phone", T::Phone, 40),
    Field::text("BillingCity", "Billing City", T::String, 40),
    Field::new("AnnualRevenue", "Annual Revenue", T::Currency),
    Field::new("NumberOfEmployees", "Employees", T::Int),
    Field {
        filterable: false,
        sortable: false,
        ..Field::text("Description", "Account Description", T::Textarea, 32_000)
    },
    Field::system("CreatedDate", "Created Date", T::Datetime),
    Field::system("LastModifiedDate", "Last Modified Date", T::Datetime),
    Field::system("SystemModstamp", "System Modstamp", T::Datetime),
    Field {
        external_id: true,
        unique: true,
        ..Field::text("Wasync_Id__c", "Wasync Id", T::String, 255)
    },
];

const CONTACT_FIELDS: &[Field] = &[
    Field {
        length: 18,
        ..Field::system("Id", "Contact ID", T::Id)
    },
    Field::system("IsDeleted", "Deleted", T::Boolean),
    Field {
        length: 18,
        reference_to: &["Account"],
        ..Field::new("AccountId", "Account ID", T::Reference)
    },
    Field::text("FirstName", "First Name", T::String, 40),
    Field {
        nillable: false,
        ..Field::text("LastName", "Last Name", T::String, 80)
    },
    Field::text("Email", "Email", T::Email, 80),
    Field::text("Phone", "Business Phone", T::Phone, 40),
    Field::text("Title", "Title", T::String, 128),
    Field::new("Birthdate", "Birthdate", T::Date),
    Field::system("CreatedDate", "Created Date", T::Datetime),
    Field::system("LastModifiedDate", "Last Modified Date", T::Datetime),
    Field::system("SystemModstamp", "System Modstamp", T::Datetime),
    Field {
        external_id: true,
        unique: true,
        ..Field::text("Wasync_Id__c", "Wasync Id", T::String, 255)
    },
];

/// The org's sObjects, in the order of its tables.
pub(crate) const SOBJECTS: &[SObject] = &[
    SObject {
        name: "Account",
        label: "Account",
        label_plural: "Accounts",
        key_prefix: "001",
        fields: ACCOUNT_FIELDS,
    },
    SObject {
        name: "Contact",
        label: "Contact",
        label_plural: "Contacts",
        key_prefix: "003",
        fields: CONTACT_FIELDS,
    },
];

impl SObject {
    /// A field by name, case-insensitively (as SOQL and the REST API match them).
    pub(crate) fn field(&self, name: &str) -> Option<usize> {
        self.fields
            .iter()
            .position(|f| f.name.eq_ignore_ascii_case(name))
    }

    /// The index of a field that every sObject has.
    pub(crate) fn must(&self, name: &str) -> usize {
        self.field(name)
            .unwrap_or_else(|| panic!("{} has no field {name}", self.name))
    }

    pub(crate) fn describe(&self, version: &str) -> Value {
        let base = format!("/services/data/{version}/sobjects/{}", self.name);
        json!({
            "name": self.name,
            "label": self.label,
            "labelPlural": self.label_plural,
            "keyPrefix": self.key_prefix,
            "custom": false,
            "createable": true,
            "updateable": true,
            "deletable": true,
            "queryable": true,
            "searchable": true,
            "fields": self.fields.iter().map(Field::describe).collect::<Vec<_>>(),
            "urls": {
                "sobject": base,
                "describe": format!("{base}/describe"),
                "rowTemplate": format!("{base}/{{ID}}"),
            },
        })
    }

    pub(crate) fn summary(&self, version: &str) -> Value {
        json!({
            "name": self.name,
            "label": self.label,
            "labelPlural": self.label_plural,
            "keyPrefix": self.key_prefix,
            "custom": false,
            "createable": true,
            "updateable": true,
            "deletable": true,
            "queryable": true,
            "urls": {
                "sobject": format!("/services/data/{version}/sobjects/{}", self.name),
                "describe": format!("/services/data/{version}/sobjects/{}/describe", self.name),
            },
        })
    }
}

/// The sObject with this name (case-insensitive), by table index.
pub(crate) fn sobject(name: &str) -> Option<usize> {
    SOBJECTS
        .iter()
        .position(|s| s.name.eq_ignore_ascii_case(name))
}

/// A field value as stored.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Val {
    Null,
    Text(String),
    Bool(bool),
    Int(i64),
    Num(f64),
    /// Milliseconds since the epoch.
    DateTime(i64),
    /// Days since the epoch.
    Date(i64),
}

impl Val {
    pub(crate) fn is_null(&self) -> bool {
        matches!(self, Val::Null)
    }

    pub(crate) fn to_json(&self) -> Value {
        match self {
            Val::Null => Value::Null,
            Val::Text(s) => Value::String(s.clone()),
            Val::Bool(b) => Value::Bool(*b),
            Val::Int(i) => Value::from(*i),
            Val::Num(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
            Val::DateTime(ms) => Value::String(time::iso_sf(*ms)),
            Val::Date(days) => Value::String(time::date_string(*days)),
        }
    }

    fn as_f64(&self) -> Option<f64> {
        match self {
            Val::Int(i) => Some(*i as f64),
            Val::Num(f) => Some(*f),
            _ => None,
        }
    }

    /// Compares two non-null values of a field of type `ty` the way SOQL does: text
    /// case-insensitively, ids by their 15-character case-sensitive form, numbers and
    /// datetimes by value. `None` when either is null or they do not compare.
    pub(crate) fn compare(&self, other: &Val, ty: FieldType) -> Option<Ordering> {
        match (self, other) {
            (Val::Text(a), Val::Text(b)) if ty.is_id() => Some(id15(a).cmp(id15(b))),
            (Val::Text(a), Val::Text(b)) => Some(
                a.chars()
                    .flat_map(char::to_lowercase)
                    .cmp(b.chars().flat_map(char::to_lowercase)),
            ),
            (Val::Bool(a), Val::Bool(b)) => Some(a.cmp(b)),
            (Val::DateTime(a), Val::DateTime(b)) | (Val::Date(a), Val::Date(b)) => Some(a.cmp(b)),
            (a, b) => a.as_f64()?.partial_cmp(&b.as_f64()?),
        }
    }
}

/// The case-sensitive 15-character form of an id.
fn id15(id: &str) -> &str {
    id.get(..15).unwrap_or(id)
}

/// Whether `s` looks like a Salesforce id: 15 or 18 ASCII letters and digits.
pub(crate) fn is_id(s: &str) -> bool {
    (s.len() == 15 || s.len() == 18) && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// The 15-character key by which records are found.
pub(crate) fn id_key(id: &str) -> String {
    id15(id).to_owned()
}

/// The base-62 digits, in ASCII order, so that ids of one length sort like their numbers.
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The first record number: large enough that ids show both letter cases, as real ones do.
pub(crate) const FIRST_RECORD_NUMBER: u64 = 1_000_000_000_000;

/// The 18-character id of the `n`th record of an sObject: key prefix, a fixed pod part,
/// nine base-62 digits, then Salesforce's case-safe checksum of three characters.
pub(crate) fn make_id(key_prefix: &str, n: u64) -> String {
    let mut digits = [b'0'; 9];
    let mut rest = n;
    for slot in digits.iter_mut().rev() {
        *slot = BASE62[(rest % 62) as usize];
        rest /= 62;
    }
    let mut id = format!("{key_prefix}8d0");
    id.extend(digits.iter().map(|&b| b as char));
    let checksum: String = id
        .as_bytes()
        .chunks(5)
        .map(|chunk| {
            let flags = chunk
                .iter()
                .enumerate()
                .filter(|(_, b)| b.is_ascii_uppercase())
                .fold(0usize, |acc, (i, _)| acc | (1 << i));
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"[flags] as char
        })
        .collect();
    id + &checksum
}

/// Why a JSON value does not fit a field; the whole request fails with it.
#[derive(Debug)]
pub(crate) struct Mismatch(pub String);

/// Turns a JSON value written to a field into the stored value. Empty text is null, as
/// in Salesforce.
pub(crate) fn coerce(field: &Field, value: &Value) -> Result<Val, Mismatch> {
    let mismatch = |kind: &str| {
        let shown = match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        Mismatch(format!(
            "Cannot deserialize instance of {} from {kind} value {shown} or request may be missing a required field",
            field.ty.soql_name()
        ))
    };
    let kind = match value {
        Value::Null => return Ok(Val::Null),
        Value::String(_) => "VALUE_STRING",
        Value::Number(_) => "VALUE_NUMBER",
        Value::Bool(_) => "VALUE_BOOLEAN",
        Value::Array(_) => "START_ARRAY",
        Value::Object(_) => "START_OBJECT",
    };
    match (field.ty, value) {
        (ty, Value::String(s)) if ty.is_text() || ty.is_id() => Ok(if s.is_empty() {
            Val::Null
        } else {
            Val::Text(s.clone())
        }),
        (ty, Value::Number(n)) if ty.is_text() => Ok(Val::Text(n.to_string())),
        (ty, Value::Bool(b)) if ty.is_text() => Ok(Val::Text(b.to_string())),
        (FieldType::Boolean, Value::Bool(b)) => Ok(Val::Bool(*b)),
        (FieldType::Boolean, Value::String(s)) => match s.to_ascii_lowercase().as_str() {
            "true" => Ok(Val::Bool(true)),
            "false" => Ok(Val::Bool(false)),
            _ => Err(mismatch(kind)),
        },
        (FieldType::Int, Value::Number(n)) => n
            .as_i64()
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && f.abs() < 9e15)
                    .map(|f| f as i64)
            })
            .map(Val::Int)
            .ok_or_else(|| mismatch(kind)),
        (FieldType::Int, Value::String(s)) => {
            s.trim().parse().map(Val::Int).map_err(|_| mismatch(kind))
        }
        (FieldType::Currency, Value::Number(n)) => {
            n.as_f64().map(Val::Num).ok_or_else(|| mismatch(kind))
        }
        (FieldType::Currency, Value::String(s)) => s
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(Val::Num)
            .ok_or_else(|| mismatch(kind)),
        (FieldType::Datetime, Value::String(s)) => time::parse_datetime(s)
            .map(Val::DateTime)
            .ok_or_else(|| mismatch(kind)),
        (FieldType::Date, Value::String(s)) => time::parse_date(s)
            .or_else(|| time::parse_datetime(s).map(|ms| ms.div_euclid(86_400_000)))
            .map(Val::Date)
            .ok_or_else(|| mismatch(kind)),
        _ => Err(mismatch(kind)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_18_characters_sorted_like_their_numbers() {
        let a = make_id("001", FIRST_RECORD_NUMBER);
        let b = make_id("001", FIRST_RECORD_NUMBER + 1);
        let c = make_id("001", FIRST_RECORD_NUMBER + 61);
        assert_eq!(a.len(), 18);
        assert!(a.starts_with("001"));
        assert!(a < b && b < c, "{a} {b} {c}");
        assert!(is_id(&a));
        // The checksum marks upper-case letters of each five-character chunk.
        assert_eq!(&make_id("001", 0)[15..], "AAA");
    }

    #[test]
    fn text_compares_case_insensitively_ids_do_not() {
        let (a, b) = (Val::Text("acme".into()), Val::Text("ACME".into()));
        assert_eq!(a.compare(&b, FieldType::String), Some(Ordering::Equal));
        assert_ne!(a.compare(&b, FieldType::Id), Some(Ordering::Equal));
    }

    #[test]
    fn coercion_follows_the_field_type() {
        let int = Field::new("N", "N", FieldType::Int);
        assert_eq!(coerce(&int, &json!(5)).ok(), Some(Val::Int(5)));
        assert_eq!(coerce(&int, &json!("7")).ok(), Some(Val::Int(7)));
        assert!(coerce(&int, &json!("seven")).is_err());
        let text = Field::text("T", "T", FieldType::String, 10);
        assert_eq!(coerce(&text, &json!("")).ok(), Some(Val::Null));
        let when = Field::new("D", "D", FieldType::Datetime);
        assert_eq!(
            coerce(&when, &json!("1970-01-01T00:00:01.000Z")).ok(),
            Some(Val::DateTime(1000))
        );
    }
}
