//! Static assets of the admin console and the members' dashboard, compiled into the binary: no
//! front-end build step, nothing to deploy beside `patron`.

use super::error::ApiError;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// One embedded file: its name under `/assets/`, content type and bytes.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static str,
}

const ASSETS: &[Asset] = &[
    Asset {
        name: "patron.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("../../assets/patron.css"),
    },
    Asset {
        name: "widget.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../assets/widget.js"),
    },
    Asset {
        name: "widget.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("../../assets/widget.css"),
    },
    Asset {
        name: "member-page.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("../../assets/member-page.css"),
    },
    Asset {
        name: "console.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("../../assets/console.css"),
    },
    Asset {
        name: "console.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../assets/console.js"),
    },
];

/// `GET /assets/{name}`.
pub async fn get(Path(name): Path<String>, headers: HeaderMap) -> Response {
    let Some(asset) = ASSETS.iter().find(|a| a.name == name) else {
        return ApiError::not_found("asset").into_response();
    };
    // Changes with the release and the file, so browsers revalidate after an upgrade.
    let etag = format!("\"{}-{}\"", env!("CARGO_PKG_VERSION"), asset.body.len());
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == etag.as_bytes());
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        asset.body.into_response()
    };
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300, must-revalidate"),
    );
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}
