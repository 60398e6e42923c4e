//! The Listrak integration against the real emulator over HTTP: connecting and provisioning, the channel
//! call for each outcome class, routing, profile sync, unsubscribes both ways, backfill and export.

use crate::helpers::{Program, TestApp};
use listrak_sim::{SimConfig, SimHandle};
use patron::delivery::listrak::deliver;
use patron::delivery::{ClaimedDelivery, Outcome};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const CLIENT_ID: &str = "patron-test-client";
const SECRET: &str = "s3cret-Listrak-Value-9f8e7d";

async fn setup() -> (TestApp, SimHandle) {
    let sim =
        listrak_sim::spawn_for_tests(SimConfig::default().with_integration(CLIENT_ID, SECRET))
            .await;
    let app = TestApp::spawn_with(&[
        ("PATRON_LISTRAK_AUTH_URL", &sim.auth_url()),
        ("PATRON_LISTRAK_API_URL", &sim.api_url()),
    ])
    .await;
    (app, sim)
}

async fn sim_get(sim: &SimHandle, path: &str) -> Value {
    reqwest::get(format!("{}{path}", sim.base_url))
        .await
        .expect("the emulator answers")
        .json()
        .await
        .expect("JSON")
}

async fn sim_post(sim: &SimHandle, path: &str, body: Value) -> Value {
    let resp = reqwest::Client::new()
        .post(format!("{}{path}", sim.base_url))
        .json(&body)
        .send()
        .await
        .expect("the emulator answers");
    assert!(resp.status().is_success(), "{path}: {}", resp.status());
    resp.json().await.expect("JSON")
}

async fn faults(sim: &SimHandle, config: Value) {
    sim_post(sim, "/_sim/faults", config).await;
}

async fn connect(p: &Program<'_>, lists: Option<Value>) -> Value {
    let mut body = json!({"client_id": CLIENT_ID, "client_secret": SECRET});
    if let Some(l) = lists {
        body["lists"] = l;
    }
    let (status, view) = p.put("/v1/integrations/listrak", body).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    view
}

/// The outbox rows of a member as the worker would claim them.
async fn claimed(
    app: &TestApp,
    p: &Program<'_>,
    member: &str,
    event: Option<&str>,
) -> Vec<ClaimedDelivery> {
    let internal = app
        .app
        .store()
        .member(&p.id, member)
        .await
        .expect("member")
        .id;
    let mut rows: Vec<ClaimedDelivery> = p
        .deliveries(&format!("member={member}&limit=500"))
        .await
        .iter()
        .filter(|d| d["event"].as_str() == event)
        .map(|d| ClaimedDelivery {
            id: d["id"].as_i64().expect("id"),
            program_id: p.id.clone(),
            member_id: Some(internal.clone()),
            event: d["event"].as_str().map(str::to_string),
            email: d["email"].as_str().expect("email").to_string(),
            channel: d["channel"].as_str().expect("channel").to_string(),
            list_id: d["list_id"].as_str().map(str::to_string),
            fields: serde_json::from_value(d["fields"].clone()).expect("fields"),
            attempts: 0,
        })
        .collect();
    rows.sort_by_key(|d| d.id);
    rows
}

async fn earn(p: &Program<'_>, member: &str, order: &str, amount: f64) {
    let (status, body) = p.purchase(member, order, amount).await;
    assert!(status.is_success(), "{body}");
}

