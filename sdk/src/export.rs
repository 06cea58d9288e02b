//! The export macros: generate the world's bindings in the plugin crate and adapt the SDK's
//! traits and types to them.
//!
//! Conversions move values (no copies of strings or lists); `__ty` names the generated
//! `types` module at the expansion site.

/// Conversions between the generated `types` and the SDK's types.
#[doc(hidden)]
#[macro_export]
macro_rules! __conversions {
    () => {
        #[allow(dead_code)]
        fn __value_in(v: __ty::Value) -> $crate::Value {
            match v {
                __ty::Value::Null => $crate::Value::Null,
                __ty::Value::Boolean(b) => $crate::Value::Boolean(b),
                __ty::Value::Integer(n) => $crate::Value::Integer(n),
                __ty::Value::Float(x) => $crate::Value::Float(x),
                __ty::Value::Text(t) => $crate::Value::Text(t),
                __ty::Value::Timestamp(t) => $crate::Value::Timestamp(t),
                __ty::Value::Json(j) => $crate::Value::Json(j),
            }
        }
        #[allow(dead_code)]
        fn __value_out(v: $crate::Value) -> __ty::Value {
            match v {
                $crate::Value::Null => __ty::Value::Null,
                $crate::Value::Boolean(b) => __ty::Value::Boolean(b),
                $crate::Value::Integer(n) => __ty::Value::Integer(n),
                $crate::Value::Float(x) => __ty::Value::Float(x),
                $crate::Value::Text(t) => __ty::Value::Text(t),
                $crate::Value::Timestamp(t) => __ty::Value::Timestamp(t),
                $crate::Value::Json(j) => __ty::Value::Json(j),
            }
        }
        #[allow(dead_code)]
        fn __field_in(f: __ty::Field) -> $crate::Field {
            $crate::Field {
                name: f.name,
                value: __value_in(f.value),
            }
        }
        #[allow(dead_code)]
        fn __field_out(f: $crate::Field) -> __ty::Field {
            __ty::Field {
                name: f.name,
                value: __value_out(f.value),
            }
        }
        #[allow(dead_code)]
        fn __record_in(r: __ty::Record) -> $crate::Record {
            $crate::Record {
                id: r.id,
                watermark: __value_in(r.watermark),
                fields: r.fields.into_iter().map(__field_in).collect(),
                deleted: r.deleted,
            }
        }
        #[allow(dead_code)]
        fn __record_out(r: $crate::Record) -> __ty::Record {
            __ty::Record {
                id: r.id,
                watermark: __value_out(r.watermark),
                fields: r.fields.into_iter().map(__field_out).collect(),
                deleted: r.deleted,
            }
        }
        #[allow(dead_code)]
        fn __error_in(e: __ty::Error) -> $crate::Error {
            match e {
                __ty::Error::InvalidConfig(m) => $crate::Error::InvalidConfig(m),
                __ty::Error::InvalidInput(m) => $crate::Error::InvalidInput(m),
                __ty::Error::AccessDenied(m) => $crate::Error::AccessDenied(m),
                __ty::Error::NotFound(m) => $crate::Error::NotFound(m),
                __ty::Error::Unauthorized(m) => $crate::Error::Unauthorized(m),
                __ty::Error::RateLimited(m) => $crate::Error::RateLimited(m),
                __ty::Error::Unavailable(m) => $crate::Error::Unavailable(m),
                __ty::Error::Other(m) => $crate::Error::Other(m),
            }
        }
        #[allow(dead_code)]
        fn __error_out(e: $crate::Error) -> __ty::Error {
            match e {
                $crate::Error::InvalidConfig(m) => __ty::Error::InvalidConfig(m),
                $crate::Error::InvalidInput(m) => __ty::Error::InvalidInput(m),
                $crate::Error::AccessDenied(m) => __ty::Error::AccessDenied(m),
                $crate::Error::NotFound(m) => __ty::Error::NotFound(m),
                $crate::Error::Unauthorized(m) => __ty::Error::Unauthorized(m),
                $crate::Error::RateLimited(m) => __ty::Error::RateLimited(m),
                $crate::Error::Unavailable(m) => __ty::Error::Unavailable(m),
                $crate::Error::Other(m) => __ty::Error::Other(m),
            }
        }
        #[allow(dead_code)]
        fn __config(text: &str) -> Result<$crate::Config, __ty::Error> {
            $crate::Config::parse(text).map_err(__error_out)
        }
    };
}

