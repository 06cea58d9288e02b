//! The stored objects: each object's states, the objects of a type with their unique
//! values, the portal's data, and the changes made since the webhooks last looked.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, Instant};

use super::objects;
use super::schema::{OBJECT_TYPES, ObjectType};
use crate::time;

/// One state of an object.
#[derive(Debug, Clone)]
pub(crate) struct Stored {
    /// Properties with a value, the always-present ones included.
    pub props: BTreeMap<String, String>,
    pub created: i64,
    pub updated: i64,
    pub archived_at: Option<i64>,
}

/// An object and, when search lags, its recent states.
#[derive(Debug)]
pub(crate) struct Obj {
    pub id: u64,
    pub current: Stored,
    /// States with the instant they were written, oldest first; kept only while search
    /// visibility lags, and only those search may still see.
    versions: VecDeque<(Instant, Stored)>,
}

impl Obj {
    /// The state search sees: the newest written at least `delay` ago.
    pub(crate) fn searchable(&self, delay: Duration, now: Instant) -> Option<&Stored> {
        if delay.is_zero() {
            return Some(&self.current);
        }
        self.versions
            .iter()
            .rev()
            .find(|(at, _)| now.saturating_duration_since(*at) >= delay)
            .map(|(_, s)| s)
    }

    fn remember(&mut self, delay: Duration) {
        if delay.is_zero() {
            return;
        }
        let now = Instant::now();
        self.versions.push_back((now, self.current.clone()));
        while self.versions.len() >= 2 && now.saturating_duration_since(self.versions[1].0) >= delay
        {
            self.versions.pop_front();
        }
    }
}

/// What happened to an object, as a webhook subscription sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Kind {
    Creation,
    /// A property took a new value (`""` when cleared).
    PropertyChange {
        name: String,
        value: String,
    },
    Deletion,
}

/// One change to an object, not yet handed to the webhooks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Changed {
    pub id: u64,
    pub kind: Kind,
    /// When, in milliseconds since the epoch (the write's `hs_lastmodifieddate`).
    pub at: i64,
}

/// Properties HubSpot computes on every write; webhooks cannot subscribe to them.
const UNSUBSCRIBABLE: [&str; 2] = ["hs_lastmodifieddate", "lastmodifieddate"];

/// The objects of one type.
#[derive(Debug, Default)]
pub(crate) struct Store {
    pub objects: BTreeMap<u64, Obj>,
    /// (unique property, value) of live objects → id.
    unique: HashMap<(String, String), u64>,
    /// Changes since the portal last took them, in the order they were made.
    pub changed: Vec<Changed>,
}

impl Store {
    /// A live (not archived) object.
    pub(crate) fn live(&self, id: u64) -> Option<&Obj> {
        self.objects
            .get(&id)
            .filter(|o| o.current.archived_at.is_none())
    }

    /// The live object holding `value` in the unique property `property`.
    pub(crate) fn holder(&self, property: &str, value: &str) -> Option<u64> {
        self.unique
            .get(&(property.to_owned(), value.to_owned()))
            .copied()
    }

    /// Whether `changes` would give another live object's unique value to `id` (`None`:
    /// a new object); `Err` holds the other object's id.
    pub(crate) fn check_unique(
        &self,
        changes: &objects::Changes,
        id: Option<u64>,
    ) -> Result<(), u64> {
        for (property, value) in changes {
            if let Some(value) = value
                && let Some(holder) = self.holder(property.name, value)
                && property.unique
                && Some(holder) != id
            {
                return Err(holder);
            }
        }
        Ok(())
    }

    fn index(&mut self, id: u64, ty: &ObjectType, add: bool) {
        let Some(object) = self.objects.get(&id) else {
            return;
        };
        let keys: Vec<(String, String)> = ty
            .properties
            .iter()
            .filter(|p| p.unique)
            .filter_map(|p| {
                object
                    .current
                    .props
                    .get(p.name)
                    .map(|v| (p.name.to_owned(), v.clone()))
            })
            .collect();
        for key in keys {
            if add {
                self.unique.insert(key, id);
            } else if self.unique.get(&key) == Some(&id) {
                self.unique.remove(&key);
            }
        }
    }

