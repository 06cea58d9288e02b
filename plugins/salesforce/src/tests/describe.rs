//! Configuration, describe and its cache.

use super::*;
use wasync_sdk::{EntityKind, FieldDescription, ValueKind};

fn request(limit: u32) -> ReadRequest {
    ReadRequest {
        entity: "Account".into(),
        after: None,
        until: None,
        limit,
    }
}

fn empty_query() -> Json {
    json!({"totalSize": 0, "done": true, "records": []})
}

#[test]
fn the_constructor_refuses_bad_settings_naming_the_key() {
    let result = Salesforce::new(
        &Config::parse(
            r#"{"instance_url": "https://x.my.salesforce.com", "entities": {"Account": {}},
            "access_token": "secret"}"#,
        )
        .unwrap_or_else(|e| panic!("{e}")),
    );
    assert!(
        matches!(&result, Err(Error::InvalidConfig(m)) if m.contains("`access_token`")),
        "{:?}",
        result.err()
    );
    let result = Salesforce::new(
        &Config::parse(r#"{"instance_url": "https://x.my.salesforce.com", "entities": {}}"#)
            .unwrap_or_else(|e| panic!("{e}")),
    );
    assert!(matches!(result, Err(Error::InvalidConfig(_))));
}

#[test]
fn describes_each_entity_once() -> Result<(), Error> {
    let sf = accounts()?;
    answer_describe();
    let described = sf.describe()?;
    let sent = sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].method, "GET");
    assert_eq!(sent[0].url, DESCRIBE_URL);
    assert_eq!(sent[0].body, None);
    assert_plain(&sent[0]);

    assert_eq!(described.len(), 1);
    let account = &described[0];
    assert_eq!(
        (
            account.name.as_str(),
            account.kind,
            account.id_field.as_str()
        ),
        ("Account", EntityKind::Object, "Id")
    );
    assert_eq!(account.watermark_field, "SystemModstamp");
    let names: Vec<&str> = account.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Id",
            "SystemModstamp",
            "IsDeleted",
            "Name",
            "Type",
            "Industry",
            "Website",
            "Phone",
            "BillingCity",
            "BillingAddress",
            "AnnualRevenue",
            "NumberOfEmployees",
            "Description",
            "LastActivityDate",
            "SlaExpirationDate__c",
            "CreatedDate",
            "LastModifiedDate",
            "Wasync_Id__c"
        ]
    );
    let kind_of = |name: &str| account.fields.iter().find(|f| f.name == name).cloned();
    let described_field = |name: &str, kind, read_only| {
        Some(FieldDescription {
            name: name.into(),
            kind,
            read_only,
        })
    };
    assert_eq!(kind_of("Id"), described_field("Id", ValueKind::Text, true));
    assert_eq!(
        kind_of("SystemModstamp"),
        described_field("SystemModstamp", ValueKind::Timestamp, true)
    );
    assert_eq!(
        kind_of("IsDeleted"),
        described_field("IsDeleted", ValueKind::Boolean, true)
    );
    assert_eq!(
        kind_of("Name"),
        described_field("Name", ValueKind::Text, false)
    );
    assert_eq!(
        kind_of("AnnualRevenue"),
        described_field("AnnualRevenue", ValueKind::Float, false)
    );
    assert_eq!(
        kind_of("NumberOfEmployees"),
        described_field("NumberOfEmployees", ValueKind::Integer, false)
    );
    assert_eq!(
        kind_of("BillingAddress"),
        described_field("BillingAddress", ValueKind::Json, true)
    );
    assert_eq!(
        kind_of("LastActivityDate"),
        described_field("LastActivityDate", ValueKind::Text, true)
    );

    // Describe, read and write again: no second describe.
    assert_eq!(sf.describe()?, described);
    answer_json(200, empty_query());
    sf.read(request(10))?;
    answer_json(200, json!([]));
    sf.write("Account", vec![Change::Delete(account_id(1))]);
    let sent = super::sent();
    assert_eq!(sent.len(), 2);
    assert!(sent.iter().all(|r| !r.url.contains("/describe")));
    Ok(())
}