/// Exports a [`Transform`](crate::Transform) as the `field-transform` world.
#[macro_export]
macro_rules! export_transform {
    ($plugin:ty) => {
        $crate::__rt::__bindings!("field-transform");
        const _: () = {
            use __wasync_bindings::exports::wasync::plugin::transform as __x;
            use __wasync_bindings::wasync::plugin::types as __ty;
            $crate::__conversions!();

            struct __Component;
            struct __Use($plugin);

            impl __x::Guest for __Component {
                type Transformer = __Use;
            }

            impl __x::GuestTransformer for __Use {
                fn create(config: String) -> Result<__x::Transformer, __ty::Error> {
                    let config = __config(&config)?;
                    let plugin =
                        <$plugin as $crate::Transform>::new(&config).map_err(__error_out)?;
                    Ok(__x::Transformer::new(__Use(plugin)))
                }

                fn apply(&self, values: Vec<u8>) -> Vec<u8> {
                    $crate::__rt::apply_transform(&self.0, &values)
                }
            }

    __wasync_bindings::export!(__Component with_types_in __wasync_bindings);
        };
    };
}

/// Exports an [`EntityFunction`](crate::EntityFunction) as the `entity-function` world, with
/// [`lookup::find`](crate::lookup::find) wired to the host.
#[macro_export]
macro_rules! export_entity_function {
    ($plugin:ty) => {
        $crate::__rt::__bindings!("entity-function");
        const _: () = {
            use __wasync_bindings::exports::wasync::plugin::entity as __x;
            use __wasync_bindings::wasync::plugin::lookup as __lookup;
            use __wasync_bindings::wasync::plugin::types as __ty;
            $crate::__conversions!();

            fn __find(
                entity: &str,
                matching: &[$crate::Field],
                limit: u32,
            ) -> Result<Vec<$crate::Record>, $crate::Error> {
                let matching: Vec<__ty::Field> =
                    matching.iter().cloned().map(__field_out).collect();
                __lookup::find(entity, &matching, limit)
                    .map(|records| records.into_iter().map(__record_in).collect())
                    .map_err(__error_in)
            }

            struct __Component;
            struct __Use($plugin);

            impl __x::Guest for __Component {
                type Function = __Use;
            }

            impl __x::GuestFunction for __Use {
                fn create(config: String) -> Result<__x::Function, __ty::Error> {
                    let _ = $crate::lookup::FIND.set(__find);
                    let config = __config(&config)?;
                    let plugin =
                        <$plugin as $crate::EntityFunction>::new(&config).map_err(__error_out)?;
                    Ok(__x::Function::new(__Use(plugin)))
                }

                fn apply(
                    &self,
                    entity: String,
                    records: Vec<__ty::Record>,
                ) -> Vec<Result<__x::Outcome, __ty::Error>> {
                    let records = records.into_iter().map(__record_in).collect();
                    <$plugin as $crate::EntityFunction>::apply_batch(&self.0, &entity, records)
                        .into_iter()
                        .map(|r| {
                            r.map(|outcome| match outcome {
                                $crate::Outcome::Keep(record) => {
                                    __x::Outcome::Keep(__record_out(record))
                                }
                                $crate::Outcome::Attach { record, unified_id } => {
                                    __x::Outcome::Attach(__x::Attached {
                                        record: __record_out(record),
                                        unified_id,
                                    })
                                }
                                $crate::Outcome::Stop(reason) => __x::Outcome::Stop(reason),
                            })
                            .map_err(__error_out)
                        })
                        .collect()
                }
            }

    __wasync_bindings::export!(__Component with_types_in __wasync_bindings);
        };
    };
}

