//! `POST /crm/v3/objects/{type}/search`: filter groups (OR) of filters (AND), one sort
//! with ties by ascending id, offset paging capped at 10,000 results.

use std::cmp::Ordering;
use std::time::Instant;

use serde_json::{Value, json};

use super::objects::{Ctx, parse_body, render};
use super::schema::{PropType, Property, parse_instant};
use super::{PortalState, Stored};
use crate::server::{Incoming, Reply};

/// Filter groups per search (ORed).
const MAX_GROUPS: usize = 5;
/// Filters per group (ANDed).
const MAX_FILTERS_PER_GROUP: usize = 6;
/// Filters per search, all groups together.
const MAX_FILTERS: usize = 18;
/// Results per page.
const MAX_LIMIT: u64 = 200;
/// Results one query can page through: a page may not start at or past it.
const MAX_RESULTS: u64 = 10_000;

/// A value in a form that compares by the property's type.
#[derive(Debug, Clone, PartialEq)]
enum Typed {
    Num(f64),
    Bool(bool),
    /// Lower-cased: HubSpot's string comparisons ignore case.
    Text(String),
}

impl Typed {
    fn of(property: &Property, value: &str) -> Option<Typed> {
        match property.ty {
            PropType::Number => value
                .trim()
                .parse()
                .ok()
                .filter(|n: &f64| n.is_finite())
                .map(Typed::Num),
            PropType::Datetime | PropType::Date => {
                parse_instant(value).map(|ms| Typed::Num(ms as f64))
            }
            PropType::Bool => match value.to_ascii_lowercase().as_str() {
                "true" => Some(Typed::Bool(true)),
                "false" => Some(Typed::Bool(false)),
                _ => None,
            },
            PropType::String | PropType::Enumeration => Some(Typed::Text(value.to_lowercase())),
        }
    }

