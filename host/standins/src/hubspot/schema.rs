//! The stand-in portal's object types (companies, contacts) and their properties.

use serde_json::{Value, json};

use crate::time;

/// A HubSpot property type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PropType {
    String,
    Number,
    Bool,
    Datetime,
    Date,
    Enumeration,
}

impl PropType {
    fn name(self) -> &'static str {
        match self {
            PropType::String => "string",
            PropType::Number => "number",
            PropType::Bool => "bool",
            PropType::Datetime => "datetime",
            PropType::Date => "date",
            PropType::Enumeration => "enumeration",
        }
    }
}

/// One property definition.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Property {
    pub name: &'static str,
    pub label: &'static str,
    pub ty: PropType,
    pub field_type: &'static str,
    pub read_only: bool,
    pub unique: bool,
    /// Options of an enumeration, `(label, value)`.
    pub options: &'static [(&'static str, &'static str)],
}

const fn prop(
    name: &'static str,
    label: &'static str,
    ty: PropType,
    field_type: &'static str,
) -> Property {
    Property {
        name,
        label,
        ty,
        field_type,
        read_only: false,
        unique: false,
        options: &[],
    }
}

const fn read_only(
    name: &'static str,
    label: &'static str,
    ty: PropType,
    field_type: &'static str,
) -> Property {
    Property {
        read_only: true,
        ..prop(name, label, ty, field_type)
    }
}

impl Property {
    pub(crate) fn describe(&self, object: &ObjectType) -> Value {
        json!({
            "name": self.name,
            "label": self.label,
            "type": self.ty.name(),
            "fieldType": self.field_type,
            "description": "",
            "groupName": object.group,
            "options": self.options.iter().enumerate().map(|(i, (label, value))| json!({
                "label": label, "value": value, "displayOrder": i, "hidden": false,
            })).collect::<Vec<_>>(),
            "displayOrder": -1,
            "calculated": false,
            "externalOptions": false,
            "hasUniqueValue": self.unique,
            "hidden": false,
            "hubspotDefined": !self.name.starts_with("wasync"),
            "formField": !self.read_only,
            "modificationMetadata": {
                "readOnlyValue": self.read_only,
                "readOnlyDefinition": !self.name.starts_with("wasync"),
                "archivable": !self.read_only,
            },
            "createdAt": "2020-01-01T00:00:00.000Z",
            "updatedAt": "2020-01-01T00:00:00.000Z",
            "archived": false,
        })
    }

    /// Checks and normalizes a value written to the property. `Ok(None)` clears it;
    /// `Err` is HubSpot's error code and message for the value.
    pub(crate) fn normalize(&self, value: &str) -> Result<Option<String>, (&'static str, String)> {
        if value.is_empty() {
            return Ok(None);
        }
        match self.ty {
            PropType::String | PropType::Enumeration => Ok(Some(value.to_owned())),
            PropType::Number => match value.trim().parse::<f64>() {
                Ok(n) if n.is_finite() => Ok(Some(value.trim().to_owned())),
                _ => Err((
                    "INVALID_DECIMAL",
                    format!("{value} was not a valid number."),
                )),
            },
            PropType::Bool => match value.to_ascii_lowercase().as_str() {
                "true" => Ok(Some("true".into())),
                "false" => Ok(Some("false".into())),
                _ => Err((
                    "INVALID_BOOLEAN",
                    format!("{value} was not a valid boolean (true or false)."),
                )),
            },
            PropType::Datetime => parse_instant(value)
                .map(|ms| Some(time::iso_z(ms)))
                .ok_or_else(|| {
                    (
                        "INVALID_DATETIME",
                        format!("{value} was not a valid long (epoch milliseconds) or ISO 8601 datetime."),
                    )
                }),
            PropType::Date => parse_instant(value)
                .filter(|ms| ms.rem_euclid(86_400_000) == 0)
                .map(|ms| Some(time::date_string(ms.div_euclid(86_400_000))))
                .ok_or_else(|| {
                    (
                        "INVALID_DATE",
                        format!("{value} is at a time other than midnight UTC, or not a date."),
                    )
                }),
        }
    }
}

/// Milliseconds since the epoch of a filter or property value: epoch milliseconds, an ISO
/// 8601 datetime, or a date (midnight UTC).
pub(crate) fn parse_instant(value: &str) -> Option<i64> {
    let value = value.trim();
    if let Ok(ms) = value.parse::<i64>() {
        return Some(ms);
    }
    time::parse_datetime(value).or_else(|| time::parse_date(value).map(|days| days * 86_400_000))
}

/// An object type.
#[derive(Debug)]
pub(crate) struct ObjectType {
    pub name: &'static str,
    /// The upper-case name in messages (`COMPANY`).
    pub upper: &'static str,
    pub group: &'static str,
    pub properties: &'static [Property],
    /// Returned when a read names no properties.
    pub default_properties: &'static [&'static str],
    /// Searched by a search's free-text `query`.
    pub searchable: &'static [&'static str],
}

impl ObjectType {
    pub(crate) fn property(&self, name: &str) -> Option<&'static Property> {
        self.properties.iter().find(|p| p.name == name)
    }
}

use PropType as P;

const COMPANY_TYPES: &[(&str, &str)] = &[
    ("Prospect", "PROSPECT"),
    ("Partner", "PARTNER"),
    ("Reseller", "RESELLER"),
    ("Vendor", "VENDOR"),
    ("Other", "OTHER"),
];