/// Exports a [`MergePolicy`](crate::MergePolicy) as the `merge-policy` world.
#[macro_export]
macro_rules! export_merge_policy {
    ($plugin:ty) => {
        $crate::__rt::__bindings!("merge-policy");
        const _: () = {
            use __wasync_bindings::exports::wasync::plugin::merge as __x;
            use __wasync_bindings::wasync::plugin::types as __ty;
            $crate::__conversions!();

            struct __Component;
            struct __Use($plugin);

            impl __x::Guest for __Component {
                type Policy = __Use;
            }

            impl __x::GuestPolicy for __Use {
                fn create(config: String) -> Result<__x::Policy, __ty::Error> {
                    let config = __config(&config)?;
                    let plugin =
                        <$plugin as $crate::MergePolicy>::new(&config).map_err(__error_out)?;
                    Ok(__x::Policy::new(__Use(plugin)))
                }

                fn match_keys(&self, records: Vec<__ty::Record>) -> Vec<Vec<String>> {
                    records
                        .into_iter()
                        .map(|r| {
                            <$plugin as $crate::MergePolicy>::match_keys(&self.0, &__record_in(r))
                        })
                        .collect()
                }

                fn resolve(
                    &self,
                    groups: Vec<Vec<__x::Candidate>>,
                ) -> Vec<Result<__x::Resolution, __ty::Error>> {
                    groups
                        .into_iter()
                        .map(|group| {
                            let group = group
                                .into_iter()
                                .map(|c| $crate::Candidate {
                                    record: __record_in(c.record),
                                    source: c.source,
                                    created: c.created,
                                    updated: c.updated,
                                })
                                .collect();
                            <$plugin as $crate::MergePolicy>::resolve(&self.0, group)
                                .map(|r| __x::Resolution {
                                    winner: r.winner,
                                    fields: r.fields.into_iter().map(__field_out).collect(),
                                })
                                .map_err(__error_out)
                        })
                        .collect()
                }
            }

    __wasync_bindings::export!(__Component with_types_in __wasync_bindings);
        };
    };
}