    fn compare(&self, other: &Typed) -> Option<Ordering> {
        match (self, other) {
            (Typed::Num(a), Typed::Num(b)) => a.partial_cmp(b),
            (Typed::Bool(a), Typed::Bool(b)) => Some(a.cmp(b)),
            (Typed::Text(a), Typed::Text(b)) => Some(a.cmp(b)),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operator {
    Eq,
    Neq,
    Lt,
    Lte,
    Gt,
    Gte,
    Between,
    In,
    NotIn,
    HasProperty,
    NotHasProperty,
    ContainsToken,
    NotContainsToken,
}

impl Operator {
    fn parse(name: &str) -> Option<Operator> {
        Some(match name {
            "EQ" => Operator::Eq,
            "NEQ" => Operator::Neq,
            "LT" => Operator::Lt,
            "LTE" => Operator::Lte,
            "GT" => Operator::Gt,
            "GTE" => Operator::Gte,
            "BETWEEN" => Operator::Between,
            "IN" => Operator::In,
            "NOT_IN" => Operator::NotIn,
            "HAS_PROPERTY" => Operator::HasProperty,
            "NOT_HAS_PROPERTY" => Operator::NotHasProperty,
            "CONTAINS_TOKEN" => Operator::ContainsToken,
            "NOT_CONTAINS_TOKEN" => Operator::NotContainsToken,
            _ => return None,
        })
    }
}

#[derive(Debug)]
struct Filter {
    property: &'static Property,
    operator: Operator,
    value: Option<Typed>,
    high: Option<Typed>,
    values: Vec<Typed>,
    /// For the token operators: the lower-cased text, `*` wildcards removed.
    token: String,
}

impl Filter {
    fn matches(&self, stored: &Stored) -> bool {
        let raw = stored.props.get(self.property.name);
        let have = raw.and_then(|v| Typed::of(self.property, v));
        let cmp = |want: &Option<Typed>| {
            have.as_ref()
                .zip(want.as_ref())
                .and_then(|(h, w)| h.compare(w))
        };
        match self.operator {
            Operator::HasProperty => raw.is_some(),
            Operator::NotHasProperty => raw.is_none(),
            Operator::Eq => cmp(&self.value) == Some(Ordering::Equal),
            Operator::Neq => cmp(&self.value) != Some(Ordering::Equal),
            Operator::Lt => cmp(&self.value) == Some(Ordering::Less),
            Operator::Lte => matches!(cmp(&self.value), Some(Ordering::Less | Ordering::Equal)),
            Operator::Gt => cmp(&self.value) == Some(Ordering::Greater),
            Operator::Gte => matches!(cmp(&self.value), Some(Ordering::Greater | Ordering::Equal)),
            Operator::Between => {
                matches!(cmp(&self.value), Some(Ordering::Greater | Ordering::Equal))
                    && matches!(cmp(&self.high), Some(Ordering::Less | Ordering::Equal))
            }
            Operator::In | Operator::NotIn => {
                let found = have.as_ref().is_some_and(|h| {
                    self.values
                        .iter()
                        .any(|v| h.compare(v) == Some(Ordering::Equal))
                });
                found == (self.operator == Operator::In)
            }
            Operator::ContainsToken | Operator::NotContainsToken => {
                let found = raw.is_some_and(|v| {
                    v.to_lowercase()
                        .split(|c: char| !c.is_alphanumeric())
                        .any(|word| word.contains(&self.token))
                });
                found == (self.operator == Operator::ContainsToken)
            }
        }
    }
}

#[derive(Debug)]
struct Sort {
    property: &'static Property,
    descending: bool,
}

#[derive(Debug)]
struct Request {
    groups: Vec<Vec<Filter>>,
    sort: Option<Sort>,
    query: Option<String>,
    properties: Vec<String>,
    limit: u64,
    after: u64,
}

/// Reads a value that may be a JSON string, number or boolean as text.
fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Reads a non-negative integer given as a JSON number or string.
fn count(value: Option<&Value>) -> Result<Option<u64>, ()> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(value) => match text(value) {
            Some(t) if t.trim().is_empty() => Ok(None),
            Some(t) => t.trim().parse::<u64>().map(Some).map_err(|_| ()),
            None => Err(()),
        },
    }
}

fn parse_request(ctx: &Ctx<'_>, body: &Value) -> Result<Request, String> {
    let ty = ctx.object_type;
    if !body.is_object() {
        return Err("Invalid input JSON: the search request must be an object".into());
    }
    let groups_json = match body.get("filterGroups") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(groups)) => groups.clone(),
        Some(_) => return Err("Invalid input JSON: filterGroups must be an array".into()),
    };
    if groups_json.len() > MAX_GROUPS {
        return Err(format!(
            "Too many filter groups: {} were given, at most {MAX_GROUPS} are allowed",
            groups_json.len()
        ));
    }
    let mut groups = Vec::with_capacity(groups_json.len());
    let mut total_filters = 0;
    for group in &groups_json {
        let Some(filters_json) = group.get("filters").and_then(Value::as_array) else {
            return Err("Invalid input JSON: each filter group needs a filters array".into());
        };
        if filters_json.len() > MAX_FILTERS_PER_GROUP {
            return Err(format!(
                "Too many filters in a filter group: {} were given, at most {MAX_FILTERS_PER_GROUP} are allowed",
                filters_json.len()
            ));
        }
        total_filters += filters_json.len();
        let mut filters = Vec::with_capacity(filters_json.len());
        for filter in filters_json {
            filters.push(parse_filter(ty, filter)?);
        }
        groups.push(filters);
    }
    if total_filters > MAX_FILTERS {
        return Err(format!(
            "Too many filters: {total_filters} were given, at most {MAX_FILTERS} are allowed in all filter groups together"
        ));
    }
    let sorts = match body.get("sorts") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(sorts)) => sorts.clone(),
        Some(_) => return Err("Invalid input JSON: sorts must be an array".into()),
    };
    if sorts.len() > 1 {
        return Err("Only one sort is supported per search".into());
    }
    let sort = match sorts.first() {
        None => None,
        Some(sort) => {
            let (name, descending) = match sort {
                Value::String(s) => match s.strip_prefix('-') {
                    Some(name) => (name.to_owned(), true),
                    None => (s.clone(), false),
                },
                Value::Object(_) => {
                    let Some(name) = sort.get("propertyName").and_then(Value::as_str) else {
                        return Err("Invalid input JSON: a sort needs a propertyName".into());
                    };
                    let descending = match sort.get("direction").and_then(Value::as_str) {
                        None | Some("ASCENDING") => false,
                        Some("DESCENDING") => true,
                        Some(other) => {
                            return Err(format!(
                                "Invalid sort direction {other}: use ASCENDING or DESCENDING"
                            ));
                        }
                    };
                    (name.to_owned(), descending)
                }
                _ => return Err("Invalid input JSON: a sort is a string or an object".into()),
            };
            let Some(property) = ty.property(&name) else {
                return Err(format!("Cannot sort by unknown property {name}"));
            };
            Some(Sort {
                property,
                descending,
            })
        }
    };
    let properties = match body.get("properties") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(names)) => names
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        Some(_) => return Err("Invalid input JSON: properties must be an array".into()),
    };
    let limit = count(body.get("limit"))
        .map_err(|()| "Invalid input JSON: limit must be a non-negative integer".to_owned())?
        .unwrap_or(10);
    if limit > MAX_LIMIT {
        return Err(format!(
            "limit must be less than or equal to {MAX_LIMIT}, got {limit}"
        ));
    }
    let after = count(body.get("after"))
        .map_err(|()| "Invalid input JSON: after must be a non-negative integer".to_owned())?
        .unwrap_or(0);
    if after >= MAX_RESULTS {
        return Err(format!(
            "The search API returns at most {MAX_RESULTS} results for a query; after={after} is past them. Narrow the query (for example by a date range) instead of paging further."
        ));
    }
    let query = body
        .get("query")
        .and_then(Value::as_str)
        .map(str::to_lowercase)
        .filter(|q| !q.trim().is_empty());
    Ok(Request {
        groups,
        sort,
        query,
        properties,
        limit,
        after,
    })
}

