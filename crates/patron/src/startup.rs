//! Starting Patron: `(Settings, TcpListener, shutdown token)` in, a running server out, so tests bind
//! port 0 and stop cleanly. `main` only wires.

use crate::app::App;
use crate::config::{Settings, sqlite_dir};
use crate::crypto::SecretKey;
use anyhow::{Context, Result};
use patron_store::Store;
use secrecy::ExposeSecret;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Connects to the database and applies pending migrations.
pub async fn open_store(settings: &Settings) -> Result<Store> {
    let store = Store::connect(&settings.database_url, settings.db_max_connections)
        .await
        .context("cannot open the database; check PATRON_DATABASE_URL")?;
    store
        .migrate()
        .await
        .context("cannot apply the database migrations")?;
    Ok(store)
}

/// The sealing key: PATRON_SECRET_KEY, or a key file created beside the SQLite database.
pub fn secret_key(settings: &Settings) -> Result<SecretKey> {
    if let Some(hex) = &settings.secret_key {
        return Ok(SecretKey::from_hex(hex.expose_secret())?);
    }
    let path = sqlite_dir(&settings.database_url).join("patron.key");
    let (key, created) = SecretKey::load_or_create(&path)?;
    if created {
        tracing::warn!(
            path = %path.display(),
            "PATRON_SECRET_KEY is not set: generated a key file to seal stored secrets. Back it up, or set \
             PATRON_SECRET_KEY (64 hex characters) in production; without the key, stored secrets cannot be read"
        );
    }
    Ok(key)
}

pub async fn build_app(settings: Settings) -> Result<App> {
    let store = open_store(&settings).await?;
    let key = secret_key(&settings)?;
    let mail =
        patron_mail::MailTransport::from_settings(settings.smtp_url.as_ref(), &settings.mail_dir)
            .context("invalid PATRON_SMTP_URL")?;
    let locales_dir = settings.locales_dir.clone();
    let app = App::new(store, settings, key, mail);
    if let Some(dir) = locales_dir {
        app.dashboard()
            .load_translations(&dir)
            .context("invalid dashboard translations (PATRON_LOCALES_DIR)")?;
    }
    Ok(app)
}

/// Serves the API and runs the workers and the scheduler until `shutdown` is cancelled.
pub async fn run(
    settings: Settings,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<()> {
    let app = build_app(settings).await?;
    serve(app, listener, shutdown).await
}

pub async fn serve(app: App, listener: TcpListener, shutdown: CancellationToken) -> Result<()> {
    let mut tasks = Vec::new();
    if app.settings().workers {
        tracing::info!(transport = %app.mail(), "native mail");
        if let Err(e) = app.mail().check().await {
            tracing::error!(error = %e, "the native mail transport is not usable: native emails will be retried and may end in the dead-letter list");
        }
        tasks.push(crate::delivery::worker::spawn(
            app.clone(),
            shutdown.clone(),
        ));
    }
    if app.settings().scheduler {
        tasks.push(crate::jobs::spawn_scheduler(app.clone(), shutdown.clone()));
    }
    let router = crate::http::router(app.clone());
    let stop = shutdown.clone();
    let router = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, router)
        .with_graceful_shutdown(async move { stop.cancelled().await })
        .await
        .context("the HTTP server failed")?;
    shutdown.cancel();
    for task in tasks {
        let _ = task.await;
    }
    app.mail().shutdown().await;
    app.store().close().await;
    Ok(())
}