const INDUSTRIES: &[(&str, &str)] = &[
    ("Accounting", "ACCOUNTING"),
    ("Banking", "BANKING"),
    ("Biotechnology", "BIOTECHNOLOGY"),
    ("Computer Software", "COMPUTER_SOFTWARE"),
    ("Construction", "CONSTRUCTION"),
    ("Consumer Goods", "CONSUMER_GOODS"),
    ("Education Management", "EDUCATION_MANAGEMENT"),
    ("Financial Services", "FINANCIAL_SERVICES"),
    ("Hospital & Health Care", "HOSPITAL_HEALTH_CARE"),
    (
        "Information Technology and Services",
        "INFORMATION_TECHNOLOGY_AND_SERVICES",
    ),
    ("Insurance", "INSURANCE"),
    ("Logistics and Supply Chain", "LOGISTICS_AND_SUPPLY_CHAIN"),
    (
        "Mechanical or Industrial Engineering",
        "MECHANICAL_OR_INDUSTRIAL_ENGINEERING",
    ),
    ("Retail", "RETAIL"),
    ("Telecommunications", "TELECOMMUNICATIONS"),
    ("Utilities", "UTILITIES"),
];

const COMPANY_PROPERTIES: &[Property] = &[
    prop("name", "Name", P::String, "text"),
    prop("domain", "Company Domain Name", P::String, "text"),
    Property {
        options: INDUSTRIES,
        ..prop("industry", "Industry", P::Enumeration, "select")
    },
    Property {
        options: COMPANY_TYPES,
        ..prop("type", "Type", P::Enumeration, "select")
    },
    prop("phone", "Phone Number", P::String, "phonenumber"),
    prop("city", "City", P::String, "text"),
    prop(
        "numberofemployees",
        "Number of Employees",
        P::Number,
        "number",
    ),
    prop("annualrevenue", "Annual Revenue", P::Number, "number"),
    prop("description", "Description", P::String, "textarea"),
    read_only("createdate", "Create Date", P::Datetime, "date"),
    read_only(
        "hs_lastmodifieddate",
        "Last Modified Date",
        P::Datetime,
        "date",
    ),
    read_only("hs_object_id", "Record ID", P::Number, "number"),
    Property {
        unique: true,
        ..prop("wasync_id", "Wasync ID", P::String, "text")
    },
];

const CONTACT_PROPERTIES: &[Property] = &[
    prop("firstname", "First Name", P::String, "text"),
    prop("lastname", "Last Name", P::String, "text"),
    prop("email", "Email", P::String, "text"),
    prop("phone", "Phone Number", P::String, "phonenumber"),
    prop("company", "Company Name", P::String, "text"),
    prop("date_of_birth", "Date of birth", P::Date, "date"),
    prop(
        "hs_email_optout",
        "Unsubscribed from all email",
        P::Bool,
        "booleancheckbox",
    ),
    read_only("createdate", "Create Date", P::Datetime, "date"),
    read_only(
        "hs_lastmodifieddate",
        "Last Modified Date",
        P::Datetime,
        "date",
    ),
    read_only(
        "lastmodifieddate",
        "Last Modified Date",
        P::Datetime,
        "date",
    ),
    read_only("hs_object_id", "Record ID", P::Number, "number"),
    Property {
        unique: true,
        ..prop("wasync_id", "Wasync ID", P::String, "text")
    },
];

/// The portal's object types, in the order of their stores.
pub(crate) const OBJECT_TYPES: &[ObjectType] = &[
    ObjectType {
        name: "companies",
        upper: "COMPANY",
        group: "companyinformation",
        properties: COMPANY_PROPERTIES,
        default_properties: &[
            "name",
            "domain",
            "createdate",
            "hs_lastmodifieddate",
            "hs_object_id",
        ],
        searchable: &["name", "domain", "phone", "wasync_id"],
    },
    ObjectType {
        name: "contacts",
        upper: "CONTACT",
        group: "contactinformation",
        properties: CONTACT_PROPERTIES,
        default_properties: &[
            "firstname",
            "lastname",
            "email",
            "createdate",
            "lastmodifieddate",
            "hs_object_id",
        ],
        searchable: &[
            "firstname",
            "lastname",
            "email",
            "phone",
            "company",
            "wasync_id",
        ],
    },
];

/// The object type named in a path: `companies`, `company` or `0-2`; `contacts`, `contact`
/// or `0-1`.
pub(crate) fn object_type(name: &str) -> Option<usize> {
    match name.to_ascii_lowercase().as_str() {
        "companies" | "company" | "0-2" => Some(0),
        "contacts" | "contact" | "0-1" => Some(1),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_normalized_by_type() {
        let companies = &OBJECT_TYPES[0];
        let number = companies.property("numberofemployees").expect("defined");
        assert_eq!(number.normalize("42"), Ok(Some("42".into())));
        assert!(number.normalize("forty").is_err());
        assert_eq!(number.normalize(""), Ok(None));
        let contacts = &OBJECT_TYPES[1];
        let optout = contacts.property("hs_email_optout").expect("defined");
        assert_eq!(optout.normalize("TRUE"), Ok(Some("true".into())));
        let birthday = contacts.property("date_of_birth").expect("defined");
        assert_eq!(
            birthday.normalize("2000-02-29"),
            Ok(Some("2000-02-29".into()))
        );
        assert!(birthday.normalize("2000-02-29T10:00:00Z").is_err());
        let created = companies.property("createdate").expect("defined");
        assert_eq!(
            created.normalize("0"),
            Ok(Some("1970-01-01T00:00:00.000Z".into()))
        );
    }
}
