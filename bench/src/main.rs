//! Patron's performance targets, measured side by side in one run and printed as ratios (never as
//! absolute pass/fail timings: the machine is shared and noisy). See `bench/README.md`.

use anyhow::{Context, Result, bail};
use clap::Parser;
use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(Debug, Parser)]
#[command(about = "Measure Patron against its performance targets (ratios measured in one run)")]
pub(crate) struct Args {
    /// The `patron` binary to measure (build it with --release).
    #[arg(long, default_value = "target/release/patron")]
    patron: String,
    /// Seconds per HTTP load phase.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Concurrent client connections for the HTTP phases.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Notifications for the delivery phase.
    #[arg(long, default_value_t = 8000)]
    notifications: usize,
    /// The emulator's answer latency in the delivery phase (the target assumes 20 ms).
    #[arg(long, default_value_t = 20)]
    latency_ms: u64,
    /// Members for the backfill, digest and expiry phase (the targets assume 1,000,000).
    #[arg(long, default_value_t = 1_000_000)]
    members: u64,
    /// Phases to run (default all): `awards`, `delivery`, `jobs`.
    #[arg(long, value_delimiter = ',', default_value = "awards,delivery,jobs")]
    phases: Vec<String>,
}

mod jobs;

const ADMIN: &str = "bench-admin-token";

pub(crate) struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Peak resident memory (VmHWM) of the server process, in MB.
    pub(crate) fn peak_rss_mb(&self) -> Option<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb / 1024.0)
    }
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