#[tokio::test]
async fn connecting_twice_provisions_everything_once_and_shows_the_emulators_ids() {
    let (app, sim) = setup().await;
    let p = app.program("Acme").await;
    connect(&p, None).await;
    let view = connect(&p, None).await;

    let state = sim_get(&sim, "/_sim/state").await;
    let lists = state["lists"].as_array().expect("lists");
    assert_eq!(lists.len(), 1, "{state}");
    let list = &lists[0];
    assert_eq!(list["list_name"], "Patron Loyalty List");
    assert_eq!(list["event_groups"].as_array().map(Vec::len), Some(1));
    assert_eq!(list["field_groups"].as_array().map(Vec::len), Some(1));
    let events = list["events"].as_array().expect("events");
    assert_eq!(events.len(), 10);
    let fields = list["fields"].as_array().expect("fields");
    assert_eq!(fields.len(), patron_domain::catalog::FIELDS.len());
    for spec in patron_domain::catalog::FIELDS {
        let found: Vec<&Value> = fields.iter().filter(|f| f["name"] == spec.name).collect();
        assert_eq!(found.len(), 1, "field {} exactly once", spec.name);
        assert_eq!(found[0]["data_type"], spec.data_type.as_str());
        assert_eq!(found[0]["max_length"], spec.max_length);
    }

    assert_eq!(view["status"], "connected");
    assert_eq!(view["channel"], "listrak");
    assert!(view["notice"].as_str().is_some_and(|n| n.contains("admin")));
    let (status, shown) = p.get("/v1/integrations/listrak").await;
    assert_eq!(status, StatusCode::OK);
    let shown_list = &shown["lists"][0];
    assert_eq!(shown_list["list_id"], list["list_id"]);
    for e in events {
        let name = e["name"].as_str().expect("name");
        assert_eq!(shown_list["events"][name], e["id"], "event {name}");
    }
    for f in fields {
        let name = f["name"].as_str().expect("name");
        assert_eq!(shown_list["fields"][name], f["id"], "field {name}");
    }
}

#[tokio::test]
async fn wrong_credentials_are_refused_with_a_clear_code_and_nothing_is_stored() {
    let (app, sim) = setup().await;
    let p = app.program("Acme").await;
    let (status, body) = p
        .put(
            "/v1/integrations/listrak",
            json!({"client_id": CLIENT_ID, "client_secret": "wrong"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["code"], "listrak_credentials_rejected");
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("Invalid Credentials")),
        "{body}"
    );
    let (status, body) = p.get("/v1/integrations/listrak").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["code"], "listrak_not_connected");
    let state = sim_get(&sim, "/_sim/state").await;
    assert_eq!(state["lists"].as_array().map(Vec::len), Some(0));

    faults(&sim, json!({"paused": true})).await;
    let (status, body) = p
        .put(
            "/v1/integrations/listrak",
            json!({"client_id": CLIENT_ID, "client_secret": SECRET}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["code"], "listrak_credentials_rejected");
}

#[tokio::test]
async fn the_secret_never_shows_in_answers_nor_in_clear_in_the_database() {
    let (app, _sim) = setup().await;
    let p = app.program("Acme").await;
    let put = connect(&p, None).await;
    let (_, got) = p.get("/v1/integrations/listrak").await;
    for answer in [&put, &got] {
        assert!(!answer.to_string().contains(SECRET), "{answer}");
        assert_eq!(answer["client_id"], CLIENT_ID);
    }
    if app.database_url.starts_with("sqlite:") {
        app.app.store().close().await;
        let mut bytes = Vec::new();
        for name in ["patron.db", "patron.db-wal"] {
            if let Ok(b) = std::fs::read(app.dir.path().join(name)) {
                bytes.extend(b);
            }
        }
        assert!(!bytes.is_empty());
        assert!(
            !bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()),
            "the secret is in the database file in clear"
        );
        assert!(
            bytes
                .windows(CLIENT_ID.len())
                .any(|w| w == CLIENT_ID.as_bytes())
        );
    }
}

#[tokio::test]
async fn a_points_earned_row_arrives_in_the_emulator_with_exact_field_values() {
    let (app, sim) = setup().await;
    let p = app.program("Acme").await;
    connect(&p, None).await;
    p.member("ann").await;
    earn(&p, "ann", "o-1", 120.0).await;

    let rows = claimed(&app, &p, "ann", Some("Points Earned")).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].channel, "listrak");
    let outcome = deliver(&app.app, &rows[0]).await;
    assert!(matches!(outcome, Outcome::Delivered { .. }), "{outcome:?}");

    let raised = sim_get(&sim, "/_sim/raised?email=ann@example.com").await;
    let raised = raised.as_array().expect("raised");
    assert_eq!(raised.len(), 1, "{raised:?}");
    assert_eq!(raised[0]["event_name"], "Points Earned");
    let fields = &raised[0]["fields"];
    assert_eq!(fields["Points Current Activity"], "120");
    assert_eq!(
        fields["Recent Activity Completed"],
        rows[0].fields["Recent Activity Completed"]
    );
    assert_eq!(fields["Points Available"], "120");
    assert_eq!(fields["User Name"], "Member ann");
    assert_eq!(fields["Opted Out"], "False");
    for (name, value) in rows[0].fields.iter().filter(|(_, v)| !v.is_empty()) {
        assert_eq!(fields[name.as_str()], value.as_str(), "field {name}");
    }
    let state = sim_get(&sim, "/_sim/state?email=ann@example.com").await;
    let contact = &state["lists"][0]["contacts"][0];
    assert_eq!(contact["external_contact_id"], "ann");
    assert_eq!(contact["subscription_state"], "Subscribed");
}

