//! A connector whose `read` sends one GET to the `url` in its configuration through the
//! host's `http` and reports the host's answer as the error or as one record.

use wasync_sdk::{
    Change, Config, Connector, EntityDescription, Error, Page, ReadRequest, Record, Value, http,
};

struct HttpProbe {
    url: String,
}

impl Connector for HttpProbe {
    fn new(config: &Config) -> Result<Self, Error> {
        let url = config.json().get("url").and_then(|u| u.as_str());
        let url = url.ok_or_else(|| Error::InvalidConfig("`url` is required".into()))?;
        Ok(HttpProbe {
            url: url.to_owned(),
        })
    }

    fn describe(&self) -> Result<Vec<EntityDescription>, Error> {
        Ok(Vec::new())
    }

    fn read(&self, _request: ReadRequest) -> Result<Page, Error> {
        let response = http::send(http::Request {
            method: "GET".into(),
            url: self.url.clone(),
            ..Default::default()
        })?;
        let record = Record {
            id: "1".into(),
            watermark: Value::Null,
            fields: vec![wasync_sdk::Field {
                name: "status".into(),
                value: Value::Integer(response.status.into()),
            }],
            deleted: false,
        };
        Ok(Page {
            records: vec![record],
            more: false,
        })
    }

    fn write(&self, _entity: &str, changes: Vec<Change>) -> Vec<Result<String, Error>> {
        changes
            .iter()
            .map(|_| Err(Error::Other("read-only probe".into())))
            .collect()
    }
}

wasync_sdk::export_connector!(HttpProbe);
