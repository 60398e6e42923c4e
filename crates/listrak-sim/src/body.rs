//! Reading requests the way Listrak does: `application/json` only (415 otherwise), malformed JSON → 400
//! `ERROR_MALFORMED_REQUEST_BODY`, each missing or mistyped member → 400 `ERROR_INVALID_PARAMETER` naming it;
//! query strings read case-insensitively, as ASP.NET does.

use std::collections::HashMap;

use axum::http::{HeaderMap, header};
use serde_json::{Map, Value};

use crate::errors::ApiError;

pub type Object = Map<String, Value>;

/// The JSON object in a request body, after the content-type check.
pub fn json_object(headers: &HeaderMap, body: &[u8]) -> Result<Object, ApiError> {
    if !is_json(headers) {
        return Err(ApiError::unsupported_content_type());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(ApiError::malformed_body()),
    }
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
}

pub fn req_str<'a>(obj: &'a Object, name: &str) -> Result<&'a str, ApiError> {
    match obj.get(name) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s),
        _ => Err(ApiError::invalid(name)),
    }
}

pub fn opt_str<'a>(obj: &'a Object, name: &str) -> Result<Option<&'a str>, ApiError> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ApiError::invalid(name)),
    }
}

pub fn req_int(obj: &Object, name: &str) -> Result<i64, ApiError> {
    opt_int(obj, name)?.ok_or_else(|| ApiError::invalid(name))
}

pub fn opt_int(obj: &Object, name: &str) -> Result<Option<i64>, ApiError> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n.as_i64().map(Some).ok_or_else(|| ApiError::invalid(name)),
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| ApiError::invalid(name)),
        Some(_) => Err(ApiError::invalid(name)),
    }
}

pub fn opt_bool(obj: &Object, name: &str) -> Result<Option<bool>, ApiError> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(ApiError::invalid(name)),
    }
}

/// Query parameters with lower-cased names.
#[derive(Debug, Default)]
pub struct Query(HashMap<String, String>);

impl Query {
    pub fn parse(raw: Option<&str>) -> Self {
        Self(
            parse_form(raw.unwrap_or(""))
                .into_iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v))
                .collect(),
        )
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(&name.to_ascii_lowercase()).map(String::as_str)
    }

    /// A boolean parameter (`true`/`false`, any case); absent means `false`.
    pub fn flag(&self, name: &str) -> Result<bool, ApiError> {
        match self.get(name) {
            None | Some("") => Ok(false),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
            Some(_) => Err(ApiError::invalid(name)),
        }
    }

    /// A comma-separated list of integers; absent or empty means none.
    pub fn ids(&self, name: &str) -> Result<Vec<i64>, ApiError> {
        match self.get(name) {
            None => Ok(Vec::new()),
            Some(v) => v
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| s.parse().map_err(|_| ApiError::invalid(name)))
                .collect(),
        }
    }
}

/// `application/x-www-form-urlencoded` pairs, percent- and plus-decoded.
pub fn parse_form(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_values_are_percent_and_plus_decoded() {
        let pairs = parse_form("client_secret=a%2Bb%3D&x=y+z&flag&bad=%zz&end=%4");
        assert_eq!(pairs[0], ("client_secret".into(), "a+b=".into()));
        assert_eq!(pairs[1], ("x".into(), "y z".into()));
        assert_eq!(pairs[2], ("flag".into(), String::new()));
        assert_eq!(pairs[3], ("bad".into(), "%zz".into()));
        assert_eq!(pairs[4], ("end".into(), "%4".into()));
    }
}
