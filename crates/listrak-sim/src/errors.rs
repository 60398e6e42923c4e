//! Listrak's answers: the error envelope (`{"status","error","message"}`) with its codes, and the success
//! envelopes (`resourceId` as a string, `data`, `nextPageCursor`). Every route answers through these.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};

/// A Listrak error answer. `code` is what clients branch on; `message` is for people.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    /// `ERROR_INVALID_PARAMETER` naming the parameter, word for word as Listrak says it.
    pub fn invalid(parameter: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "ERROR_INVALID_PARAMETER",
            format!("An invalid value was supplied for {parameter}."),
        )
    }

    /// Like [`ApiError::invalid`], with a hint for whoever reads the sim's answer (clients never parse it).
    pub fn invalid_because(parameter: &str, hint: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "ERROR_INVALID_PARAMETER",
            format!("An invalid value was supplied for {parameter}. ({hint})"),
        )
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn not_found(ids: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "ERROR_UNABLE_TO_LOCATE_RESOURCE",
            format!("Unable to locate a resource associated with the {ids} supplied."),
        )
    }

    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "ERROR_UNAUTHORIZED",
            "Authorization was denied for this request.",
        )
    }

    pub fn unknown_route() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "ERROR_UNKNOWN_ROUTE",
            "The requested route does not exist.",
        )
    }

    pub fn unsupported_method() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "ERROR_UNSUPPORTED_METHOD",
            "The requested route does not support this HTTP method.",
        )
    }

    pub fn unsupported_content_type() -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "ERROR_UNSUPPORTED_CONTENT_TYPE",
            "The request content type is not supported. Please use application/json.",
        )
    }

    pub fn malformed_body() -> Self {
        Self::bad_request(
            "ERROR_MALFORMED_REQUEST_BODY",
            "The request body could not be parsed.",
        )
    }

    pub fn unsafe_route() -> Self {
        Self::bad_request(
            "ERROR_UNSAFE_ROUTE",
            "The route contains an unsafe character ('&', '<' or '>').",
        )
    }

    pub fn unhandled() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ERROR_UNHANDLED_EXCEPTION",
            "An unexpected error occurred. Our development team has been notified.",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({
            "status": self.status.as_u16(),
            "error": self.code,
            "message": self.message,
        });
        (self.status, Json(body)).into_response()
    }
}

pub type ApiResult = Result<Response, ApiError>;

/// `201 {"status":201,"resourceId":"…"}`.
pub fn created(resource_id: impl ToString) -> Response {
    resource(StatusCode::CREATED, resource_id)
}

/// `200 {"status":200,"resourceId":"…"}`.
pub fn updated(resource_id: impl ToString) -> Response {
    resource(StatusCode::OK, resource_id)
}

fn resource(status: StatusCode, resource_id: impl ToString) -> Response {
    let body = json!({"status": status.as_u16(), "resourceId": resource_id.to_string()});
    (status, Json(body)).into_response()
}

/// `200 {"status":200,"data":…}` for one resource or an unpaged collection.
pub fn data<T: Serialize>(data: T) -> Response {
    Json(json!({"status": 200, "data": data})).into_response()
}

/// `200 {"status":200,"nextPageCursor":…,"data":[…]}`.
pub fn paged(data: Vec<Value>, next_page_cursor: Option<String>) -> Response {
    Json(json!({"status": 200, "nextPageCursor": next_page_cursor, "data": data})).into_response()
}