fn parse_filter(ty: &super::schema::ObjectType, filter: &Value) -> Result<Filter, String> {
    let Some(name) = filter.get("propertyName").and_then(Value::as_str) else {
        return Err("Invalid input JSON: a filter needs a propertyName".into());
    };
    let Some(property) = ty.property(name) else {
        return Err(format!(
            "There was a problem with the request: unknown property {name} in a filter"
        ));
    };
    let operator_name = filter.get("operator").and_then(Value::as_str).unwrap_or("");
    let Some(operator) = Operator::parse(operator_name) else {
        return Err(format!("Invalid filter operator: {operator_name}"));
    };
    let typed = |key: &str| -> Result<Option<Typed>, String> {
        match filter.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => {
                let raw = text(value)
                    .ok_or_else(|| format!("Invalid filter {key} for {name}: {value}"))?;
                Typed::of(property, &raw).map(Some).ok_or_else(|| {
                    format!("Invalid filter {key} for {name} ({:?}): {raw}", property.ty)
                })
            }
        }
    };
    let value = typed("value")?;
    let high = typed("highValue")?;
    let values = match filter.get("values") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(values)) => values
            .iter()
            .map(|v| {
                text(v)
                    .and_then(|raw| Typed::of(property, &raw))
                    .ok_or_else(|| format!("Invalid filter value for {name}: {v}"))
            })
            .collect::<Result<_, _>>()?,
        Some(other) => return Err(format!("Invalid filter values for {name}: {other}")),
    };
    let token = filter
        .get("value")
        .and_then(text)
        .map(|t| t.to_lowercase().replace('*', ""))
        .unwrap_or_default();
    let needs_value = matches!(
        operator,
        Operator::Eq
            | Operator::Neq
            | Operator::Lt
            | Operator::Lte
            | Operator::Gt
            | Operator::Gte
            | Operator::Between
            | Operator::ContainsToken
            | Operator::NotContainsToken
    );
    if needs_value && value.is_none() {
        return Err(format!("Filter {operator_name} on {name} needs a value"));
    }
    if operator == Operator::Between && high.is_none() {
        return Err(format!("Filter BETWEEN on {name} needs a highValue"));
    }
    if matches!(operator, Operator::In | Operator::NotIn) && values.is_empty() {
        return Err(format!("Filter {operator_name} on {name} needs values"));
    }
    Ok(Filter {
        property,
        operator,
        value,
        high,
        values,
        token,
    })
}