/// Exports a [`Connector`](crate::Connector) as the `connector` world, with
/// [`http::send`](crate::http::send) wired to the host.
#[macro_export]
macro_rules! export_connector {
    ($plugin:ty) => {
        $crate::__rt::__bindings!("connector");
        const _: () = {
            use __wasync_bindings::exports::wasync::plugin::external as __x;
            use __wasync_bindings::wasync::plugin::http as __http;
            use __wasync_bindings::wasync::plugin::types as __ty;
            $crate::__conversions!();

            fn __send(
                request: $crate::http::Request,
            ) -> Result<$crate::http::Response, $crate::Error> {
                let request = __http::Request {
                    method: request.method,
                    url: request.url,
                    headers: request.headers,
                    body: request.body,
                };
                __http::send(&request)
                    .map(|r| $crate::http::Response {
                        status: r.status,
                        headers: r.headers,
                        body: r.body,
                    })
                    .map_err(__error_in)
            }

            fn __kind_out(kind: $crate::ValueKind) -> __ty::ValueKind {
                match kind {
                    $crate::ValueKind::Boolean => __ty::ValueKind::Boolean,
                    $crate::ValueKind::Integer => __ty::ValueKind::Integer,
                    $crate::ValueKind::Float => __ty::ValueKind::Float,
                    $crate::ValueKind::Text => __ty::ValueKind::Text,
                    $crate::ValueKind::Timestamp => __ty::ValueKind::Timestamp,
                    $crate::ValueKind::Json => __ty::ValueKind::Json,
                }
            }

            fn __description_out(d: $crate::EntityDescription) -> __ty::EntityDescription {
                __ty::EntityDescription {
                    name: d.name,
                    kind: match d.kind {
                        $crate::EntityKind::Object => __ty::EntityKind::Object,
                        $crate::EntityKind::Event => __ty::EntityKind::Event,
                    },
                    id_field: d.id_field,
                    watermark_field: d.watermark_field,
                    fields: d
                        .fields
                        .into_iter()
                        .map(|f| __ty::FieldDescription {
                            name: f.name,
                            kind: __kind_out(f.kind),
                            read_only: f.read_only,
                        })
                        .collect(),
                }
            }

            struct __Component;
            struct __Use($plugin);

            impl __x::Guest for __Component {
                type System = __Use;
            }

            impl __x::GuestSystem for __Use {
                fn create(config: String) -> Result<__x::System, __ty::Error> {
                    let _ = $crate::http::SEND.set(__send);
                    let config = __config(&config)?;
                    let plugin =
                        <$plugin as $crate::Connector>::new(&config).map_err(__error_out)?;
                    Ok(__x::System::new(__Use(plugin)))
                }

                fn describe(&self) -> Result<Vec<__ty::EntityDescription>, __ty::Error> {
                    <$plugin as $crate::Connector>::describe(&self.0)
                        .map(|ds| ds.into_iter().map(__description_out).collect())
                        .map_err(__error_out)
                }

                fn read(&self, request: __x::ReadRequest) -> Result<__x::Page, __ty::Error> {
                    let request = $crate::ReadRequest {
                        entity: request.entity,
                        after: request.after.map(|c| $crate::Cursor {
                            watermark: __value_in(c.watermark),
                            id: c.id,
                        }),
                        until: request.until.map(__value_in),
                        limit: request.limit,
                    };
                    <$plugin as $crate::Connector>::read(&self.0, request)
                        .map(|page| __x::Page {
                            records: $crate::__rt::encode_records(page.records),
                            more: page.more,
                        })
                        .map_err(__error_out)
                }

                fn write(&self, entity: String, changes: Vec<u8>) -> Vec<u8> {
                    let changes = $crate::__rt::decode_changes(&changes);
                    let results = <$plugin as $crate::Connector>::write(&self.0, &entity, changes);
                    $crate::__rt::encode_ids(results)
                }

                fn webhook(
                    &self,
                    request: __x::WebhookRequest,
                ) -> Result<Vec<__x::EntityChanges>, __ty::Error> {
                    let request = $crate::WebhookRequest {
                        method: request.method,
                        path: request.path,
                        headers: request.headers,
                        body: request.body,
                    };
                    <$plugin as $crate::Connector>::webhook(&self.0, request)
                        .map(|changes| {
                            $crate::__rt::encode_entity_changes(changes)
                                .into_iter()
                                .map(|(entity, records)| __x::EntityChanges { entity, records })
                                .collect()
                        })
                        .map_err(__error_out)
                }
            }

    __wasync_bindings::export!(__Component with_types_in __wasync_bindings);
        };
    };
}

/// Declares the rate limit of the API a connector calls, `requests` per `per_seconds`: the
/// host keeps to it unless the pipeline file sets `[connectors.NAME.http] rate`. It goes
/// into the component as a `wasync:rate` custom section.
///
/// ```
/// // HubSpot's search: four requests a second per token.
/// wasync_sdk::declare_rate_limit!(requests = 4, per_seconds = 1);
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! declare_rate_limit {
    (requests = $requests:literal, per_seconds = $seconds:literal) => {
        const _: () = {
            const TEXT: &str = concat!(
                "{\"requests\":",
                $requests,
                ",\"per_seconds\":",
                $seconds,
                "}"
            );
            #[used]
            #[cfg_attr(target_arch = "wasm32", unsafe(link_section = "wasync:rate"))]
            static RATE: [u8; TEXT.len()] = {
                let bytes = TEXT.as_bytes();
                let mut out = [0u8; TEXT.len()];
                let mut i = 0;
                while i < bytes.len() {
                    out[i] = bytes[i];
                    i += 1;
                }
                out
            };
        };
    };
}