    /// Applies validated changes to a live object and bumps its modification date.
    pub(crate) fn update(
        &mut self,
        ty: &ObjectType,
        id: u64,
        changes: objects::Changes,
        now: i64,
        delay: Duration,
    ) {
        self.index(id, ty, false);
        if let Some(object) = self.objects.get_mut(&id) {
            for (property, value) in changes {
                let old = object.current.props.get(property.name);
                if old != value.as_ref() && !UNSUBSCRIBABLE.contains(&property.name) {
                    self.changed.push(Changed {
                        id,
                        kind: Kind::PropertyChange {
                            name: property.name.to_owned(),
                            value: value.clone().unwrap_or_default(),
                        },
                        at: now,
                    });
                }
                match value {
                    Some(value) => object.current.props.insert(property.name.to_owned(), value),
                    None => object.current.props.remove(property.name),
                };
            }
            object.current.updated = now;
            stamp_modified(ty, &mut object.current.props, now);
            object.remember(delay);
        }
        self.index(id, ty, true);
    }

    /// Archives a live object; unknown and archived ones are left alone.
    pub(crate) fn archive(&mut self, ty: &ObjectType, id: u64, now: i64, delay: Duration) {
        if self.live(id).is_none() {
            return;
        }
        self.index(id, ty, false);
        if let Some(object) = self.objects.get_mut(&id) {
            object.current.archived_at = Some(now);
            object.current.updated = now;
            object.remember(delay);
            self.changed.push(Changed {
                id,
                kind: Kind::Deletion,
                at: now,
            });
        }
    }
}

fn stamp_modified(ty: &ObjectType, props: &mut BTreeMap<String, String>, now: i64) {
    props.insert("hs_lastmodifieddate".into(), time::iso_z(now));
    if ty.property("lastmodifieddate").is_some() {
        props.insert("lastmodifieddate".into(), time::iso_z(now));
    }
}

#[derive(Debug)]
pub(crate) struct PortalState {
    pub stores: Vec<Store>,
    next_id: u64,
    pub calls: u64,
    pub ten_secondly: VecDeque<Instant>,
    pub searches: VecDeque<Instant>,
    /// The last webhook `eventId` handed out.
    pub last_event_id: u64,
}

impl Default for PortalState {
    fn default() -> PortalState {
        PortalState {
            stores: OBJECT_TYPES.iter().map(|_| Store::default()).collect(),
            // Small ids cross digit counts early, so that clients comparing ids as text
            // instead of numbers fail here rather than in production.
            next_id: 1,
            calls: 0,
            ten_secondly: VecDeque::new(),
            searches: VecDeque::new(),
            last_event_id: 0,
        }
    }
}

impl PortalState {
    /// Takes the changes made since the last call, by object type, in order.
    pub(crate) fn take_changes(&mut self) -> Vec<(usize, Changed)> {
        let mut taken = Vec::new();
        for (ty, store) in self.stores.iter_mut().enumerate() {
            taken.extend(store.changed.drain(..).map(|c| (ty, c)));
        }
        taken
    }

    /// Creates an object from validated changes (unique values already checked).
    pub(crate) fn create(
        &mut self,
        ty: usize,
        changes: objects::Changes,
        now: i64,
        delay: Duration,
    ) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        let object_type = &OBJECT_TYPES[ty];
        let mut props: BTreeMap<String, String> = changes
            .into_iter()
            .filter_map(|(p, v)| v.map(|v| (p.name.to_owned(), v)))
            .collect();
        props.insert("hs_object_id".into(), id.to_string());
        props.insert("createdate".into(), time::iso_z(now));
        stamp_modified(object_type, &mut props, now);
        let mut object = Obj {
            id,
            current: Stored {
                props,
                created: now,
                updated: now,
                archived_at: None,
            },
            versions: VecDeque::new(),
        };
        object.remember(delay);
        let store = &mut self.stores[ty];
        store.objects.insert(id, object);
        store.index(id, object_type, true);
        store.changed.push(Changed {
            id,
            kind: Kind::Creation,
            at: now,
        });
        id
    }
}
