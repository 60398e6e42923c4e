//! The one error type at the HTTP edge: `application/problem+json` with a stable `code`, the field
//! paths at fault for 422, and nothing internal for 500 (the cause chain goes to the log).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use patron_domain::settings::FieldProblem;
use patron_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub detail: String,
    pub errors: Vec<FieldProblem>,
}

/// The problem document every error answers with (RFC 9457).
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    /// Stable, machine-readable reason; branch on this, never on `detail`.
    pub code: String,
    pub detail: String,
    /// For 422: each offending field by its JSON path.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Object>)]
    pub errors: Vec<FieldProblem>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            detail: detail.into(),
            errors: vec![],
        }
    }
    pub fn not_found(what: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }
    pub fn invalid(field: &str, message: impl Into<String>) -> ApiError {
        let message = message.into();
        ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "validation_failed",
            detail: format!("{field}: {message}"),
            errors: vec![FieldProblem {
                field: field.to_string(),
                message,
            }],
        }
    }
    pub fn invalid_fields(errors: Vec<FieldProblem>) -> ApiError {
        let detail = errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; ");
        ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "validation_failed",
            detail,
            errors,
        }
    }
    pub fn unauthorized(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", detail)
    }
    pub fn internal(error: &(dyn std::error::Error + 'static)) -> ApiError {
        let mut chain = error.to_string();
        let mut source = error.source();
        while let Some(s) = source {
            chain.push_str(": ");
            chain.push_str(&s.to_string());
            source = s.source();
        }
        tracing::error!(error = %chain, "request failed");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "something went wrong on our side; it was logged",
        )
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::NotFound(what) => ApiError::not_found(what),
            StoreError::Rejected(r) => {
                let status = if r.conflict {
                    StatusCode::CONFLICT
                } else {
                    StatusCode::UNPROCESSABLE_ENTITY
                };
                ApiError {
                    status,
                    code: r.code,
                    detail: r.message.clone(),
                    errors: r
                        .field
                        .map(|field| {
                            vec![FieldProblem {
                                field,
                                message: r.message,
                            }]
                        })
                        .unwrap_or_default(),
                }
            }
            other => ApiError::internal(&other),
        }
    }
}

impl From<crate::app::AppError> for ApiError {
    fn from(e: crate::app::AppError) -> ApiError {
        match e {
            crate::app::AppError::Store(s) => s.into(),
            crate::app::AppError::Invalid(problems) => ApiError::invalid_fields(problems),
            crate::app::AppError::ListrakCredentials(detail) => ApiError {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                code: "listrak_credentials_rejected",
                detail: detail.clone(),
                errors: vec![FieldProblem {
                    field: "client_secret".into(),
                    message: detail,
                }],
            },
            crate::app::AppError::NotConnected => ApiError::new(
                StatusCode::NOT_FOUND,
                "listrak_not_connected",
                "Listrak is not connected for this program: PUT /v1/integrations/listrak first",
            ),
            crate::app::AppError::Listrak { message, source } => {
                tracing::warn!(error = %source, "{message}");
                ApiError::new(
                    StatusCode::BAD_GATEWAY,
                    "listrak_failed",
                    format!("{message}: {source}"),
                )
            }
            other => ApiError::internal(&other),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Problem {
            kind: format!("https://patron.invalid/problems/{}", self.code),
            title: self
                .status
                .canonical_reason()
                .unwrap_or("Error")
                .to_string(),
            status: self.status.as_u16(),
            code: self.code.to_string(),
            detail: self.detail,
            errors: self.errors,
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