#[tokio::test]
async fn each_failure_class_maps_to_its_outcome() {
    let (app, sim) = setup().await;
    let p = app.program("Acme").await;
    let view = connect(&p, None).await;
    let list_id = view["lists"][0]["list_id"].as_i64().expect("list id");
    p.member("ann").await;
    earn(&p, "ann", "o-1", 10.0).await;
    let row = claimed(&app, &p, "ann", Some("Points Earned"))
        .await
        .remove(0);

    faults(&sim, json!({"error_rate": 1.0, "error_status": 500})).await;
    match deliver(&app.app, &row).await {
        Outcome::Retry {
            may_have_been_applied,
            ..
        } => assert!(!may_have_been_applied),
        other => panic!("a 500 should be retried: {other:?}"),
    }

    faults(&sim, json!({"drop_after_commit_rate": 1.0})).await;
    match deliver(&app.app, &row).await {
        Outcome::Retry {
            may_have_been_applied,
            ..
        } => assert!(may_have_been_applied),
        other => panic!("a dropped answer should be retried as maybe applied: {other:?}"),
    }

    faults(&sim, json!({"paused": true})).await;
    sim_post(&sim, "/_sim/tokens/expire", json!({})).await;
    let outcome = deliver(&app.app, &row).await;
    assert!(matches!(outcome, Outcome::Hold { .. }), "{outcome:?}");
    let (_, shown) = p.get("/v1/integrations/listrak").await;
    assert_eq!(shown["status"], "error", "{shown}");

    faults(&sim, json!({})).await;
    let (status, shown) = p
        .post("/v1/integrations/listrak/reprovision", json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{shown}");
    assert_eq!(shown["status"], "connected");
    let outcome = deliver(&app.app, &row).await;
    assert!(
        matches!(outcome, Outcome::Delivered { .. }),
        "released after the fix: {outcome:?}"
    );
    sim_post(
        &sim,
        "/_sim/contacts/unsubscribe",
        json!({"list_id": list_id, "email": "ann@example.com"}),
    )
    .await;
    earn(&p, "ann", "o-2", 10.0).await;
    let row = claimed(&app, &p, "ann", Some("Points Earned"))
        .await
        .remove(1);
    match deliver(&app.app, &row).await {
        Outcome::Dead { reason } => {
            assert!(
                reason.contains("ERROR_UPDATE_UNSUBSCRIBE_WITH_EVENTS"),
                "{reason}"
            )
        }
        other => panic!("an unsubscribed contact is final: {other:?}"),
    }
}

#[tokio::test]
async fn a_contact_who_unsubscribes_in_listrak_is_opted_out_after_the_sync_job() {
    let (app, sim) = setup().await;
    let p = app.program("Acme").await;
    let view = connect(&p, None).await;
    let list_id = view["lists"][0]["list_id"].as_i64().expect("list id");
    p.member("ann").await;
    p.member("bob").await;
    earn(&p, "ann", "o-1", 10.0).await;
    for row in claimed(&app, &p, "ann", Some("Points Earned")).await {
        assert!(matches!(
            deliver(&app.app, &row).await,
            Outcome::Delivered { .. }
        ));
    }
    sim_post(
        &sim,
        "/_sim/contacts/unsubscribe",
        json!({"list_id": list_id, "email": "ann@example.com"}),
    )
    .await;
    let as_of = (chrono::Utc::now() + chrono::Duration::seconds(5)).to_rfc3339();
    let report = p.run_job("listrak-unsubscribe-sync", &as_of).await;
    assert_eq!(report["opted_out"], 1, "{report}");
    let (_, ann) = p.get("/v1/members/ann").await;
    assert_eq!(ann["opted_out"], true);
    let (_, bob) = p.get("/v1/members/bob").await;
    assert_eq!(bob["opted_out"], false);
    assert_eq!(
        app.app
            .store()
            .opt_out_source(&p.id, "ann")
            .await
            .expect("source")
            .as_deref(),
        Some("listrak")
    );

    earn(&p, "ann", "o-2", 10.0).await;
    assert_eq!(
        claimed(&app, &p, "ann", Some("Points Earned")).await.len(),
        1,
        "no new event"
    );
    let report = p.run_job("listrak-unsubscribe-sync", &as_of).await;
    assert_eq!(
        report["opted_out"], 0,
        "a second run changes nothing: {report}"
    );
}

#[tokio::test]
async fn opting_out_in_patron_updates_the_profile_then_unsubscribes_the_contact() {
    let (app, sim) = setup().await;
    let p = app.program("Acme").await;
    connect(&p, None).await;
    p.member("ann").await;
    for row in claimed(&app, &p, "ann", None).await {
        assert!(matches!(
            deliver(&app.app, &row).await,
            Outcome::Delivered { .. }
        ));
    }
    let (status, _) = p.put("/v1/members/ann", json!({"opted_out": true})).await;
    assert_eq!(status, StatusCode::OK);
    let rows = claimed(&app, &p, "ann", None).await;
    let last = rows.last().expect("a profile row");
    let outcome = deliver(&app.app, last).await;
    match &outcome {
        Outcome::Delivered { detail } => assert!(detail.contains("unsubscribed"), "{detail}"),
        other => panic!("{other:?}"),
    }
    let state = sim_get(&sim, "/_sim/state?email=ann@example.com").await;
    let contact = &state["lists"][0]["contacts"][0];
    assert_eq!(contact["subscription_state"], "Unsubscribed", "{contact}");
    assert_eq!(contact["fields"]["Opted Out"], "True");
    earn(&p, "ann", "o-1", 10.0).await;
    assert!(
        claimed(&app, &p, "ann", Some("Points Earned"))
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn a_burst_of_profile_changes_makes_one_call_with_only_the_changed_fields() {
    let (app, sim) = setup().await;
    let p = app.program("Acme").await;
    connect(&p, None).await;
    p.member("ann").await;
    for row in claimed(&app, &p, "ann", None).await {
        deliver(&app.app, &row).await;
    }
    let before = sim_get(&sim, "/_sim/state").await["requests"].clone();
    for phone in ["+1 555 0101", "+1 555 0102", "+1 555 0103"] {
        p.put("/v1/members/ann", json!({"phone": phone})).await;
    }
    let pending: Vec<_> = p
        .deliveries("member=ann&status=pending")
        .await
        .into_iter()
        .filter(|d| d["event"].is_null())
        .collect();
    assert_eq!(pending.len(), 1, "the burst is coalesced: {pending:?}");
    let rows = claimed(&app, &p, "ann", None).await;
    let outcome = deliver(&app.app, rows.last().expect("row")).await;
    assert!(matches!(outcome, Outcome::Delivered { .. }), "{outcome:?}");
    let state = sim_get(&sim, "/_sim/state?email=ann@example.com").await;
    assert_eq!(
        state["lists"][0]["contacts"][0]["fields"]["Phone Number"],
        "+1 555 0103"
    );
    assert_ne!(before, state["requests"]);
}

#[tokio::test]
async fn notifications_fan_out_to_the_lists_routed_by_language() {
    let (app, sim) = setup().await;
    let p = app.program("Acme").await;
    let view = connect(
        &p,
        Some(json!([
            {"name": "Everyone", "route": "all"},
            {"name": "French", "route": "language:French"},
            {"name": "German", "route": "language:german"}
        ])),
    )
    .await;
    let id_of = |name: &str| {
        view["lists"]
            .as_array()
            .and_then(|l| l.iter().find(|x| x["name"] == name))
            .and_then(|x| x["list_id"].as_i64())
            .expect("list")
            .to_string()
    };
    p.put(
        "/v1/members/ann",
        json!({"email": "ann@example.com", "preferred_language": "french"}),
    )
    .await;
    earn(&p, "ann", "o-1", 10.0).await;
    let rows = claimed(&app, &p, "ann", Some("Points Earned")).await;
    let mut lists: Vec<String> = rows.iter().filter_map(|r| r.list_id.clone()).collect();
    lists.sort();
    let mut want = vec![id_of("Everyone"), id_of("French")];
    want.sort();
    assert_eq!(lists, want);
    for row in &rows {
        assert!(matches!(
            deliver(&app.app, row).await,
            Outcome::Delivered { .. }
        ));
    }
    let raised = sim_get(&sim, "/_sim/raised").await;
    let mut raised_lists: Vec<String> = raised
        .as_array()
        .expect("raised")
        .iter()
        .map(|r| r["list_id"].to_string())
        .collect();
    raised_lists.sort();
    assert_eq!(raised_lists, want);
    assert_eq!(
        sim_get(&sim, "/_sim/state").await["lists"]
            .as_array()
            .map(Vec::len),
        Some(3)
    );
}

async fn wait_for_backfill(p: &Program<'_>, status: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (_, view) = p.get("/v1/integrations/listrak/backfill").await;
        if view["running"] == false
            && view["lists"]
                .as_array()
                .is_some_and(|l| l.iter().all(|x| x["status"] == status))
        {
            return view;
        }
        assert!(
            Instant::now() < deadline,
            "backfill did not reach {status}: {view}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn wait_for_contacts(sim: &SimHandle, n: u64) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let state = sim_get(sim, "/_sim/state?contacts=false").await;
        if state["lists"][0]["contact_count"].as_u64() == Some(n) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "contacts never reached {n}: {}",
            state["lists"][0]["contact_count"]
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn backfill_reaches_the_emulator_and_resumes_after_an_interruption() {
    let (app, sim) = setup().await;
    let p = app.program("Acme").await;
    connect(&p, None).await;
    let total = 10_000;
    let members = futures::stream::iter(0..total).map(|i| {
        let p = &p;
        async move {
            let (s, b) = p
                .put(
                    &format!("/v1/members/m{i:05}"),
                    json!({"email": format!("m{i:05}@example.com"), "name": format!("M {i}")}),
                )
                .await;
            assert!(s.is_success(), "{b}");
        }
    });
    use futures::StreamExt;
    members.buffer_unordered(8).collect::<Vec<_>>().await;

    let (status, _) = p
        .post(
            "/v1/integrations/listrak/backfill",
            json!({"chunk_size": 2000, "max_chunks": 2}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let view = wait_for_backfill(&p, "interrupted").await;
    assert_eq!(view["lists"][0]["done"], 4000, "{view}");
    wait_for_contacts(&sim, 4000).await;

    let (status, _) = p
        .post(
            "/v1/integrations/listrak/backfill",
            json!({"chunk_size": 2000}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let view = wait_for_backfill(&p, "done").await;
    assert_eq!(view["lists"][0]["done"], total, "{view}");
    assert_eq!(
        view["lists"][0]["imports"], 5,
        "resumed, not restarted: {view}"
    );
    wait_for_contacts(&sim, total).await;
    let state = sim_get(&sim, "/_sim/state?email=m00042@example.com").await;
    let contact = &state["lists"][0]["contacts"][0];
    assert_eq!(contact["external_contact_id"], "m00042");
    assert_eq!(contact["fields"]["User Name"], "M 42");
    assert_eq!(state["raised_count"], 0, "a backfill raises no events");
}

#[tokio::test]
async fn the_export_has_the_import_columns_and_one_row_per_member() {
    let (app, _sim) = setup().await;
    let p = app.program("Acme").await;
    p.member("ann").await;
    p.member("bob").await;
    p.put("/v1/members/bob", json!({"opted_out": true})).await;
    let mut out = Vec::new();
    let n = app
        .app
        .export_members_csv(&p.id, &mut out)
        .await
        .expect("export");
    assert_eq!(n, 1, "opted-out members are not exported");
    let text = String::from_utf8(out).expect("utf-8");
    let mut lines = text.lines();
    let header = lines.next().expect("header");
    assert!(
        header.starts_with("Email,ExternalContactID,User Name,Date of Birth"),
        "{header}"
    );
    assert_eq!(
        header.split(',').count(),
        2 + patron_domain::catalog::FIELDS.len()
    );
    let row = lines.next().expect("a row");
    assert!(row.starts_with("ann@example.com,ann,Member ann,"), "{row}");
    assert!(lines.next().is_none());
}
