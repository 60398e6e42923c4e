//! `kill -9` of a real `patron serve` process in the middle of work loses nothing it accepted.

use crate::helpers::ADMIN_TOKEN;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Server {
    child: Child,
    base: String,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

async fn start(dir: &std::path::Path, database_url: &str) -> Server {
    start_with(dir, database_url, &[]).await
}

async fn start_with(dir: &std::path::Path, database_url: &str, env: &[(&str, String)]) -> Server {
    let port = free_port();
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("server.log"))
        .expect("log file");
    let child = Command::new(env!("CARGO_BIN_EXE_patron"))
        .envs(env.iter().map(|(k, v)| (k.to_string(), v.clone())))
        .arg("serve")
        .env("PATRON_DATABASE_URL", database_url)
        .env("PATRON_LISTEN", format!("127.0.0.1:{port}"))
        .env("PATRON_ADMIN_TOKEN", ADMIN_TOKEN)
        .env("PATRON_SECRET_KEY", "22".repeat(32))
        .env("PATRON_MAIL_DIR", dir.join("mail"))
        .env("PATRON_DELIVERY_LEASE_MS", "1000")
        .env("PATRON_RETRY_BASE_MS", "10")
        .env("PATRON_LOG", "debug")
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .spawn()
        .expect("patron serve starts");
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while client
        .get(format!("{base}/healthz"))
        .send()
        .await
        .map(|r| r.status() != StatusCode::OK)
        .unwrap_or(true)
    {
        assert!(Instant::now() < deadline, "the server did not come up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Server { child, base }
}

/// Creates a program on the server and returns its API key.
async fn api_key(client: &reqwest::Client, base: &str) -> String {
    let created: Value = client
        .post(format!("{base}/v1/programs"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"name": "Acme"}))
        .send()
        .await
        .expect("answer")
        .json()
        .await
        .expect("json");
    created["api_key"].as_str().expect("key").to_string()
}

#[tokio::test]
async fn a_kill_9_mid_stream_loses_no_accepted_purchase_and_no_notification() {
    let dir = tempfile::tempdir().expect("temp dir");
    let database_url = crate::helpers::database_url(dir.path()).await;
    let mut server = start(dir.path(), &database_url).await;
    let client = reqwest::Client::new();
    let key = api_key(&client, &server.base).await;
    client
        .put(format!("{}/v1/members/m1", server.base))
        .bearer_auth(&key)
        .json(&json!({"email": "m1@example.com"}))
        .send()
        .await
        .expect("member");

    // Fire purchases; kill the server while many are still in flight.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    for i in 0..300 {
        let (client, base, key, tx) =
            (client.clone(), server.base.clone(), key.clone(), tx.clone());
        tokio::spawn(async move {
            let resp = client
                .post(format!("{base}/v1/members/m1/activities"))
                .bearer_auth(&key)
                .json(&json!({"type": "purchase", "amount": 1, "order_id": format!("o-{i}")}))
                .send()
                .await;
            let accepted = matches!(resp, Ok(r) if r.status() == StatusCode::CREATED);
            let _ = tx.send((i, accepted));
        });
    }
    drop(tx);
    let mut accepted = Vec::new();
    let mut answered = 0;
    while let Some((i, ok)) = rx.recv().await {
        answered += 1;
        if ok {
            accepted.push(i);
        }
        if answered == 120 {
            server.child.kill().expect("kill -9");
            let _ = server.child.wait();
        }
    }
    assert!(
        accepted.len() >= 100,
        "enough work was accepted before the kill: {}",
        accepted.len()
    );

    let mut server = start(dir.path(), &database_url).await;
    let member: Value = client
        .get(format!("{}/v1/members/m1", server.base))
        .bearer_auth(&key)
        .send()
        .await
        .expect("a")
        .json()
        .await
        .expect("j");
    let available = member["points"]["available"].as_i64().expect("points");
    assert!(
        available >= accepted.len() as i64,
        "{available} points for {} accepted purchases",
        accepted.len()
    );

    // Every recorded notification ends delivered, by the restarted worker.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let page: Value = client
            .get(format!("{}/v1/deliveries?limit=500", server.base))
            .bearer_auth(&key)
            .send()
            .await
            .expect("a")
            .json()
            .await
            .expect("j");
        let items = page["items"].as_array().cloned().unwrap_or_default();
        assert_eq!(
            items.len() as i64,
            available,
            "one Points Earned per awarded purchase"
        );
        if items.iter().all(|d| d["status"] == "delivered") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "deliveries did not finish after the restart"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let emails = std::fs::read_dir(dir.path().join("mail"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert!(
        emails as i64 >= available,
        "{emails} emails for {available} notifications"
    );
    server.child.kill().expect("stop");
    let _ = server.child.wait();
}

#[tokio::test]
async fn a_kill_9_mid_delivery_to_listrak_loses_nothing_and_no_secret_reaches_the_logs() {
    let secret = "top-s3cret-value-7731";
    let sim = listrak_sim::spawn_for_tests(
        listrak_sim::SimConfig::default().with_integration("crash", secret),
    )
    .await;
    let dir = tempfile::tempdir().expect("temp dir");
    let database_url = crate::helpers::database_url(dir.path()).await;
    let env = [
        ("PATRON_LISTRAK_AUTH_URL", sim.auth_url()),
        ("PATRON_LISTRAK_API_URL", sim.api_url()),
        ("PATRON_DELIVERY_CONCURRENCY", "8".to_string()),
    ];
    let mut server = start_with(dir.path(), &database_url, &env).await;
    let client = reqwest::Client::new();
    let key = api_key(&client, &server.base).await;
    let connected = client
        .put(format!("{}/v1/integrations/listrak", server.base))
        .bearer_auth(&key)
        .json(&json!({"client_id": "crash", "client_secret": secret}))
        .send()
        .await
        .expect("answer");
    assert_eq!(connected.status(), StatusCode::OK);
    let view = connected.text().await.expect("body");
    assert!(!view.contains(secret), "the secret is never returned");
    for m in 0..20 {
        client
            .put(format!("{}/v1/members/m{m}", server.base))
            .bearer_auth(&key)
            .json(&json!({"email": format!("m{m}@example.com")}))
            .send()
            .await
            .expect("member");
    }
    // Slow Listrak down so that the kill lands mid-delivery.
    client
        .post(format!("{}/_sim/faults", sim.base_url))
        .json(&json!({"latency_ms": 20}))
        .send()
        .await
        .expect("faults");
    for i in 0..200 {
        let resp = client
            .post(format!("{}/v1/members/m{}/activities", server.base, i % 20))
            .bearer_auth(&key)
            .json(&json!({"type": "purchase", "amount": 1, "order_id": format!("o-{i}")}))
            .send()
            .await
            .expect("answer");
        assert_eq!(resp.status(), StatusCode::CREATED);
    }
    let raised = |sim_base: String| async move {
        let all: Vec<Value> = reqwest::get(format!("{sim_base}/_sim/raised"))
            .await
            .expect("a")
            .json()
            .await
            .expect("j");
        all.into_iter()
            .filter(|r| r["event_name"] == "Points Earned")
            .count()
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while raised(sim.base_url.clone()).await < 20 {
        assert!(Instant::now() < deadline, "delivery never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.child.kill().expect("kill -9");
    let _ = server.child.wait();
    assert!(
        raised(sim.base_url.clone()).await < 200,
        "the kill landed mid-delivery"
    );

    client
        .post(format!("{}/_sim/faults", sim.base_url))
        .json(&json!({"latency_ms": 0}))
        .send()
        .await
        .expect("faults");
    let mut server = start_with(dir.path(), &database_url, &env).await;
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let page: Value = client
            .get(format!(
                "{}/v1/deliveries?event=Points%20Earned&limit=500",
                server.base
            ))
            .bearer_auth(&key)
            .send()
            .await
            .expect("a")
            .json()
            .await
            .expect("j");
        let items = page["items"].as_array().cloned().unwrap_or_default();
        assert_eq!(items.len(), 200);
        if items
            .iter()
            .all(|d| d["status"] == "delivered" || d["status"] == "unconfirmed")
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "deliveries did not finish after the restart"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        raised(sim.base_url.clone()).await >= 200,
        "every notification reached Listrak"
    );
    server.child.kill().expect("stop");
    let _ = server.child.wait();

    let log = std::fs::read_to_string(dir.path().join("server.log")).expect("log");
    assert!(!log.is_empty());
    assert!(!log.contains(secret), "the Listrak secret is never logged");
    if database_url.starts_with("sqlite://") {
        let db = std::fs::read(dir.path().join("patron.db")).expect("db");
        let wal = std::fs::read(dir.path().join("patron.db-wal")).unwrap_or_default();
        let needle = secret.as_bytes();
        assert!(
            !db.windows(needle.len()).any(|w| w == needle)
                && !wal.windows(needle.len()).any(|w| w == needle),
            "the secret is sealed at rest"
        );
    }
}
