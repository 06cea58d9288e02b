//! Stage 4, deduplication and merge: the merge policy's match keys find groups of duplicates
//! among the changed records and the stored ones; the policy picks each group's winner and
//! its merged fields; losers are deleted and their ID mappings move to the winner.
//! A dry run only reports groups; a group larger than `max_group` is reported, not merged.

use super::build::Merge;
use super::work::{Batch, Op, Work};
use super::{Pipeline, Report};
use crate::plugin::bindings::merge_policy::exports::wasync::plugin::merge::Candidate;
use crate::plugin::bindings::{Record, Value};
use crate::store::{Stamp, Store, Unified};
use crate::value::describe;
use std::collections::{BTreeMap, BTreeSet};

fn as_record(u: &Unified) -> Record {
    super::record_of(u.clone())
}

/// Runs stage 4 over the batch's changed records.
pub fn dedupe(
    p: &Pipeline,
    store: &Store,
    batch: &mut Batch,
    report: &mut Report,
    now: i64,
) -> anyhow::Result<()> {
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
    let keys = merge.policy.instance.borrow_mut().match_keys(&records)?;

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

/// Resolves one group with the policy and applies the outcome to the working set.
fn resolve(
    p: &Pipeline,
    merge: &Merge,
    store: &Store,
    batch: &mut Batch,
    report: &mut Report,
    group: &[String],
    now: i64,
) -> anyhow::Result<()> {
    let mut candidates = Vec::with_capacity(group.len());
    for id in group {
        if !batch.work.contains_key(id) {
            let Some(stored) = store.record(&p.entity, id)? else {
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
    }
    let resolution = match merge
        .policy
        .instance
        .borrow_mut()
        .resolve(&[candidates])?
        .pop()
    {
        Some(Ok(resolution)) => resolution,
        Some(Err(error)) => {
            report.merge_reports.push(format!(
                "not merged: {}: {} ({})",
                merge.policy.label,
                describe(&error),
                group.join(", ")
            ));
            return Ok(());
        }
        None => return Ok(()),
    };
    let Some(winner) = group.get(resolution.winner as usize).cloned() else {
        report.merge_reports.push(format!(
            "not merged: {} named no member as winner",
            merge.policy.label
        ));
        return Ok(());
    };
    let stamp = Stamp {
        source: format!("merge/{}", p.entity),
        at: now,
    };
    let w = batch.work.get_mut(&winner).expect("loaded above");
    for f in resolution.fields {
        if w.after.fields.get(&f.name) != Some(&f.value) {
            w.set(
                &f.name,
                f.value,
                stamp.clone(),
                Some(merge.policy.label.clone()),
            );
            if let Some(op) = w.ops.last_mut() {
                op.op = "merge";
            }
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
            plugin: Some(merge.policy.label.clone()),
        });
        batch.merges.push((loser.clone(), winner.clone()));
        report.merged += 1;
    }
    Ok(())
}
