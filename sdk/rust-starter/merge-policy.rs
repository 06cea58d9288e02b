//! A wasync merge policy: records whose `Name` is the same (ignoring case and surrounding
//! space) are duplicates; the most recently updated one wins, and empty fields of the winner
//! are filled from the others.

use wasync_sdk::{Candidate, Config, Error, MergePolicy, Record, Resolution, Value};

struct SameName {
    field: String,
}

impl MergePolicy for SameName {
    fn new(config: &Config) -> Result<Self, Error> {
        let field = match config.json().get("field") {
            None => "Name".to_owned(),
            Some(serde_json::Value::String(f)) => f.clone(),
            Some(_) => return Err(Error::InvalidConfig("`field` must be text".into())),
        };
        Ok(SameName { field })
    }

    fn match_keys(&self, record: &Record) -> Vec<String> {
        match record.get(&self.field) {
            Some(Value::Text(name)) if !name.trim().is_empty() => {
                vec![name.trim().to_lowercase()]
            }
            _ => Vec::new(),
        }
    }

    fn resolve(&self, group: Vec<Candidate>) -> Result<Resolution, Error> {
        let winner = (0..group.len())
            .max_by_key(|&i| group[i].updated)
            .ok_or_else(|| Error::InvalidInput("an empty group".into()))?;
        let mut fields = group[winner].record.fields.clone();
        let mut filled = Vec::new();
        for (i, candidate) in group.iter().enumerate() {
            if i == winner {
                continue;
            }
            for field in &candidate.record.fields {
                let mine = fields.iter().find(|f| f.name == field.name);
                if mine.is_none_or(|f| f.value.is_empty()) && !field.value.is_empty() {
                    fields.retain(|f| f.name != field.name);
                    fields.push(field.clone());
                    filled.push(field.clone());
                }
            }
        }
        Ok(Resolution {
            winner: winner as u32,
            fields: filled,
        })
    }
}

wasync_sdk::export_merge_policy!(SameName);
