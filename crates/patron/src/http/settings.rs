//! A program's settings: read them, or replace sections of them.

use super::error::{ApiError, ApiResult};
use super::extract::{ApiJson, ProgramAuth, parse_json};
use crate::app::App;
use axum::Json;
use axum::extract::State;
use chrono::Utc;
use patron_domain::ProgramSettings;

/// The program's settings, every section with its current values.
#[utoipa::path(get, path = "/v1/settings", tag = "settings", security(("program_key" = [])),
    responses((status = 200, description = "Settings", body = Object)))]
pub async fn get(
    State(app): State<App>,
    ProgramAuth(program): ProgramAuth,
) -> ApiResult<Json<ProgramSettings>> {
    Ok(Json(app.store().settings(&program.id).await?))
}

/// Replace settings. Each section given replaces that section (its missing keys take their
/// defaults); sections not given stay as they are. Invalid settings change nothing.
#[utoipa::path(put, path = "/v1/settings", tag = "settings", security(("program_key" = [])), request_body = Object,
    responses((status = 200, description = "The settings now in force", body = Object), (status = 422, body = super::error::Problem)))]
pub async fn put(
    State(app): State<App>,
    ProgramAuth(program): ProgramAuth,
    ApiJson(body): ApiJson<serde_json::Map<String, serde_json::Value>>,
) -> ApiResult<Json<ProgramSettings>> {
    let current = app.store().settings(&program.id).await?;
    let mut merged = match serde_json::to_value(&current) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => {
            return Err(ApiError::internal(&std::io::Error::other(
                "settings did not serialize to an object",
            )));
        }
    };
    for (section, value) in body {
        merged.insert(section, value);
    }
    let bytes = serde_json::to_vec(&merged).map_err(|e| ApiError::internal(&e))?;
    let settings: ProgramSettings = parse_json(&bytes)?;
    let mut problems = settings.validate();
    match serde_json::from_value::<patron_mail::TemplateOverrides>(settings.mail.templates.clone())
    {
        Ok(overrides) => {
            if let Err(bad) = patron_mail::validate_overrides(&overrides) {
                problems.extend(
                    bad.into_iter()
                        .map(|p| patron_domain::settings::FieldProblem {
                            field: format!("mail.templates.{}", p.path()),
                            message: p.to_string(),
                        }),
                );
            }
        }
        Err(e) => problems.push(patron_domain::settings::FieldProblem {
            field: "mail.templates".into(),
            message: e.to_string(),
        }),
    }
    if !problems.is_empty() {
        return Err(ApiError::invalid_fields(problems));
    }
    app.store()
        .put_settings(&program.id, &settings, Utc::now())
        .await?;
    app.dashboard().origins.forget();
    Ok(Json(settings))
}