#[test]
fn a_field_selection_lists_the_configured_fields_after_the_fixed_ones() -> Result<(), Error> {
    let sf = connector(json!({
        "instance_url": INSTANCE,
        "entities": {"Account": {"fields": ["name", "Website", "Id", "NAME"]}}
    }))?;
    answer_describe();
    let described = sf.describe()?;
    let names: Vec<&str> = described[0]
        .fields
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    assert_eq!(
        names,
        ["Id", "SystemModstamp", "IsDeleted", "Name", "Website"]
    );
    sent();
    Ok(())
}

#[test]
fn unknown_configured_fields_are_a_config_error_at_first_use() -> Result<(), Error> {
    let sf = connector(json!({
        "instance_url": INSTANCE,
        "entities": {"Account": {"fields": ["Name", "Revenue__c", "Rating"]}}
    }))?;
    answer_describe();
    let result = sf.read(request(10));
    assert_eq!(
        result,
        Err(Error::InvalidConfig(
            "entity `Account`: `fields` names `Revenue__c`, `Rating`, which the sObject does \
             not have (describe)"
                .into()
        ))
    );
    assert_eq!(sent().len(), 1);
    Ok(())
}

#[test]
fn the_upsert_field_must_be_a_known_external_id() -> Result<(), Error> {
    for (field, says) in [
        ("Name", "`upsert_field` `Name` is not an external id field"),
        (
            "Legacy_Id__c",
            "`upsert_field` `Legacy_Id__c` is not a field",
        ),
    ] {
        let sf = connector(json!({
            "instance_url": INSTANCE,
            "entities": {"Account": {"upsert_field": field}}
        }))?;
        answer_describe();
        let result = sf.describe();
        assert!(
            matches!(&result, Err(Error::InvalidConfig(m)) if m.contains(says)),
            "{result:?}"
        );
        sent();
    }
    Ok(())
}

#[test]
fn an_sobject_without_the_sync_fields_is_a_config_error() -> Result<(), Error> {
    let sf = accounts()?;
    answer_json(
        200,
        json!({"name": "Account", "fields": [
            {"name": "Id", "type": "id"}, {"name": "Name", "type": "string"}]}),
    );
    let result = sf.describe();
    assert!(
        matches!(&result, Err(Error::InvalidConfig(m))
            if m.contains("`SystemModstamp`, `IsDeleted`")),
        "{result:?}"
    );
    sent();
    Ok(())
}

#[test]
fn an_unconfigured_entity_is_not_found_without_a_request() -> Result<(), Error> {
    let sf = accounts()?;
    let mut req = request(10);
    req.entity = "Contact".into();
    assert!(matches!(sf.read(req), Err(Error::NotFound(m)) if m.contains("`Contact`")));
    let results = sf.write("Contact", vec![Change::Delete(account_id(1))]);
    assert!(matches!(results.as_slice(), [Err(Error::NotFound(_))]));
    assert!(sent().is_empty());
    Ok(())
}

#[test]
fn an_unknown_sobject_is_not_found() -> Result<(), Error> {
    let sf = connector(json!({"instance_url": INSTANCE, "entities": {"Acount": {}}}))?;
    answer_json(
        404,
        json!([{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]),
    );
    assert_eq!(
        sf.describe(),
        Err(Error::NotFound(
            "Salesforce answered describe Acount with HTTP 404: NOT_FOUND: The requested \
             resource does not exist"
                .into()
        ))
    );
    sent();
    Ok(())
}

#[test]
fn a_failed_describe_is_not_kept() -> Result<(), Error> {
    let sf = accounts()?;
    answer(503, "");
    assert!(matches!(sf.describe(), Err(Error::Unavailable(_))));
    answer(200, r#"{"name":"Account","fields":[{"name":"Id""#);
    assert!(matches!(
        sf.describe(),
        Err(Error::Unavailable(m)) if m.contains("not valid JSON")
    ));
    answer_describe();
    assert_eq!(sf.describe()?.len(), 1);
    assert_eq!(sent().len(), 3);
    Ok(())
}
