//! A wasync connector: describes one entity, `items`, and has no records yet. Fill in `read`
//! and `write` with calls to your system through the host's `http` import.

use wasync_sdk::{
    Change, Config, Connector, EntityDescription, EntityKind, Error, FieldDescription, Page,
    ReadRequest, ValueKind,
};

struct Items;

impl Connector for Items {
    fn new(_config: &Config) -> Result<Self, Error> {
        Ok(Items)
    }

    fn describe(&self) -> Result<Vec<EntityDescription>, Error> {
        let field = |name: &str, kind, read_only| FieldDescription {
            name: name.into(),
            kind,
            read_only,
        };
        Ok(vec![EntityDescription {
            name: "items".into(),
            kind: EntityKind::Object,
            id_field: "id".into(),
            watermark_field: "updated_at".into(),
            fields: vec![
                field("id", ValueKind::Text, true),
                field("name", ValueKind::Text, false),
                field("updated_at", ValueKind::Timestamp, true),
            ],
        }])
    }

    fn read(&self, _request: ReadRequest) -> Result<Page, Error> {
        Ok(Page::default())
    }

    fn write(&self, _entity: &str, changes: Vec<Change>) -> Vec<Result<String, Error>> {
        changes
            .iter()
            .map(|_| Err(Error::Unavailable("this connector does not write yet".into())))
            .collect()
    }
}

wasync_sdk::export_connector!(Items);
