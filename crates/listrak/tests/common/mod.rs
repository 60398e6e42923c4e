//! Shared test setup: a real emulator on 127.0.0.1:0, a real client talking HTTP to it, Patron's event and
//! field catalog (PRODUCT.md §2–3), reconciliation-style provisioning, and `/_sim/` helpers.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use listrak::*;
use listrak_sim::{SimConfig, SimHandle, spawn_for_tests};
use serde_json::{Value, json};

pub const EVENTS: [&str; 10] = [
    "Points Earned",
    "Points Expiration",
    "Winback Award",
    "Tier Upgrade",
    "Default Coupon Reward",
    "Eligible Rewards",
    "Referral Friend Invitation",
    "Referred Friend Incentive",
    "Not eligible for Referred Friend Incentive",
    "Referral Coupon Award",
];

pub const FIELDS: [(&str, DataType, i64); 29] = [
    ("User Name", DataType::Text, 200),
    ("Date of Birth", DataType::Date, 10),
    ("Current Tier", DataType::Text, 100),
    ("Opted Out", DataType::Text, 5),
    ("User Status", DataType::Text, 10),
    ("Points Available", DataType::Numeric, 20),
    ("Phone Number", DataType::Text, 50),
    ("Referral Code", DataType::Text, 50),
    ("Referral URL", DataType::Text, 500),
    ("Points Redeemed", DataType::Numeric, 20),
    ("Points Expired", DataType::Numeric, 20),
    ("Points Earned", DataType::Numeric, 20),
    ("Preferred Language", DataType::Text, 50),
    ("Points Current Activity", DataType::Numeric, 20),
    ("Recent Activity Completed", DataType::Text, 200),
    ("Points Expiry Date", DataType::Date, 10),
    ("Winback Expiry Date", DataType::Date, 10),
    ("Redeemed Reward Code", DataType::Text, 100),
    ("Redeemed Reward Name", DataType::Text, 200),
    ("Reward Points Used", DataType::Numeric, 20),
    ("Referred By", DataType::Text, 200),
    ("Referrer Email", DataType::Text, 254),
    ("Eligible Rewards Count", DataType::Numeric, 20),
    ("Eligible Rewards", DataType::Text, 1000),
    ("Next Reward Name", DataType::Text, 200),
    ("Points To Next Reward", DataType::Numeric, 20),
    ("Next Tier", DataType::Text, 100),
    ("Points To Next Tier", DataType::Numeric, 20),
    ("Member Since", DataType::Date, 10),
];

pub struct Setup {
    pub sim: SimHandle,
    pub client: ListrakClient,
    pub http: reqwest::Client,
}

pub async fn setup() -> Setup {
    setup_with(
        SimConfig::default().with_integration("patron", "s3cret"),
        ClientConfig::default(),
    )
    .await
}

/// `config`'s URLs are replaced by the emulator's.
pub async fn setup_with(sim_config: SimConfig, config: ClientConfig) -> Setup {
    let sim = spawn_for_tests(sim_config).await;
    let config = ClientConfig {
        auth_url: sim.auth_url(),
        api_url: sim.api_url(),
        ..config
    };
    let client = ListrakClient::new(config, Credentials::new("patron", "s3cret")).expect("client");
    Setup {
        sim,
        client,
        http: reqwest::Client::new(),
    }
}

/// Provisioned ids.
#[derive(Debug, Clone, PartialEq)]
pub struct Provisioned {
    pub list_id: i64,
    pub events: Vec<(String, i64)>,
    pub fields: Vec<(String, i64)>,
}

impl Provisioned {
    pub fn event(&self, name: &str) -> i64 {
        self.events
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, id)| *id)
            .expect("event")
    }
    pub fn field(&self, name: &str) -> i64 {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, id)| *id)
            .expect("field")
    }
}

