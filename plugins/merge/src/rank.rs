//! The winner rules: candidates ranked best first.

use serde::Deserialize;
use std::cmp::{Ordering, Reverse};
use wasync_sdk::Candidate;

/// Which duplicate stays.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Winner {
    /// Created first.
    #[default]
    Oldest,
    /// Changed last; ties go to the oldest.
    Newest,
    /// Most non-empty fields; ties go to the oldest.
    MostComplete,
    /// Last changed by the best source of `sources`; ties go to the oldest.
    SourcePriority,
}

/// Indices of the live (not deleted) candidates, best first by `winner`. Candidates the
/// rule cannot tell apart keep their order in the group.
pub fn rank(group: &[Candidate], winner: Winner, sources: &[String]) -> Vec<usize> {
    let mut live: Vec<usize> = (0..group.len())
        .filter(|&i| !group[i].record.deleted)
        .collect();
    live.sort_by(|&a, &b| compare(&group[a], &group[b], winner, sources));
    live
}

/// Orders two candidates, the better first.
fn compare(a: &Candidate, b: &Candidate, winner: Winner, sources: &[String]) -> Ordering {
    let first = match winner {
        Winner::Oldest => Ordering::Equal,
        Winner::Newest => Reverse(a.updated).cmp(&Reverse(b.updated)),
        Winner::MostComplete => Reverse(filled(a)).cmp(&Reverse(filled(b))),
        Winner::SourcePriority => priority(a, sources).cmp(&priority(b, sources)),
    };
    first.then(a.created.cmp(&b.created))
}

/// How many of a candidate's fields hold a value.
fn filled(candidate: &Candidate) -> usize {
    candidate
        .record
        .fields
        .iter()
        .filter(|f| !f.value.is_empty())
        .count()
}

/// The position of a candidate's source in `sources`; unlisted sources after all listed.
fn priority(candidate: &Candidate, sources: &[String]) -> usize {
    sources
        .iter()
        .position(|s| *s == candidate.source)
        .unwrap_or(sources.len())
}
