//! The demo's data: overlapping companies in both systems (some in both, some twice within
//! one), and the upstream changes made between cycles.

use serde_json::Value;
use wasync_standins::hubspot::HubSpot;
use wasync_standins::salesforce::Salesforce;
use wasync_standins::seed::{self, Company};

/// What was seeded, for the story.
pub struct Seeded {
    /// Accounts in Salesforce.
    pub salesforce: usize,
    /// Companies in HubSpot.
    pub hubspot: usize,
    /// Companies in both (by name).
    pub shared: usize,
    /// Second records of a company within one system (different case or spacing).
    pub twins: usize,
    /// The companies, for later changes.
    pub companies: Vec<Company>,
}

/// Salesforce gets the first two thirds of `n` companies, HubSpot the last half, so a sixth
/// is in both; three Salesforce accounts and two HubSpot companies come twice.
pub fn seed(sf: &Salesforce, hs: &HubSpot, n: usize) -> Seeded {
    let companies = seed::companies(n, 2026);
    let sf_end = n * 2 / 3;
    let hs_start = n / 2;
    for c in &companies[..sf_end] {
        sf.insert("Account", &account(c));
    }
    for c in &companies[hs_start..] {
        hs.create("companies", &company(c));
    }
    let mut twins = 0;
    for c in companies[..sf_end].iter().step_by(9).take(3) {
        let mut twin = account(c);
        twin[0].1 = Value::from(c.name.to_uppercase());
        twin.retain(|(k, _)| *k != "Phone");
        sf.insert("Account", &twin);
        twins += 1;
    }
    for c in companies[sf_end..].iter().step_by(5).take(2) {
        let name = format!(" {} ", c.name.to_lowercase());
        hs.create(
            "companies",
            &[("name", name.as_str()), ("city", c.city.as_str())],
        );
        twins += 1;
    }
    Seeded {
        salesforce: sf_end + 3,
        hubspot: n - hs_start + 2,
        shared: sf_end.saturating_sub(hs_start),
        twins,
        companies,
    }
}

fn account(c: &Company) -> Vec<(&'static str, Value)> {
    vec![
        ("Name", c.name.clone().into()),
        ("Website", c.website.clone().into()),
        ("Industry", c.industry.clone().into()),
        ("Type", c.company_type.clone().into()),
        ("Phone", c.phone.clone().into()),
        ("BillingCity", c.city.clone().into()),
    ]
}

fn company(c: &Company) -> Vec<(&str, &str)> {
    vec![
        ("name", c.name.as_str()),
        ("domain", c.domain.as_str()),
        ("phone", c.phone.as_str()),
        ("city", c.city.as_str()),
    ]
}

/// Changes people make in the two systems between cycles `cycle - 1` and `cycle`; returns
/// what was done, for the story.
pub fn change(cycle: usize, sf: &Salesforce, hs: &HubSpot, seeded: &Seeded) -> Vec<String> {
    let mut done = Vec::new();
    let accounts = sf.records("Account");
    let live: Vec<_> = accounts
        .iter()
        .filter(|r| r.get("IsDeleted") != Some(&Value::Bool(true)))
        .collect();
    let text = |r: &serde_json::Map<String, Value>, k: &str| {
        r.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    match cycle {
        2 => {
            if let Some(r) = live.first() {
                let name = text(r, "Name");
                let website = format!("https://{}.example.org", slug(&name));
                sf.update(
                    "Account",
                    &text(r, "Id"),
                    &[("Website", website.clone().into())],
                );
                done.push(format!(
                    "Salesforce: `{name}` moved its website to {website}"
                ));
            }
            if let Some(r) = live.iter().find(|r| text(r, "Type") == "Prospect") {
                let name = text(r, "Name");
                sf.update("Account", &text(r, "Id"), &[("Type", "Customer".into())]);
                done.push(format!(
                    "Salesforce: `{name}` became a Customer (so it now goes to HubSpot)"
                ));
            }
            if let Some(c) = seeded.companies.get(1) {
                let name = c.name.clone();
                let id = hs.create("companies", &[("name", name.as_str()), ("city", "Boston")]);
                done.push(format!(
                    "HubSpot: a rep created company {id} `{name}`, which Salesforce already has"
                ));
            }
            if let Some(o) = hs.objects("companies").iter().find(|o| !o.archived) {
                let name = o.properties.get("name").cloned().unwrap_or_default();
                hs.update("companies", &o.id, &[("phone", "+1 (617) 555-0100")]);
                done.push(format!("HubSpot: `{}` got a new phone number", name.trim()));
            }
        }
        3 => {
            if let Some(r) = live.iter().find(|r| text(r, "Type") == "Customer") {
                let name = text(r, "Name");
                sf.delete("Account", &text(r, "Id"));
                done.push(format!(
                    "Salesforce: `{name}` was deleted (a Customer: HubSpot archives it too)"
                ));
            }
        }
        _ => {}
    }
    done
}

fn slug(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}
