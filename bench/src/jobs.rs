//! The 1,000,000-member phase: members seeded straight into the database (the API would take longer
//! than everything measured here), then, each timed against its limit, the backfill into the
//! emulator, the monthly digest and the expiry job, on one `patron serve`.

use crate::{Args, Row, Server, emulator, program, start};
use anyhow::{Context, Result, bail};
use chrono::{Duration as Days, Utc};
use patron_store::testing::{SeedMembers, seed_members};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

pub(crate) async fn phase(args: &Args, rows: &mut Vec<Row>, peak: &mut f64) -> Result<()> {
    let n = args.members;
    let (_sim, env) = emulator().await;
    let dir = tempfile::tempdir()?;
    let client = reqwest::Client::new();
    let (key, program_id) = {
        let server = start(args, dir.path(), &env).await?;
        let key = program(&client, &server.base).await?;
        let call = |method: reqwest::Method, path: &str, body: Value| {
            client
                .request(method, format!("{}{path}", server.base))
                .bearer_auth(&key)
                .json(&body)
                .send()
        };
        for (method, path, body) in [
            (
                reqwest::Method::PUT,
                "/v1/integrations/listrak",
                json!({"client_id": "bench", "client_secret": "bench-secret"}),
            ),
            (
                reqwest::Method::POST,
                "/v1/rewards",
                json!({"name": "Coffee", "points_cost": 50, "coupon": {"prefix": "COFFEE"}}),
            ),
            (
                reqwest::Method::PUT,
                "/v1/settings",
                json!({"expiry": {"mode": "per_lot", "days": 30}}),
            ),
        ] {
            let answer = call(method, path, body).await?;
            if !answer.status().is_success() {
                bail!("{path} answered {}", answer.status());
            }
        }
        let current: Value = call(reqwest::Method::GET, "/v1/program", json!({}))
            .await?
            .json()
            .await?;
        let id = current["id"].as_str().context("no program id")?.to_string();
        (key, id)
    };

    let seeding = Instant::now();
    let store = patron_store::Store::connect(
        &format!("sqlite://{}", dir.path().join("bench.db").display()),
        2,
    )
    .await?;
    let now = Utc::now();
    seed_members(
        &store,
        &SeedMembers {
            program_id: program_id.clone(),
            first: 0,
            count: n,
            points: 100,
            expires_at: now,
            now: now - Days::days(60),
        },
    )
    .await?;
    store.close().await;
    eprintln!(
        "seeded {n} members in {:.1}s",
        seeding.elapsed().as_secs_f64()
    );

    let server = start(args, dir.path(), &env).await?;
    let timed = |target: &'static str, limit: f64, took: Result<Duration>| match took {
        Ok(took) => Row {
            target,
            measured: format!("{:.1}s", took.as_secs_f64()),
            ratio: Some(took.as_secs_f64() / limit),
            goal: -1.0,
        },
        Err(e) => Row {
            target,
            measured: format!("failed: {e:#}"),
            ratio: None,
            goal: -1.0,
        },
    };
    rows.push(timed(
        "backfill 1,000,000 members into the emulator vs 2 min",
        120.0,
        backfill(&client, &server, &key).await,
    ));
    let as_of = (Utc::now() + Days::days(1)).to_rfc3339();
    rows.push(timed(
        "monthly digest over 1,000,000 members vs 60 s",
        60.0,
        job(
            &client,
            &server,
            &key,
            "eligible-rewards",
            &as_of,
            "recorded",
            n,
        )
        .await,
    ));
    rows.push(timed(
        "expiry job over 1,000,000 members vs 60 s",
        60.0,
        job(
            &client,
            &server,
            &key,
            "expire-points",
            &as_of,
            "members",
            n,
        )
        .await,
    ));
    *peak = peak.max(server.peak_rss_mb().unwrap_or(0.0));
    Ok(())
}

/// Starts the backfill and waits until every list is done.
async fn backfill(client: &reqwest::Client, server: &Server, key: &str) -> Result<Duration> {
    let url = format!("{}/v1/integrations/listrak/backfill", server.base);
    let started = Instant::now();
    let answer = client
        .post(&url)
        .bearer_auth(key)
        .json(&json!({"chunk_size": 10000}))
        .send()
        .await?;
    if !answer.status().is_success() {
        bail!("starting the backfill answered {}", answer.status());
    }
    loop {
        let view: Value = client
            .get(&url)
            .bearer_auth(key)
            .send()
            .await?
            .json()
            .await?;
        let lists = view["lists"].as_array().context("no lists")?;
        if let Some(failed) = lists.iter().find(|l| l["status"] == "failed") {
            bail!("the backfill failed: {}", failed["last_error"]);
        }
        if !lists.is_empty() && lists.iter().all(|l| l["status"] == "done") {
            return Ok(started.elapsed());
        }
        if started.elapsed() > Duration::from_secs(900) {
            bail!("the backfill did not finish in 15 minutes");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Runs one job and checks that it touched every member.
async fn job(
    client: &reqwest::Client,
    server: &Server,
    key: &str,
    name: &str,
    as_of: &str,
    count: &str,
    expected: u64,
) -> Result<Duration> {
    let started = Instant::now();
    let answer = client
        .post(format!("{}/v1/jobs/{name}/run", server.base))
        .bearer_auth(key)
        .json(&json!({"as_of": as_of}))
        .send()
        .await?;
    let took = started.elapsed();
    let status = answer.status();
    let report: Value = answer.json().await?;
    if !status.is_success() {
        bail!("{name} answered {status}: {report}");
    }
    if report[count].as_u64() != Some(expected) {
        bail!("{name} reported {report}, expected {count} = {expected}");
    }
    Ok(took)
}
