//! Stage 4, deduplication and merge: the merge policy's match keys find groups of duplicates
//! among the changed records and the stored ones; the policy picks each group's winner and
//! its merged fields; losers are deleted and their ID mappings move to the winner.
//! A dry run only reports groups; a group larger than `max_group` is reported, not merged.

use super::build::Merge;
use super::stage::Stage;
use super::work::{Batch, Cycle, Op, Work};
use super::{Pipeline, Report, per_item};
use crate::store::{Stamp, Store, Unified};
use crate::value::describe;
use crate::wit::merge::Candidate;
use crate::wit::{Record, Value};
use std::collections::{BTreeMap, BTreeSet};

fn as_record(u: &Unified) -> Record {
    super::record_of(u.clone())
}

/// Runs stage 4 over the batch's changed records.
pub fn dedupe(cx: &mut Cycle<'_>) -> anyhow::Result<()> {
    let (p, store, batch, report, now) = cx.parts();
    let Some(merge) = &p.merge else { return Ok(()) };
    let changed: Vec<String> = batch
        .work
        .iter()
        .filter(|(_, w)| !w.ops.is_empty() && !w.after.deleted && !w.event)
        .map(|(id, _)| id.clone())
        .collect();
    if changed.is_empty() {
        return Ok(());
    }
    let records: Vec<Record> = changed
        .iter()
        .map(|id| as_record(&batch.work[id].after))
        .collect();
    let found = per_item(
        &mut merge.policy.instance.lock(),
        &records,
        |policy, chunk| Ok(policy.match_keys(chunk)?.into_iter().map(Ok).collect()),
    );
    drop(records);
    let mut changed_ids = Vec::with_capacity(changed.len());
    let mut keys = Vec::with_capacity(changed.len());
    for (id, found) in changed.into_iter().zip(found) {
        match found {
            Ok(k) => {
                changed_ids.push(id);
                keys.push(k);
            }
            Err(reason) => set_aside(
                p,
                batch,
                &id,
                format!("{}: {reason}", merge.policy.label),
                now,
            ),
        }
    }
    let changed = changed_ids;

    // Group by shared keys, with stored records that share them (union-find over ids).
    let mut parent: BTreeMap<String, String> = BTreeMap::new();
    fn root(parent: &mut BTreeMap<String, String>, id: &str) -> String {
        let mut at = id.to_owned();
        while let Some(up) = parent.get(&at).filter(|up| **up != at) {
            at = up.clone();
        }
        at
    }
    let mut by_key: BTreeMap<&String, Vec<String>> = BTreeMap::new();
    for (id, record_keys) in changed.iter().zip(&keys) {
        parent.entry(id.clone()).or_insert_with(|| id.clone());
        batch.work.get_mut(id).expect("changed record").keys = Some(record_keys.clone());
        for key in record_keys {
            let members = by_key.entry(key).or_default();
            if members.is_empty() {
                members.extend(store.read().ids_with_key(&p.entity, key)?);
            }
            members.push(id.clone());
        }
    }
    for members in by_key.values() {
        for member in members {
            parent
                .entry(member.clone())
                .or_insert_with(|| member.clone());
        }
        if let Some(first) = members.first() {
            for member in &members[1..] {
                let (a, b) = (root(&mut parent, first), root(&mut parent, member));
                if a != b {
                    parent.insert(b, a);
                }
            }
        }
    }
    let mut groups: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for id in parent.keys().cloned().collect::<Vec<_>>() {
        let r = root(&mut parent, &id);
        groups.entry(r).or_default().insert(id);
    }
    let groups: Vec<Vec<String>> = groups
        .into_values()
        .map(|g| g.into_iter().collect::<Vec<_>>())
        .filter(|g| g.len() > 1)
        .collect();

    for group in groups {
        if group.len() > merge.max_group {
            report.merge_reports.push(format!(
                "not merged: a group of {} records exceeds max_group {} ({})",
                group.len(),
                merge.max_group,
                group.join(", ")
            ));
            continue;
        }
        if merge.dry_run {
            report
                .merge_reports
                .push(format!("would merge: {}", group.join(", ")));
            continue;
        }
        resolve(p, merge, store, batch, report, &group, now)?;
    }
    Ok(())
}

