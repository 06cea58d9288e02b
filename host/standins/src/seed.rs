//! Deterministic, realistic company data for demos and benchmarks: the same `(n, seed)`
//! always gives the same companies, on every machine.
//!
//! ```
//! let companies = wasync_standins::seed::companies(3, 42);
//! assert_eq!(companies, wasync_standins::seed::companies(3, 42));
//! assert!(companies[0].website.ends_with(&companies[0].domain));
//! ```

use std::collections::HashSet;

use serde_json::Value;

/// A made-up company.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Company {
    /// `Northwind Analytics Inc.`; unique within one call.
    pub name: String,
    /// `https://www.northwindanalytics.com`.
    pub website: String,
    /// `northwindanalytics.com`; unique within one call.
    pub domain: String,
    /// One of Salesforce's standard industries, matching the name (`Technology`).
    pub industry: String,
    /// `Customer`, `Prospect`, `Partner` or `Other`.
    pub company_type: String,
    /// `+1 (415) 555-0134`, with the city's area code.
    pub phone: String,
    /// A US city.
    pub city: String,
    /// Number of employees, 5 to 50,000, most of them small.
    pub employees: u32,
}

impl Company {
    /// The company as Salesforce Account fields, for [`crate::salesforce::Salesforce::insert`].
    pub fn salesforce_fields(&self) -> Vec<(&'static str, Value)> {
        vec![
            ("Name", self.name.clone().into()),
            ("Website", self.website.clone().into()),
            ("Industry", self.industry.clone().into()),
            ("Type", self.company_type.clone().into()),
            ("Phone", self.phone.clone().into()),
            ("BillingCity", self.city.clone().into()),
            ("NumberOfEmployees", self.employees.into()),
        ]
    }

    /// The company as HubSpot company properties, for [`crate::hubspot::HubSpot::create`]
    /// (after `.iter().map(|(k, v)| (*k, v.as_str()))`).
    pub fn hubspot_properties(&self) -> Vec<(&'static str, String)> {
        vec![
            ("name", self.name.clone()),
            ("domain", self.domain.clone()),
            ("industry", self.industry.clone()),
            ("type", self.company_type.clone()),
            ("phone", self.phone.clone()),
            ("city", self.city.clone()),
            ("numberofemployees", self.employees.to_string()),
        ]
    }
}

const PREFIXES: &[&str] = &[
    "Northwind",
    "Blue Harbor",
    "Summit",
    "Redwood",
    "Silverline",
    "Brightpath",
    "Ironclad",
    "Evergreen",
    "Cobalt",
    "Granite",
    "Horizon",
    "Pinnacle",
    "Lakeside",
    "Maple",
    "Quantum",
    "Sterling",
    "Vertex",
    "Willow",
    "Crescent",
    "Falcon",
    "Juniper",
    "Keystone",
    "Meridian",
    "Oakridge",
    "Pioneer",
    "Riverbend",
    "Sapphire",
    "Tidewater",
    "Westfield",
    "Aurora",
    "Beacon",
    "Cedar",
    "Ember",
    "Frontier",
    "Highland",
    "Atlas",
    "Copperleaf",
    "Starling",
    "Bayside",
    "Harborview",
];

/// A name's second word and the industry it suggests.
const NOUNS: &[(&str, &str)] = &[
    ("Analytics", "Technology"),
    ("Logistics", "Transportation"),
    ("Health", "Healthcare"),
    ("Foods", "Food & Beverage"),
    ("Energy", "Energy"),
    ("Robotics", "Manufacturing"),
    ("Software", "Technology"),
    ("Capital", "Finance"),
    ("Media", "Media"),
    ("Motors", "Manufacturing"),
    ("Labs", "Biotechnology"),
    ("Systems", "Technology"),
    ("Textiles", "Apparel"),
    ("Pharma", "Biotechnology"),
    ("Freight", "Shipping"),
    ("Networks", "Telecommunications"),
    ("Outfitters", "Retail"),
    ("Builders", "Construction"),
    ("Advisors", "Consulting"),
    ("Insurance", "Insurance"),
];

/// Third words for when two names meet.
const QUALIFIERS: &[&str] = &[
    "Holdings",
    "Partners",
    "Solutions",
    "Industries",
    "Technologies",
    "Ventures",
    "Works",
    "Global",
    "International",
    "Pacific",
    "Atlantic",
    "Central",
    "West",
    "North",
    "Studio",
    "Collective",
];

const SUFFIXES: &[&str] = &["Inc.", "LLC", "Ltd", "Corp.", "Group", "Co.", "", "", ""];

const CITIES: &[(&str, &str)] = &[
    ("San Francisco", "415"),
    ("New York", "212"),
    ("Chicago", "312"),
    ("Austin", "512"),
    ("Seattle", "206"),
    ("Boston", "617"),
    ("Denver", "303"),
    ("Atlanta", "404"),
    ("Portland", "503"),
    ("Miami", "305"),
    ("Minneapolis", "612"),
    ("Nashville", "615"),
    ("Phoenix", "602"),
    ("Pittsburgh", "412"),
    ("San Diego", "619"),
    ("Salt Lake City", "801"),
];

const TLDS: &[&str] = &[".com", ".com", ".com", ".com", ".io", ".co", ".net"];

/// splitmix64: small, fast, and the same everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// A float in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn slug(words: &str) -> String {
    words
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// `n` companies with unique names and domains, the same for the same `seed`.
pub fn companies(n: usize, seed: u64) -> Vec<Company> {
    let mut rng = Rng(seed ^ 0x5eed_c0ba_17c0_ffee);
    let mut bases = HashSet::with_capacity(n);
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let prefix = *rng.pick(PREFIXES);
        let (noun, industry) = *rng.pick(NOUNS);
        let mut base = format!("{prefix} {noun}");
        if bases.contains(&base) {
            base = format!("{prefix} {noun} {}", rng.pick(QUALIFIERS));
        }
        let mut number = 2;
        let stem = base.clone();
        while !bases.insert(base.clone()) {
            base = format!("{stem} {number}");
            number += 1;
        }
        let suffix = *rng.pick(SUFFIXES);
        let name = if suffix.is_empty() {
            base.clone()
        } else {
            format!("{base} {suffix}")
        };
        let domain = format!("{}{}", slug(&base), rng.pick(TLDS));
        let (city, area) = *rng.pick(CITIES);
        let roll = rng.below(100);
        let company_type = match roll {
            0..45 => "Customer",
            45..80 => "Prospect",
            80..92 => "Partner",
            _ => "Other",
        };
        // Log-uniform from 5 to 50,000: many small companies, a few large ones.
        let employees = 10f64.powf(0.7 + 4.0 * rng.unit()).round() as u32;
        out.push(Company {
            name,
            website: format!("https://www.{domain}"),
            domain,
            industry: industry.to_owned(),
            company_type: company_type.to_owned(),
            phone: format!("+1 ({area}) 555-{:04}", rng.below(10_000)),
            city: city.to_owned(),
            employees,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn companies_are_deterministic_and_unique() {
        let a = companies(2000, 7);
        assert_eq!(a, companies(2000, 7));
        assert_ne!(a, companies(2000, 8));
        let names: HashSet<_> = a.iter().map(|c| &c.name).collect();
        let domains: HashSet<_> = a.iter().map(|c| &c.domain).collect();
        assert_eq!(names.len(), a.len());
        assert_eq!(domains.len(), a.len());
        assert!(a.iter().all(|c| (5..=50_000).contains(&c.employees)));
    }
}
