//! What describe says about an sObject, and the field selection made from it and the
//! entity's settings.

use crate::settings::EntitySettings;
use serde::Deserialize;
use std::collections::HashMap;
use wasync_sdk::{EntityDescription, EntityKind, Error, FieldDescription, ValueKind};

/// The id field of every sObject.
pub const ID: &str = "Id";
/// The field every change sets, to the millisecond: the watermark.
pub const WATERMARK: &str = "SystemModstamp";
/// `true` on soft-deleted records, which only `queryAll` returns.
pub const DELETED: &str = "IsDeleted";

/// The part of a describe response the connector uses; Salesforce sends much more.
#[derive(Debug, Deserialize)]
pub struct Describe {
    pub fields: Vec<DescribeField>,
}

/// One entry of a describe response's `fields`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeField {
    pub name: String,
    #[serde(rename = "type")]
    pub type_name: String,
    #[serde(default)]
    pub createable: bool,
    #[serde(default)]
    pub updateable: bool,
    #[serde(default)]
    pub external_id: bool,
}

/// How the connector converts a field's values, from its describe type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// `boolean`.
    Boolean,
    /// `int`, `long`.
    Integer,
    /// `double`, `currency`, `percent`.
    Float,
    /// `datetime`.
    DateTime,
    /// `date`: read as text (`2024-03-01`), a timestamp is written as its UTC date.
    Date,
    /// Compound fields (`address`, `location`): JSON objects, read-only.
    Compound,
    /// Everything else (`id`, `string`, `textarea`, `url`, `phone`, `picklist`,
    /// `reference`, ...): text.
    Text,
}

impl FieldType {
    fn of(type_name: &str) -> FieldType {
        match type_name {
            "boolean" => FieldType::Boolean,
            "int" | "long" => FieldType::Integer,
            "double" | "currency" | "percent" => FieldType::Float,
            "datetime" => FieldType::DateTime,
            "date" => FieldType::Date,
            "address" | "location" => FieldType::Compound,
            _ => FieldType::Text,
        }
    }

    fn kind(self) -> ValueKind {
        match self {
            FieldType::Boolean => ValueKind::Boolean,
            FieldType::Integer => ValueKind::Integer,
            FieldType::Float => ValueKind::Float,
            FieldType::DateTime => ValueKind::Timestamp,
            FieldType::Compound => ValueKind::Json,
            FieldType::Date | FieldType::Text => ValueKind::Text,
        }
    }
}

/// One field of an sObject.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The API name as describe spells it.
    pub name: String,
    pub field_type: FieldType,
    /// Neither createable nor updateable: never written.
    pub read_only: bool,
    /// An external id field, which upserts can match on.
    pub external_id: bool,
}

/// A configured sObject, described: its fields and the ones reads select.
#[derive(Debug, Clone)]
pub struct SObject {
    /// The API name (the entity's name in the settings).
    pub name: String,
    fields: Vec<Field>,
    /// Lower-cased name to index in `fields`: API names ignore case.
    by_name: HashMap<String, usize>,
    /// Indexes of the fields reads select, in SOQL order.
    selected: Vec<usize>,
    /// The external id field creates are upserted by, as describe spells it.
    pub upsert_field: Option<String>,
}

impl SObject {
    /// Checks the entity's settings against its describe and makes the field selection:
    /// `Id`, `SystemModstamp` and `IsDeleted` first, then the configured fields (or every
    /// field describe lists) in their order.
    pub fn new(name: &str, describe: Describe, settings: &EntitySettings) -> Result<Self, Error> {
        let fields: Vec<Field> = describe
            .fields
            .into_iter()
            .map(|f| Field {
                field_type: FieldType::of(&f.type_name),
                read_only: !f.createable && !f.updateable,
                external_id: f.external_id,
                name: f.name,
            })
            .collect();
        let by_name = fields
            .iter()
            .enumerate()
            .map(|(i, f)| (f.name.to_ascii_lowercase(), i))
            .collect();
        let mut sobject = SObject {
            name: name.to_owned(),
            fields,
            by_name,
            selected: Vec::new(),
            upsert_field: None,
        };
        sobject.select(settings)?;
        sobject.upsert_field = match &settings.upsert_field {
            Some(field) => Some(sobject.check_upsert_field(field)?),
            None => None,
        };
        Ok(sobject)
    }

    fn select(&mut self, settings: &EntitySettings) -> Result<(), Error> {
        let missing = self.push_selected([ID, WATERMARK, DELETED]);
        if !missing.is_empty() {
            return Err(Error::InvalidConfig(format!(
                "entity `{}`: the sObject has no {} field (describe), so it cannot be read \
                 incrementally",
                self.name,
                missing.join(", ")
            )));
        }
        let unknown = match &settings.fields {
            Some(fields) => self.push_selected(fields.iter().map(String::as_str)),
            None => {
                for i in 0..self.fields.len() {
                    if !self.selected.contains(&i) {
                        self.selected.push(i);
                    }
                }
                Vec::new()
            }
        };
        if unknown.is_empty() {
            return Ok(());
        }
        Err(Error::InvalidConfig(format!(
            "entity `{}`: `fields` names {}, which the sObject does not have (describe)",
            self.name,
            unknown.join(", ")
        )))
    }

    /// Adds the named fields to the selection (once each); returns the unknown ones, quoted.
    fn push_selected<'a>(&mut self, names: impl IntoIterator<Item = &'a str>) -> Vec<String> {
        let mut unknown = Vec::new();
        for name in names {
            match self.index(name) {
                Some(i) if !self.selected.contains(&i) => self.selected.push(i),
                Some(_) => {}
                None => unknown.push(format!("`{name}`")),
            }
        }
        unknown
    }

    fn check_upsert_field(&self, name: &str) -> Result<String, Error> {
        match self.field(name) {
            Some(field) if field.external_id => Ok(field.name.clone()),
            Some(field) => Err(Error::InvalidConfig(format!(
                "entity `{}`: `upsert_field` `{}` is not an external id field",
                self.name, field.name
            ))),
            None => Err(Error::InvalidConfig(format!(
                "entity `{}`: `upsert_field` `{name}` is not a field of the sObject (describe)",
                self.name
            ))),
        }
    }

    fn index(&self, name: &str) -> Option<usize> {
        self.by_name.get(&name.to_ascii_lowercase()).copied()
    }

    /// The field called `name`, ignoring case.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.index(name).map(|i| &self.fields[i])
    }

    /// The fields reads select, in order.
    pub fn selected(&self) -> impl Iterator<Item = &Field> {
        self.selected.iter().map(|&i| &self.fields[i])
    }

    /// The entity as the host sees it: the selected fields with their kinds.
    pub fn description(&self) -> EntityDescription {
        EntityDescription {
            name: self.name.clone(),
            kind: EntityKind::Object,
            id_field: ID.into(),
            watermark_field: WATERMARK.into(),
            fields: self
                .selected()
                .map(|f| FieldDescription {
                    name: f.name.clone(),
                    kind: f.field_type.kind(),
                    read_only: f.read_only,
                })
                .collect(),
        }
    }
}