/// Resolves one group with the policy and applies the outcome to the working set. A member
/// the store no longer has (deleted by a hand, say) is left out, and the policy's answer is
/// read against the members it was shown.
fn resolve(
    p: &Pipeline,
    merge: &Merge,
    store: &Store,
    batch: &mut Batch,
    report: &mut Report,
    group: &[String],
    now: i64,
) -> anyhow::Result<()> {
    let (members, candidates) = gather(&p.entity, store, batch, group)?;
    if members.len() < 2 {
        return Ok(());
    }
    let group = members.as_slice();
    let resolved = merge.policy.instance.lock().resolve(&[candidates]);
    let resolution = match resolved.map(|mut r| r.pop()) {
        Ok(Some(Ok(resolution))) => resolution,
        Err(error) => {
            // The policy itself failed: the group's changes wait in quarantine for a retry.
            let reason = format!("{}: {error}", merge.policy.label);
            for id in group {
                set_aside(p, batch, id, reason.clone(), now);
            }
            return Ok(());
        }
        Ok(Some(Err(error))) => {
            report.merge_reports.push(format!(
                "not merged: {}: {} ({})",
                merge.policy.label,
                describe(&error),
                group.join(", ")
            ));
            return Ok(());
        }
        Ok(None) => return Ok(()),
    };
    let Some(winner) = group.get(resolution.winner as usize).cloned() else {
        report.merge_reports.push(format!(
            "not merged: {} named no member as winner",
            merge.policy.label
        ));
        return Ok(());
    };
    let stamp = Stamp {
        source: format!("merge/{}", p.entity).into(),
        at: now,
    };
    let w = batch.work.get_mut(&winner).expect("loaded above");
    for f in resolution.fields {
        if w.after.fields.get(&f.name) != Some(&f.value) {
            let by = Some(merge.policy.label.as_str().into());
            w.set_as("merge", &f.name, f.value, stamp.clone(), by);
        }
    }
    for loser in group.iter().filter(|id| **id != winner) {
        let l = batch.work.get_mut(loser).expect("loaded above");
        l.after.deleted = true;
        l.keys = Some(Vec::new());
        l.ops.push(Op {
            op: "merge",
            field: None,
            old: None,
            new: Some(Value::Text(winner.clone())),
            source: stamp.source.clone(),
            plugin: Some(merge.policy.label.as_str().into()),
        });
        batch.merges.push((loser.clone(), winner.clone()));
        report.merged += 1;
    }
    Ok(())
}

/// The members of `group` the policy is shown, each with its candidate (candidate `i` is
/// member `i`, which the policy's winner index refers to): from the batch, else loaded from
/// the store; one in neither is left out.
fn gather(
    entity: &str,
    store: &Store,
    batch: &mut Batch,
    group: &[String],
) -> anyhow::Result<(Vec<String>, Vec<Candidate>)> {
    let mut members = Vec::with_capacity(group.len());
    let mut candidates = Vec::with_capacity(group.len());
    for id in group {
        if !batch.work.contains_key(id) {
            let Some(stored) = store.record(entity, id)? else {
                continue;
            };
            batch.work.insert(id.clone(), Work::existing(stored));
        }
        let u = &batch.work[id].after;
        candidates.push(Candidate {
            record: as_record(u),
            source: u.source.clone(),
            created: u.created,
            updated: u.updated,
        });
        members.push(id.clone());
    }
    Ok((members, candidates))
}

/// Sets aside the records read this cycle that changed unified record `id`, and drops its
/// changes from the batch: a merge policy failed on it, and a retry runs them again. A
/// record only loaded for its group (changed by nobody this cycle) has nothing to set aside.
fn set_aside(p: &Pipeline, batch: &mut Batch, id: &str, reason: String, now: i64) {
    let Some(w) = batch.work.get(id).filter(|w| !w.inputs.is_empty()) else {
        return;
    };
    let inputs = w.inputs.clone();
    batch.work.remove(id);
    for at in inputs {
        let item = batch.taken[at].clone();
        // A retry that failed again is not resolved: its entry stays, with another attempt.
        if let Some(q) = item.retry_of {
            batch.resolved.retain(|r| *r != q);
        }
        super::read::set_aside(
            p,
            batch,
            item.source,
            Stage::Merge,
            &item.record,
            reason.clone(),
            now,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Candidate `i` is member `i` even when a member is missing: the policy's winner index
    /// used to be read against the whole group, naming the wrong winner or panicking.
    #[test]
    fn a_member_in_neither_batch_nor_store_is_left_out_of_both_lists() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("s.db")).expect("open");
        let mut batch = Batch::default();
        for id in ["a", "b"] {
            batch.work.insert(id.into(), Work::new(id, "src", 1));
        }
        let group = ["a", "ghost", "b"].map(String::from);
        let (members, candidates) = gather("Account", &store, &mut batch, &group).expect("gathers");
        assert_eq!(members, ["a", "b"]);
        let ids: Vec<&str> = candidates.iter().map(|c| c.record.id.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
    }
}
