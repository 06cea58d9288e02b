//! The stages of a cycle, by name: in the report's times, in quarantine entries, and in the
//! points a test can cut a cycle off at (`WASYNC_ABORT_AT`).

use std::fmt;

/// A stage of the cycle, in the order a cycle runs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    /// 1. Read from sources.
    Read,
    /// 2. Source entity pipeline.
    SourceEntity,
    /// 3. Source field pipelines, data authority.
    SourceFields,
    /// 4. Deduplication and merge.
    Merge,
    /// 5. Save and log.
    Save,
    /// 6. Destination entity pipeline.
    DestinationEntity,
    /// 7. Destination field pipelines.
    DestinationFields,
    /// 8. Write to destinations.
    Write,
    /// After the eight: the source watermarks move.
    Watermarks,
}

impl Stage {
    /// Every stage, in order.
    pub const ALL: [Stage; 9] = [
        Stage::Read,
        Stage::SourceEntity,
        Stage::SourceFields,
        Stage::Merge,
        Stage::Save,
        Stage::DestinationEntity,
        Stage::DestinationFields,
        Stage::Write,
        Stage::Watermarks,
    ];

    /// Its name, as quarantine entries, reports and abort points spell it.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Read => "read",
            Stage::SourceEntity => "source-entity",
            Stage::SourceFields => "source-fields",
            Stage::Merge => "merge",
            Stage::Save => "save",
            Stage::DestinationEntity => "destination-entity",
            Stage::DestinationFields => "destination-fields",
            Stage::Write => "write",
            Stage::Watermarks => "watermarks",
        }
    }

    /// The stage named `name`.
    pub fn parse(name: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|s| s.name() == name)
    }

    /// Whether a record that failed here is retried by taking its source record in again
    /// (stages 1–4); a failure in stages 6–8 is retried by writing it again.
    pub fn on_source_side(self) -> bool {
        self <= Stage::Merge
    }

    /// Whether a record that failed here is retried at its destination (stages 6–8).
    pub fn on_destination_side(self) -> bool {
        (Stage::DestinationEntity..=Stage::Write).contains(&self)
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Time per stage, in the order they ran.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stages(Vec<(Stage, f64)>);

impl Stages {
    /// Adds `ms` to `stage`'s time: destination stages run once per chunk and destination.
    pub fn add(&mut self, stage: Stage, ms: f64) {
        match self.0.binary_search_by_key(&stage, |(s, _)| *s) {
            Ok(at) => self.0[at].1 += ms,
            Err(at) => self.0.insert(at, (stage, ms)),
        }
    }

    /// Each stage's total, in order.
    pub fn iter(&self) -> impl Iterator<Item = (Stage, f64)> + '_ {
        self.0.iter().copied()
    }

    /// Milliseconds spent in all stages.
    pub fn total(&self) -> f64 {
        self.0.iter().map(|(_, ms)| ms).sum()
    }
}

/// A JSON object from stage name to milliseconds, in stage order.
impl serde::Serialize for Stages {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(s, ms)| (s.name(), ms)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_sides_split_at_save() {
        for stage in Stage::ALL {
            assert_eq!(Stage::parse(stage.name()), Some(stage));
            assert!(!(stage.on_source_side() && stage.on_destination_side()));
        }
        assert!(Stage::Merge.on_source_side() && !Stage::Save.on_source_side());
        assert!(Stage::Write.on_destination_side() && !Stage::Watermarks.on_destination_side());
        assert_eq!(Stage::parse("nope"), None);
    }

    #[test]
    fn times_add_up_in_stage_order() {
        let mut stages = Stages::default();
        stages.add(Stage::Write, 1.0);
        stages.add(Stage::Read, 2.0);
        stages.add(Stage::Write, 3.0);
        assert_eq!(
            stages.iter().collect::<Vec<_>>(),
            [(Stage::Read, 2.0), (Stage::Write, 4.0)]
        );
        let json = serde_json::to_string(&stages).expect("serializes");
        assert_eq!(json, r#"{"read":2.0,"write":4.0}"#);
    }
}
