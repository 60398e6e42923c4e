//! The Listrak integration as the merchant sees it: connect (check the credentials, provision, switch the
//! program's notifications to Listrak), show every provisioned id, re-provision, disconnect. Also the
//! per-program client cache the delivery channel and jobs share (clients share one token and one pacer).

use super::provisioning::reconcile_list;
use super::{App, AppError};
use chrono::Utc;
use listrak::{ClientConfig, Credentials, ListrakClient};
use patron_store::{IntegrationRow, ListRoute, integration_status};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;
use utoipa::ToSchema;

pub const DEFAULT_LIST_NAME: &str = "Patron Loyalty List";

/// Shown after every provisioning: lists created through the API are invisible to marketers until then.
pub const ADMIN_NOTICE: &str = "A Listrak admin must grant your marketers access to each new list (Listrak: \
     Account Settings > Users, edit the user, List Access), or they will not see it, its events or its fields.";

/// `PUT /v1/integrations/listrak`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectRequest {
    pub client_id: String,
    pub client_secret: String,
    /// Lists to provision, each with its routing (`all` or `language:<x>`). Default: one list,
    /// `Patron Loyalty List`, routed `all`; absent on a later save: the configured lists are kept.
    pub lists: Option<Vec<ListSpec>>,
    /// Client-side pacing for this integration (default: no limit; slows down on 429 either way).
    pub requests_per_second: Option<u32>,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListSpec {
    pub name: String,
    #[serde(default = "route_all")]
    pub route: String,
}

fn route_all() -> String {
    "all".into()
}

/// One list with every id the marketer needs ("API ID information").
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ListView {
    pub name: String,
    pub route: String,
    pub list_id: Option<i64>,
    pub event_group_id: Option<i64>,
    pub field_group_id: Option<i64>,
    /// Event id by exact event name.
    pub events: BTreeMap<String, i64>,
    /// Profile field id by exact field name.
    pub fields: BTreeMap<String, i64>,
    pub unsubscribe_watermark: Option<chrono::DateTime<Utc>>,
}

/// `GET /v1/integrations/listrak`. Never carries the secret.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IntegrationView {
    /// `connected`, `error`, `needs_reprovisioning` or `disconnected`.
    pub status: String,
    pub client_id: String,
    pub last_error: Option<String>,
    pub requests_per_second: Option<i64>,
    /// The channel the program's notifications go out on now: `listrak` or `native`.
    pub channel: String,
    pub provisioned_at: Option<chrono::DateTime<Utc>>,
    pub lists: Vec<ListView>,
    pub notice: String,
}

/// Clients per program, rebuilt when the stored credentials change, and the backfills running here.
#[derive(Default)]
pub struct ListrakRuntime {
    clients: Mutex<HashMap<String, (String, ListrakClient)>>,
    pub(crate) backfills: Mutex<HashSet<String>>,
}

impl App {
    /// The client of a stored integration; cached while the sealed secret and pacing stay the same.
    pub fn listrak_client(&self, row: &IntegrationRow) -> Result<ListrakClient, AppError> {
        let fingerprint = format!(
            "{}|{}|{:?}",
            row.client_id, row.sealed_secret, row.requests_per_second
        );
        if let Ok(cache) = self.listrak_runtime().clients.lock()
            && let Some((fp, client)) = cache.get(&row.program_id)
            && *fp == fingerprint
        {
            return Ok(client.clone());
        }
        let secret = self.key().open(&row.sealed_secret)?;
        let client = self.new_listrak_client(
            Credentials::new(row.client_id.clone(), secret),
            row.requests_per_second,
        )?;
        if let Ok(mut cache) = self.listrak_runtime().clients.lock() {
            cache.insert(row.program_id.clone(), (fingerprint, client.clone()));
        }
        Ok(client)
    }

    fn new_listrak_client(
        &self,
        credentials: Credentials,
        requests_per_second: Option<i64>,
    ) -> Result<ListrakClient, AppError> {
        let s = self.settings();
        let mut config =
            ClientConfig::with_urls(s.listrak_auth_url.clone(), s.listrak_api_url.clone());
        config.proxy = s.listrak_proxy.clone();
        config.requests_per_second = requests_per_second.map(|r| r as f64);
        Ok(ListrakClient::new(config, credentials)?)
    }

    /// The stored integration, or a 404-style refusal.
    pub async fn listrak_integration(&self, program_id: &str) -> Result<IntegrationRow, AppError> {
        self.store()
            .listrak_integration(program_id)
            .await?
            .ok_or(AppError::NotConnected)
    }