pub(crate) async fn start(
    args: &Args,
    dir: &std::path::Path,
    env: &[(&str, String)],
) -> Result<Server> {
    let port = free_port()?;
    let mut cmd = Command::new(&args.patron);
    cmd.arg("serve")
        .env(
            "PATRON_DATABASE_URL",
            format!("sqlite://{}", dir.join("bench.db").display()),
        )
        .env("PATRON_LISTEN", format!("127.0.0.1:{port}"))
        .env("PATRON_ADMIN_TOKEN", ADMIN)
        .env("PATRON_SECRET_KEY", "33".repeat(32))
        .env("PATRON_MAIL_DIR", dir.join("mail"))
        .env("PATRON_SCHEDULER", "false")
        .env("PATRON_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = cmd.spawn().with_context(|| {
        format!(
            "cannot start {} (build it with `cargo build --release`)",
            args.patron
        )
    })?;
    let server = Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let up = client.get(format!("{}/healthz", server.base)).send().await;
        if up.is_ok_and(|r| r.status().is_success()) {
            return Ok(server);
        }
        if Instant::now() > deadline {
            bail!("the server did not come up");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Runs `connections` loops for `seconds`, each calling `call(i)`; returns successful calls per second.
async fn load<F, Fut>(connections: usize, seconds: u64, call: F) -> f64
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let ok = Arc::new(AtomicU64::new(0));
    let next = Arc::new(AtomicU64::new(0));
    let call = Arc::new(call);
    let end = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let tasks: Vec<_> = (0..connections)
        .map(|_| {
            let (ok, next, call) = (ok.clone(), next.clone(), call.clone());
            tokio::spawn(async move {
                while Instant::now() < end {
                    if call(next.fetch_add(1, Ordering::Relaxed)).await {
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    futures::future::join_all(tasks).await;
    ok.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

pub(crate) async fn program(client: &reqwest::Client, base: &str) -> Result<String> {
    let created: Value = client
        .post(format!("{base}/v1/programs"))
        .bearer_auth(ADMIN)
        .json(&json!({"name": "Bench"}))
        .send()
        .await?
        .json()
        .await?;
    Ok(created["api_key"]
        .as_str()
        .context("no api key")?
        .to_string())
}

async fn members(client: &reqwest::Client, base: &str, key: &str, n: usize) -> Result<()> {
    for chunk in (0..n).collect::<Vec<_>>().chunks(50) {
        let puts = chunk.iter().map(|i| {
            client
                .put(format!("{base}/v1/members/m{i}"))
                .bearer_auth(key)
                .json(&json!({"email": format!("m{i}@bench.example")}))
                .send()
        });
        for r in futures::future::join_all(puts).await {
            r?.error_for_status()?;
        }
    }
    Ok(())
}

pub(crate) struct Row {
    target: &'static str,
    measured: String,
    ratio: Option<f64>,
    /// The ratio to reach (at least), or, negative, one not to exceed.
    goal: f64,
}

async fn http_phase(args: &Args, rows: &mut Vec<Row>, peak: &mut f64) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let server = start(args, dir.path(), &[("PATRON_WORKERS", "false".into())]).await?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.connections)
        .build()?;
    let key = program(&client, &server.base).await?;
    members(&client, &server.base, &key, 1000).await?;

    let (c, b, k) = (client.clone(), server.base.clone(), key.clone());
    let trivial = load(args.connections, args.seconds, move |_| {
        let (c, b, k) = (c.clone(), b.clone(), k.clone());
        async move { matches!(c.get(format!("{b}/v1/program")).bearer_auth(&k).send().await, Ok(r) if r.status().is_success()) }
    })
    .await;
    let (c, b, k) = (client.clone(), server.base.clone(), key.clone());
    let award = load(args.connections, args.seconds, move |i| {
        let (c, b, k) = (c.clone(), b.clone(), k.clone());
        async move {
            let body = json!({"type": "purchase", "amount": 10, "order_id": format!("bench-{i}")});
            matches!(c.post(format!("{b}/v1/members/m{}/activities", i % 1000)).bearer_auth(&k).json(&body).send().await,
                Ok(r) if r.status().is_success())
        }
    })
    .await;
    rows.push(Row {
        target: "award activities vs a trivial authenticated endpoint",
        measured: format!("{award:.0}/s vs {trivial:.0}/s"),
        ratio: Some(award / trivial),
        goal: 0.25,
    });
    *peak = peak.max(server.peak_rss_mb().unwrap_or(0.0));
    Ok(())
}

/// A Listrak emulator with the bench's integration, and the settings that point a server with its
/// workers off at it.
pub(crate) async fn emulator() -> (listrak_sim::SimHandle, [(&'static str, String); 3]) {
    let sim = listrak_sim::spawn_for_tests(
        listrak_sim::SimConfig::default().with_integration("bench", "bench-secret"),
    )
    .await;
    let env = [
        ("PATRON_LISTRAK_AUTH_URL", sim.auth_url()),
        ("PATRON_LISTRAK_API_URL", sim.api_url()),
        ("PATRON_WORKERS", "false".into()),
    ];
    (sim, env)
}

async fn delivery_phase(args: &Args, rows: &mut Vec<Row>, peak: &mut f64) -> Result<()> {
    let (sim, env) = emulator().await;
    let dir = tempfile::tempdir()?;
    let client = reqwest::Client::new();
    let key = {
        let server = start(args, dir.path(), &env).await?;
        let key = program(&client, &server.base).await?;
        let connected = client
            .put(format!("{}/v1/integrations/listrak", server.base))
            .bearer_auth(&key)
            .json(&json!({"client_id": "bench", "client_secret": "bench-secret"}))
            .send()
            .await?;
        if !connected.status().is_success() {
            rows.push(Row {
                target: "deliver events to the emulator (20 ms, 32 at once)",
                measured: format!(
                    "not measured: connecting Listrak answered {}",
                    connected.status()
                ),
                ratio: None,
                goal: 0.9,
            });
            return Ok(());
        }
        members(&client, &server.base, &key, 1000).await?;
        let n = args.notifications;
        for chunk in (0..n).collect::<Vec<_>>().chunks(64) {
            let buys =
                chunk.iter().map(|i| {
                    client
                    .post(format!("{}/v1/members/m{}/activities", server.base, i % 1000))
                    .bearer_auth(&key)
                    .json(&json!({"type": "purchase", "amount": 10, "order_id": format!("d-{i}")}))
                    .send()
                });
            futures::future::join_all(buys).await;
        }
        key
    };
    client
        .post(format!("{}/_sim/faults", sim.base_url))
        .json(&json!({"latency_ms": args.latency_ms}))
        .send()
        .await?;
    let server = start(
        args,
        dir.path(),
        &[
            env[0].clone(),
            env[1].clone(),
            ("PATRON_DELIVERY_CONCURRENCY", "32".into()),
        ],
    )
    .await?;
    // The clock starts once the server answers (its start-up is not delivery), counting from what
    // the emulator has seen by then.
    let started = Instant::now();
    let before = client
        .get(format!("{}/_sim/raised", sim.base_url))
        .send()
        .await?
        .json::<Vec<Value>>()
        .await?
        .len();
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let metrics = client
            .get(format!("{}/metrics", server.base))
            .send()
            .await?
            .text()
            .await?;
        let depth: i64 = metrics
            .lines()
            .find_map(|l| l.strip_prefix("patron_outbox_depth "))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(-1);
        if depth == 0 {
            break;
        }
        if Instant::now() > deadline {
            bail!("deliveries did not drain");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let secs = started.elapsed().as_secs_f64();
    let raised = client
        .get(format!("{}/_sim/raised", sim.base_url))
        .send()
        .await?
        .json::<Vec<Value>>()
        .await?
        .len()
        - before;
    let rate = raised as f64 / secs;
    rows.push(Row {
        target: if args.latency_ms == 20 {
            "deliver events to the emulator (20 ms, 32 at once) vs 1,600/s"
        } else {
            "deliver events to the emulator (32 at once, --latency-ms) vs 1,600/s"
        },
        measured: format!("{raised} calls in {secs:.1}s = {rate:.0}/s"),
        ratio: Some(rate / 1600.0),
        goal: 0.9,
    });
    *peak = peak.max(server.peak_rss_mb().unwrap_or(0.0));
    if let Some(list_id) = list_id(&client, &server.base, &key).await {
        let ceiling = emulator_ceiling(&sim, list_id, 3).await;
        rows.push(Row {
            target: "  (the emulator's own ceiling: 32 bare upserts at a time)",
            measured: format!("{ceiling:.0}/s"),
            ratio: Some(ceiling / 1600.0),
            goal: 0.0,
        });
    }
    Ok(())
}

/// The first provisioned list of the program.
async fn list_id(client: &reqwest::Client, base: &str, key: &str) -> Option<i64> {
    let view: Value = client
        .get(format!("{base}/v1/integrations/listrak"))
        .bearer_auth(key)
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    view["lists"][0]["list_id"].as_i64()
}

/// What the emulator answers with nothing but a Listrak client in front of it: 32 loops of contact
/// upserts for `seconds`. Patron's delivery rate can at best approach this on the same machine.
async fn emulator_ceiling(sim: &listrak_sim::SimHandle, list_id: i64, seconds: u64) -> f64 {
    let config = listrak::ClientConfig::with_urls(sim.auth_url(), sim.api_url());
    let Ok(client) =
        listrak::ListrakClient::new(config, listrak::Credentials::new("bench", "bench-secret"))
    else {
        return 0.0;
    };
    load(32, seconds, move |i| {
        let client = client.clone();
        async move {
            let contact = listrak::ContactUpsert::new(format!("ceiling{}@bench.example", i % 5000));
            client
                .upsert_contact(list_id, &contact, &listrak::UpsertOptions::default())
                .await
                .is_ok()
        }
    })
    .await
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let mut rows = Vec::new();
    let mut peak = 0.0f64;
    let phase = |name: &str| args.phases.iter().any(|p| p == name);
    if phase("awards") {
        http_phase(&args, &mut rows, &mut peak).await?;
    }
    if phase("delivery") {
        delivery_phase(&args, &mut rows, &mut peak).await?;
    }
    if phase("jobs") {
        jobs::phase(&args, &mut rows, &mut peak).await?;
    }
    rows.push(Row {
        target: "peak resident memory of patron serve vs 250 MB",
        measured: format!("{peak:.0} MB"),
        ratio: Some(peak / 250.0),
        goal: -1.0,
    });
    println!(
        "\n{:<70} {:>34} {:>8} {:>8}  verdict",
        "target", "measured", "ratio", "goal"
    );
    for r in &rows {
        let (ratio, verdict) = match r.ratio {
            None => ("-".to_string(), "-"),
            Some(x) if r.goal == 0.0 => (format!("{x:.2}"), "-"),
            Some(x) if r.goal < 0.0 => (format!("{x:.2}"), if x <= 1.0 { "ok" } else { "MISSED" }),
            Some(x) => (format!("{x:.2}"), if x >= r.goal { "ok" } else { "MISSED" }),
        };
        let goal = if r.goal == 0.0 {
            "-".to_string()
        } else if r.goal < 0.0 {
            "≤ 1.00".to_string()
        } else {
            format!("≥ {:.2}", r.goal)
        };
        println!(
            "{:<70} {:>34} {:>8} {:>8}  {verdict}",
            r.target, r.measured, ratio, goal
        );
    }
    Ok(())
}