impl Request {
    fn matches(&self, searchable: &[&str], stored: &Stored) -> bool {
        let filtered = self.groups.is_empty()
            || self
                .groups
                .iter()
                .any(|group| group.iter().all(|f| f.matches(stored)));
        filtered
            && self.query.as_ref().is_none_or(|q| {
                searchable.iter().any(|p| {
                    stored
                        .props
                        .get(*p)
                        .is_some_and(|v| v.to_lowercase().contains(q.as_str()))
                })
            })
    }
}

/// `POST /crm/v3/objects/{type}/search`.
pub(crate) fn search(ctx: &Ctx<'_>, state: &PortalState, req: &Incoming) -> Reply {
    let body = match parse_body(ctx, req) {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    let request = match parse_request(ctx, &body) {
        Ok(request) => request,
        Err(message) => return super::error(ctx.core, 400, "VALIDATION_ERROR", &message),
    };
    let now = Instant::now();
    let ty = ctx.object_type;
    let mut matched: Vec<(u64, &Stored, Option<Typed>)> = state.stores[ctx.ty]
        .objects
        .values()
        .filter_map(|o| {
            o.searchable(ctx.delay, now)
                .filter(|s| s.archived_at.is_none())
                .map(|s| (o.id, s))
        })
        .filter(|(_, s)| request.matches(ty.searchable, s))
        .map(|(id, s)| {
            let key = request.sort.as_ref().and_then(|sort| {
                s.props
                    .get(sort.property.name)
                    .and_then(|v| Typed::of(sort.property, v))
            });
            (id, s, key)
        })
        .collect();
    // One sort at most; objects without the property come last; ties by ascending id (or
    // descending, when asked to).
    let descending = request.sort.as_ref().is_some_and(|s| s.descending);
    matched.sort_by(|(a_id, _, a), (b_id, _, b)| {
        let by_value = match (a, b) {
            (Some(a), Some(b)) => {
                let ordering = a.compare(b).unwrap_or(Ordering::Equal);
                if descending {
                    ordering.reverse()
                } else {
                    ordering
                }
            }
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        };
        match ctx.ties_descending {
            true => by_value.then(b_id.cmp(a_id)),
            false => by_value.then(a_id.cmp(b_id)),
        }
    });
    let total = matched.len() as u64;
    let names: Vec<String> = if request.properties.is_empty() {
        ty.default_properties
            .iter()
            .map(|p| (*p).to_owned())
            .collect()
    } else {
        request.properties.clone()
    };
    let start = request.after.min(total);
    let end = (request.after + request.limit).min(total).min(MAX_RESULTS);
    let results: Vec<_> = matched[start as usize..end as usize]
        .iter()
        .map(|(id, s, _)| render(ty, *id, s, Some(&names)))
        .collect();
    let mut out = json!({ "total": total, "results": results });
    // No paging without progress (`limit: 0` only counts).
    if end < total && end > start {
        out["paging"] =
            json!({ "next": { "after": end.to_string(), "link": format!("?after={end}") } });
    }
    Reply::json(200, &out)
}
