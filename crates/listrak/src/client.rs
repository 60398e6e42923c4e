//! [`ListrakClient`]: every Email API operation Patron uses, typed. Cheap to clone; clones share one HTTP
//! connection pool, one token and one pacer.

use std::sync::Arc;

use reqwest::{Method, StatusCode};

use crate::config::{ClientConfig, Credentials};
use crate::error::Error;
use crate::pacing::Pacer;
use crate::token::TokenProvider;
use crate::transport::Op;
use crate::types::*;

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) http: reqwest::Client,
    pub(crate) api_url: String,
    pub(crate) tokens: TokenProvider,
    pub(crate) pacer: Pacer,
}

/// A Listrak Email API client for one integration (one credential pair).
#[derive(Debug, Clone)]
pub struct ListrakClient {
    inner: Arc<Inner>,
}

const fn op(name: &'static str, list_scoped: bool) -> Op {
    Op { name, list_scoped }
}

/// Percent-encodes one path segment (an email address or key); `@` stays readable.
fn segment(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for b in raw.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'@') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn join_ids(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

fn listrak_time(t: chrono::NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%S").to_string()
}

impl ListrakClient {
    /// Builds the client; no request is made until the first call (see [`ListrakClient::check_credentials`]).
    pub fn new(config: ClientConfig, credentials: Credentials) -> Result<Self, Error> {
        let mut builder = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("patron-listrak/", env!("CARGO_PKG_VERSION")));
        if let Some(proxy) = &config.proxy {
            let proxy = reqwest::Proxy::all(proxy).map_err(|source| Error::Config {
                message: "the proxy URL is not valid".to_owned(),
                source: Some(source),
            })?;
            builder = builder.proxy(proxy);
        } else {
            builder = builder.no_proxy();
        }
        let http = builder.build().map_err(|source| Error::Config {
            message: "the HTTP client could not be built".to_owned(),
            source: Some(source),
        })?;
        for (name, url) in [("auth_url", &config.auth_url), ("api_url", &config.api_url)] {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(Error::Config {
                    message: format!("{name} must be an http(s) URL"),
                    source: None,
                });
            }
        }
        let tokens = TokenProvider::new(
            http.clone(),
            &config.auth_url,
            credentials,
            config.token_refresh_margin,
        );
        let inner = Inner {
            http,
            api_url: config.api_url.trim_end_matches('/').to_owned(),
            tokens,
            pacer: Pacer::new(config.requests_per_second),
        };
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// Gets a token now: wrong, paused or IP-blocked credentials fail with [`Error::Credentials`].
    pub async fn check_credentials(&self) -> Result<(), Error> {
        self.inner.tokens.token().await.map(|_| ())
    }

    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        op: Op,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T, Error> {
        let answer = self
            .inner
            .call::<()>(op, Method::GET, path, query, None)
            .await?;
        answer.decode::<Resource<T>>(op).map(|r| r.data)
    }

    async fn create<B: serde::Serialize>(
        &self,
        op: Op,
        path: &str,
        body: &B,
    ) -> Result<i64, Error> {
        let answer = self
            .inner
            .call(op, Method::POST, path, &[], Some(body))
            .await?;
        let id = answer
            .decode::<ResourceId>(op)?
            .resource_id
            .unwrap_or_default();
        serde_json::from_str::<i64>(&id).map_err(|source| Error::Decode {
            operation: op.name,
            status: answer.status.as_u16(),
            source,
        })
    }

    pub async fn lists(&self) -> Result<Vec<List>, Error> {
        self.get(op("list lists", false), "/List", &[]).await
    }

    pub async fn create_list(&self, list: &NewList) -> Result<i64, Error> {
        self.create(op("create list", false), "/List", list).await
    }

    pub async fn get_list(&self, list_id: i64) -> Result<List, Error> {
        self.get(op("get list", true), &format!("/List/{list_id}"), &[])
            .await
    }

    pub async fn event_groups(&self, list_id: i64) -> Result<Vec<EventGroup>, Error> {
        self.get(
            op("list event groups", true),
            &format!("/List/{list_id}/EventGroup"),
            &[],
        )
        .await
    }

    pub async fn create_event_group(&self, list_id: i64, name: &str) -> Result<i64, Error> {
        let body = serde_json::json!({ "eventGroupName": name });
        self.create(
            op("create event group", true),
            &format!("/List/{list_id}/EventGroup"),
            &body,
        )
        .await
    }

    pub async fn events(&self, list_id: i64) -> Result<Vec<Event>, Error> {
        self.get(
            op("list events", true),
            &format!("/List/{list_id}/Event"),
            &[],
        )
        .await
    }

    pub async fn create_event(&self, list_id: i64, event: &NewEvent) -> Result<i64, Error> {
        self.create(
            op("create event", true),
            &format!("/List/{list_id}/Event"),
            event,
        )
        .await
    }

    /// Renames, regroups or retires (`status: Blocked`) an event; events cannot be deleted.
    pub async fn update_event(
        &self,
        list_id: i64,
        event_id: i64,
        event: &NewEvent,
    ) -> Result<(), Error> {
        let path = format!("/List/{list_id}/Event/{event_id}");
        self.inner
            .call(
                op("update event", false),
                Method::PUT,
                &path,
                &[],
                Some(event),
            )
            .await
            .map(|_| ())
    }

    pub async fn field_groups(&self, list_id: i64) -> Result<Vec<SegmentationFieldGroup>, Error> {
        let path = format!("/List/{list_id}/SegmentationFieldGroup");
        self.get(op("list profile field groups", true), &path, &[])
            .await
    }

    pub async fn create_field_group(
        &self,
        list_id: i64,
        group: &NewSegmentationFieldGroup,
    ) -> Result<i64, Error> {
        let path = format!("/List/{list_id}/SegmentationFieldGroup");
        self.create(op("create profile field group", true), &path, group)
            .await
    }

    pub async fn fields(
        &self,
        list_id: i64,
        group_id: i64,
    ) -> Result<Vec<SegmentationField>, Error> {
        let path = format!("/List/{list_id}/SegmentationFieldGroup/{group_id}/SegmentationField");
        self.get(op("list profile fields", false), &path, &[]).await
    }

    pub async fn create_field(
        &self,
        list_id: i64,
        group_id: i64,
        field: &NewSegmentationField,
    ) -> Result<i64, Error> {
        let path = format!("/List/{list_id}/SegmentationFieldGroup/{group_id}/SegmentationField");
        self.create(op("create profile field", false), &path, field)
            .await
    }

    /// Creates or updates a contact, raising `options.event_ids` in the same call.
    pub async fn upsert_contact(
        &self,
        list_id: i64,
        contact: &ContactUpsert,
        options: &UpsertOptions,
    ) -> Result<UpsertOutcome, Error> {
        let mut query: Vec<(&str, String)> = Vec::new();
        if !options.event_ids.is_empty() {
            query.push(("eventIds", join_ids(&options.event_ids)));
        }
        for (name, on) in [
            ("overrideUnsubscribe", options.override_unsubscribe),
            ("subscribedByContact", options.subscribed_by_contact),
            ("sendDoubleOptIn", options.send_double_opt_in),
        ] {
            if on {
                query.push((name, "true".to_owned()));
            }
        }
        if let Some(update_type) = options.update_type {
            query.push(("updateType", update_type.as_str().to_owned()));
        }
        if let Some(new_email) = &options.new_email_address {
            query.push(("newEmailAddress", new_email.clone()));
        }
        let path = format!("/List/{list_id}/Contact");
        let answer = self
            .inner
            .call(
                op("upsert contact", true),
                Method::POST,
                &path,
                &query,
                Some(contact),
            )
            .await?;
        Ok(if answer.status == StatusCode::CREATED {
            UpsertOutcome::Created
        } else {
            UpsertOutcome::Updated
        })
    }

    /// One contact by email address or email key, with the values of `field_ids` (at most 30).
    pub async fn get_contact(
        &self,
        list_id: i64,
        identifier: &str,
        field_ids: &[i64],
    ) -> Result<Contact, Error> {
        let path = format!("/List/{list_id}/Contact/{}", segment(identifier));
        let query: Vec<(&str, String)> = if field_ids.is_empty() {
            Vec::new()
        } else {
            vec![("segmentationFieldIds", join_ids(field_ids))]
        };
        self.get(op("get contact", false), &path, &query).await
    }

    /// One page of contacts; with `Unsubscribed`, the dates filter on the unsubscribe date.
    pub async fn contacts(&self, list_id: i64, q: &ContactQuery) -> Result<Page<Contact>, Error> {
        let mut query: Vec<(&str, String)> = Vec::new();
        if let Some(state) = q.subscription_state {
            let state = if state == SubscriptionState::Unsubscribed {
                "Unsubscribed"
            } else {
                "Subscribed"
            };
            query.push(("subscriptionState", state.to_owned()));
        }
        if let Some(t) = q.start_date {
            query.push(("startDate", listrak_time(t)));
        }
        if let Some(t) = q.end_date {
            query.push(("endDate", listrak_time(t)));
        }
        if let Some(id) = &q.external_contact_id {
            query.push(("externalContactId", id.clone()));
        }
        if !q.segmentation_field_ids.is_empty() {
            query.push(("segmentationFieldIds", join_ids(&q.segmentation_field_ids)));
        }
        query.push((
            "cursor",
            q.cursor.clone().unwrap_or_else(|| "Start".to_owned()),
        ));
        if let Some(count) = q.count {
            query.push(("count", count.to_string()));
        }
        let op = op("list contacts", true);
        let path = format!("/List/{list_id}/Contact");
        let answer = self
            .inner
            .call::<()>(op, Method::GET, &path, &query, None)
            .await?;
        answer.decode(op)
    }

    /// Starts a list import; Listrak applies it later (see [`ListrakClient::import_status`]).
    pub async fn start_import(&self, list_id: i64, file: &ImportFile) -> Result<i64, Error> {
        self.create(
            op("start list import", true),
            &format!("/List/{list_id}/ListImport"),
            file,
        )
        .await
    }

    /// Needs the Report access level.
    pub async fn import_status(
        &self,
        list_id: i64,
        import_id: i64,
    ) -> Result<ListImportStatus, Error> {
        let path = format!("/List/{list_id}/ListImport/{import_id}/Status");
        self.get(op("list import status", false), &path, &[]).await
    }

    /// Needs the Report access level.
    pub async fn import_summary(
        &self,
        list_id: i64,
        import_id: i64,
    ) -> Result<ListImportSummary, Error> {
        let path = format!("/List/{list_id}/ListImport/{import_id}/Summary");
        self.get(op("list import summary", false), &path, &[]).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_keep_the_at_sign_and_encode_the_rest() {
        assert_eq!(segment("a+b@x.com"), "a%2Bb@x.com");
        assert_eq!(segment("a<b@x.com"), "a%3Cb@x.com");
    }

    #[test]
    fn debug_output_never_shows_the_secret() {
        let creds = Credentials::new("id", "hunter2-secret");
        let client = ListrakClient::new(ClientConfig::default(), creds.clone()).expect("client");
        assert!(!format!("{creds:?}").contains("hunter2"));
        assert!(!format!("{client:?}").contains("hunter2"));
    }
}
