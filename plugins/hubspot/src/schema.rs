//! An object type's properties, from the properties API, checked against the settings.

use crate::settings::EntitySettings;
use serde::Deserialize;
use std::collections::HashMap;
use wasync_sdk::{EntityDescription, EntityKind, Error, FieldDescription, ValueKind};

/// The property holding a record's id.
pub const ID_PROPERTY: &str = "hs_object_id";
/// The property by which changes are ordered.
pub const WATERMARK_PROPERTY: &str = "hs_lastmodifieddate";

/// The type of a property (`type` in the properties API), as far as values care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    Number,
    Bool,
    Datetime,
    Date,
    /// `string`, `enumeration`, `phone_number` and any other type: plain text.
    Text,
}

impl Type {
    fn of(name: &str) -> Type {
        match name {
            "number" => Type::Number,
            "bool" => Type::Bool,
            "datetime" => Type::Datetime,
            "date" => Type::Date,
            _ => Type::Text,
        }
    }

    fn kind(self) -> ValueKind {
        match self {
            Type::Number => ValueKind::Float,
            Type::Bool => ValueKind::Boolean,
            Type::Datetime => ValueKind::Timestamp,
            Type::Date | Type::Text => ValueKind::Text,
        }
    }
}

/// One property, from the properties API.
#[derive(Debug, Clone)]
pub struct Property {
    pub name: String,
    pub ty: Type,
    /// The value is computed by HubSpot (`modificationMetadata.readOnlyValue`).
    pub read_only: bool,
    /// Values are unique (`hasUniqueValue`): the property can key an upsert.
    pub unique: bool,
}

/// An object type's properties and which of them are read.
#[derive(Debug, Clone)]
pub struct Schema {
    object_type: String,
    properties: Vec<Property>,
    by_name: HashMap<String, usize>,
    /// The properties a search asks for: the configured ones (or all), with the id and
    /// watermark properties always among them.
    pub read: Vec<String>,
    /// The property by which creates are upserted.
    pub upsert_property: Option<String>,
}

/// `GET /crm/v3/properties/{objectType}`, the parts used.
#[derive(Deserialize)]
pub struct PropertiesPage {
    results: Vec<PropertyJson>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PropertyJson {
    name: String,
    #[serde(rename = "type")]
    ty: String,
    #[serde(default)]
    has_unique_value: bool,
    #[serde(default)]
    modification_metadata: Option<ModificationMetadata>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ModificationMetadata {
    #[serde(default)]
    read_only_value: bool,
}

impl Schema {
    /// The schema of `object_type` from its properties, checked against its settings:
    /// configured properties must exist, an upsert property must have unique values.
    pub fn new(
        object_type: &str,
        page: PropertiesPage,
        settings: &EntitySettings,
    ) -> Result<Schema, Error> {
        let properties: Vec<Property> = page
            .results
            .into_iter()
            .map(|p| Property {
                ty: Type::of(&p.ty),
                read_only: p.modification_metadata.is_some_and(|m| m.read_only_value),
                unique: p.has_unique_value,
                name: p.name,
            })
            .collect();
        let by_name = properties
            .iter()
            .enumerate()
            .map(|(i, p)| (p.name.clone(), i))
            .collect();
        let mut schema = Schema {
            object_type: object_type.to_owned(),
            properties,
            by_name,
            read: Vec::new(),
            upsert_property: settings.upsert_property.clone(),
        };
        let mut read = match &settings.properties {
            Some(names) => {
                for name in names {
                    schema.configured(name, "properties")?;
                }
                names.clone()
            }
            None => schema.properties.iter().map(|p| p.name.clone()).collect(),
        };
        for name in [ID_PROPERTY, WATERMARK_PROPERTY] {
            if !read.iter().any(|n| n == name) {
                read.push(name.to_owned());
            }
        }
        let mut seen = std::collections::HashSet::new();
        read.retain(|name| seen.insert(name.clone()));
        schema.read = read;
        if let Some(name) = &settings.upsert_property {
            let property = schema.configured(name, "upsert_property")?;
            if !property.unique || property.read_only {
                return Err(Error::InvalidConfig(format!(
                    "entity `{object_type}`: `upsert_property` `{name}` is not a writable \
                     property with unique values (`hasUniqueValue`)"
                )));
            }
        }
        Ok(schema)
    }

    /// A property named in the settings under `key`; an unknown one is a configuration error.
    fn configured(&self, name: &str, key: &str) -> Result<&Property, Error> {
        self.property(name).ok_or_else(|| {
            Error::InvalidConfig(format!(
                "entity `{}`: `{key}` names `{name}`, which is not a property of `{}`",
                self.object_type, self.object_type
            ))
        })
    }

    /// The object type (`companies`).
    pub fn object_type(&self) -> &str {
        &self.object_type
    }

    /// The property called `name`, if the object type has one.
    pub fn property(&self, name: &str) -> Option<&Property> {
        self.by_name.get(name).map(|&i| &self.properties[i])
    }

    /// The type of `name`'s values; text for a property the properties API did not list.
    pub fn type_of(&self, name: &str) -> Type {
        self.property(name).map_or(Type::Text, |p| p.ty)
    }

    /// The entity as wasync sees it: the properties read, with kinds from their types.
    pub fn description(&self) -> EntityDescription {
        EntityDescription {
            name: self.object_type.clone(),
            kind: EntityKind::Object,
            id_field: ID_PROPERTY.into(),
            watermark_field: WATERMARK_PROPERTY.into(),
            fields: self
                .read
                .iter()
                .filter_map(|name| self.property(name))
                .map(|p| FieldDescription {
                    name: p.name.clone(),
                    // Object ids are whole numbers, though typed `number` like any other.
                    kind: if p.name == ID_PROPERTY {
                        ValueKind::Integer
                    } else {
                        p.ty.kind()
                    },
                    read_only: p.read_only,
                })
                .collect(),
        }
    }
}
