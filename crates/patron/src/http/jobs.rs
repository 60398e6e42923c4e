//! Running a job now, for a given instant.

use super::error::{ApiError, ApiResult};
use super::extract::{ProgramAuth, parse_json};
use crate::app::App;
use crate::jobs::Job;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunBody {
    /// The instant the job runs "as of" (default: now), e.g. `2026-06-01T00:00:00Z`.
    pub as_of: Option<DateTime<Utc>>,
}

/// Run a job for this program now, as of the given instant; answers what it did.
#[utoipa::path(post, path = "/v1/jobs/{job}/run", tag = "jobs", security(("program_key" = [])),
    params(("job" = String, Path, description = "approve-points, expire-points, expiry-reminders, winback, eligible-rewards or tier-review")), request_body = RunBody,
    responses((status = 200, description = "{job, as_of, …counts}", body = Object), (status = 404, body = super::error::Problem)))]
pub async fn run(
    State(app): State<App>,
    ProgramAuth(program): ProgramAuth,
    Path(job): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<Json<serde_json::Value>> {
    let job = Job::parse(&job).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_job",
            format!(
                "no job `{job}`; jobs: {}",
                Job::ALL
                    .iter()
                    .map(|j| j.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
    })?;
    let body: RunBody = if body.iter().all(u8::is_ascii_whitespace) {
        RunBody::default()
    } else {
        parse_json(&body)?
    };
    let as_of = body.as_of.unwrap_or_else(Utc::now);
    let report = crate::jobs::run_job(&app, &program.id, job, as_of).await?;
    Ok(Json(report))
}