    /// Checks the credentials with a token request, stores them sealed, provisions every list and
    /// switches the program's notifications to Listrak.
    pub async fn connect_listrak(
        &self,
        program_id: &str,
        req: ConnectRequest,
    ) -> Result<IntegrationView, AppError> {
        let client_id = req.client_id.trim().to_string();
        let mut problems = Vec::new();
        if client_id.is_empty() || client_id.len() > 200 {
            problems.push(("client_id", "must be 1 to 200 characters"));
        }
        if req.client_secret.is_empty() || req.client_secret.len() > 500 {
            problems.push(("client_secret", "must be 1 to 500 characters"));
        }
        let lists = match &req.lists {
            Some(specs) => Some(parse_lists(specs)?),
            None => None,
        };
        if let Some((field, message)) = problems.first() {
            return Err(AppError::invalid(field, *message));
        }
        let client = self.new_listrak_client(
            Credentials::new(client_id.clone(), req.client_secret.clone()),
            req.requests_per_second.map(i64::from),
        )?;
        client
            .check_credentials()
            .await
            .map_err(credentials_error)?;

        let existing = self.store().listrak_integration(program_id).await?;
        let lists = match (lists, &existing) {
            (Some(l), _) => Some(l),
            (None, Some(row)) if !row.lists.is_empty() => None,
            (None, _) => Some(vec![(DEFAULT_LIST_NAME.to_string(), ListRoute::All)]),
        };
        let sealed = self.key().seal(&req.client_secret);
        self.store()
            .save_listrak_credentials(
                program_id,
                &client_id,
                &sealed,
                req.requests_per_second.map(i64::from),
                lists.as_deref(),
                Utc::now(),
            )
            .await?;
        self.provision_listrak(program_id).await
    }

    /// Re-runs reconciliation with the stored credentials (after a list was deleted in Listrak, say).
    pub async fn provision_listrak(&self, program_id: &str) -> Result<IntegrationView, AppError> {
        let row = self.listrak_integration(program_id).await?;
        if row.status == integration_status::DISCONNECTED {
            return Err(AppError::NotConnected);
        }
        let client = self.listrak_client(&row)?;
        let mut provisioned = Vec::new();
        for list in &row.lists {
            match reconcile_list(&client, &list.name).await {
                Ok(p) => provisioned.push(p),
                Err(e) => {
                    let status = integration_status::ERROR;
                    let message = format!("provisioning list `{}` failed: {e}", list.name);
                    self.store()
                        .set_listrak_status(program_id, status, Some(&message), Utc::now())
                        .await?;
                    return Err(AppError::Listrak { message, source: e });
                }
            }
        }
        self.store()
            .finish_listrak_provisioning(program_id, &provisioned, Utc::now())
            .await?;
        // Whatever held the channel (paused credentials, a stale list) is fixed now.
        self.store().release_channel(program_id, "listrak").await?;
        self.listrak_view(program_id).await
    }

    pub async fn listrak_view(&self, program_id: &str) -> Result<IntegrationView, AppError> {
        let row = self.listrak_integration(program_id).await?;
        let channel = self.store().program(program_id).await?.channel;
        Ok(IntegrationView {
            status: row.status,
            client_id: row.client_id,
            last_error: row.last_error,
            requests_per_second: row.requests_per_second,
            channel,
            provisioned_at: row.provisioned_at,
            lists: row
                .lists
                .into_iter()
                .map(|l| ListView {
                    name: l.name,
                    route: l.route.as_string(),
                    list_id: l.list_id.and_then(|id| id.parse().ok()),
                    event_group_id: l.event_group_id,
                    field_group_id: l.field_group_id,
                    events: l.event_ids,
                    fields: l.field_ids,
                    unsubscribe_watermark: l.unsubscribe_watermark,
                })
                .collect(),
            notice: ADMIN_NOTICE.to_string(),
        })
    }

    /// Forgets the secret and switches the program back to native mail. Rows already recorded for
    /// Listrak stay on Listrak (held until it is connected again).
    pub async fn disconnect_listrak(&self, program_id: &str) -> Result<IntegrationView, AppError> {
        if !self
            .store()
            .disconnect_listrak(program_id, Utc::now())
            .await?
        {
            return Err(AppError::NotConnected);
        }
        if let Ok(mut cache) = self.listrak_runtime().clients.lock() {
            cache.remove(program_id);
        }
        self.listrak_view(program_id).await
    }
}

fn parse_lists(specs: &[ListSpec]) -> Result<Vec<(String, ListRoute)>, AppError> {
    if specs.is_empty() || specs.len() > 20 {
        return Err(AppError::invalid("lists", "give 1 to 20 lists"));
    }
    let mut out: Vec<(String, ListRoute)> = Vec::new();
    for (i, spec) in specs.iter().enumerate() {
        let name = spec.name.trim().to_string();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(AppError::invalid(
                &format!("lists[{i}].name"),
                "must be 1 to 100 characters",
            ));
        }
        if out.iter().any(|(n, _)| *n == name) {
            return Err(AppError::invalid(
                &format!("lists[{i}].name"),
                "list names must be unique",
            ));
        }
        let route = ListRoute::parse(&spec.route).ok_or_else(|| {
            AppError::invalid(
                &format!("lists[{i}].route"),
                "must be `all` or `language:<language>`",
            )
        })?;
        out.push((name, route));
    }
    Ok(out)
}

fn credentials_error(e: listrak::Error) -> AppError {
    match e {
        listrak::Error::Credentials { .. } => AppError::ListrakCredentials(e.to_string()),
        listrak::Error::Api { .. } | listrak::Error::Status { .. }
            if e.class() == listrak::ErrorClass::IntegrationUnusable =>
        {
            AppError::ListrakCredentials(e.to_string())
        }
        other => AppError::Listrak {
            message: "could not reach Listrak to check the credentials".into(),
            source: other,
        },
    }
}