/// List → event group → events → field group → fields, each matched by name first, created if missing.
pub async fn provision(client: &ListrakClient, list_name: &str) -> Provisioned {
    let list_id = match client
        .lists()
        .await
        .expect("lists")
        .into_iter()
        .find(|l| l.list_name == list_name)
    {
        Some(l) => l.list_id,
        None => client
            .create_list(&NewList {
                list_name: list_name.into(),
                bounce_handling: BounceHandling::Standard,
                bounce_unsubscribe_count: 5,
            })
            .await
            .expect("create list"),
    };
    let groups = client.event_groups(list_id).await.expect("event groups");
    let group_id = match groups.into_iter().find(|g| g.event_group_name == "Patron") {
        Some(g) => g.event_group_id,
        None => client
            .create_event_group(list_id, "Patron")
            .await
            .expect("create event group"),
    };
    let existing = client.events(list_id).await.expect("events");
    let mut events = Vec::new();
    for name in EVENTS {
        let id = match existing.iter().find(|e| e.event_name == name) {
            Some(e) => e.event_id,
            None => client
                .create_event(
                    list_id,
                    &NewEvent {
                        event_name: name.into(),
                        status: EventStatus::Active,
                        event_group_id: Some(group_id),
                    },
                )
                .await
                .expect("create event"),
        };
        events.push((name.to_owned(), id));
    }
    let field_groups = client.field_groups(list_id).await.expect("field groups");
    let field_group = match field_groups
        .into_iter()
        .find(|g| g.segmentation_field_group_name == "Patron Loyalty")
    {
        Some(g) => g.segmentation_field_group_id,
        None => client
            .create_field_group(
                list_id,
                &NewSegmentationFieldGroup {
                    segmentation_field_group_name: "Patron Loyalty".into(),
                    position: 1,
                },
            )
            .await
            .expect("create field group"),
    };
    let existing = client.fields(list_id, field_group).await.expect("fields");
    let mut fields = Vec::new();
    for (position, (name, data_type, max_length)) in FIELDS.iter().enumerate() {
        let id = match existing.iter().find(|f| f.segmentation_field_name == *name) {
            Some(f) => f.segmentation_field_id,
            None => client
                .create_field(
                    list_id,
                    field_group,
                    &NewSegmentationField {
                        segmentation_field_name: (*name).into(),
                        data_type: *data_type,
                        max_length: *max_length,
                        position: position as i64 + 1,
                    },
                )
                .await
                .expect("create field"),
        };
        fields.push(((*name).to_owned(), id));
    }
    Provisioned {
        list_id,
        events,
        fields,
    }
}

impl Setup {
    pub async fn control(&self, path: &str, body: Value) -> Value {
        let r = self
            .http
            .post(format!("{}/_sim{path}", self.sim.base_url))
            .json(&body)
            .send()
            .await
            .expect("control");
        r.json().await.expect("control json")
    }

    pub async fn faults(&self, faults: Value) {
        self.control("/faults", faults).await;
    }

    pub async fn raised(&self) -> Vec<Value> {
        let r = self
            .http
            .get(format!("{}/_sim/raised", self.sim.base_url))
            .send()
            .await
            .expect("raised");
        let v: Value = r.json().await.expect("json");
        v.as_array().cloned().unwrap_or_default()
    }

    pub async fn state(&self) -> Value {
        let r = self
            .http
            .get(format!("{}/_sim/state", self.sim.base_url))
            .send()
            .await
            .expect("state");
        r.json().await.expect("json")
    }

    pub fn token_requests(&self) -> u64 {
        self.sim.sim.token_requests()
    }
}

pub fn value(id: i64, v: &str) -> SegmentationFieldValue {
    SegmentationFieldValue::new(id, v)
}

pub fn contact(email: &str, values: Vec<SegmentationFieldValue>) -> ContactUpsert {
    ContactUpsert {
        segmentation_field_values: values,
        ..ContactUpsert::new(email)
    }
}

pub fn events(ids: &[i64]) -> UpsertOptions {
    UpsertOptions {
        event_ids: ids.to_vec(),
        ..UpsertOptions::default()
    }
}

/// Polls `check` until it yields, or panics after `secs` seconds.
pub async fn eventually<T, F: std::future::Future<Output = Option<T>>>(
    secs: u64,
    mut check: impl FnMut() -> F,
) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "condition not met within {secs} s"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

pub fn json_of(v: impl serde::Serialize) -> Value {
    json!(v)
}
