//! Every way a Listrak call can fail, and what to do about it: [`Error::class`] maps Listrak's error codes
//! (and HTTP statuses) to the four classes of the contract, and [`Error::may_have_been_applied`] keeps "the
//! request left and the answer was lost" apart from "it never left", because an event-raising retry can
//! email a person twice.

use std::time::Duration;

/// What the caller should do with a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// This contact cannot take this call (unsubscribed, banned, suppressed…): retrying never helps.
    FinalForContact,
    /// Our request is wrong: a bug, or stale provisioned ids (see [`Error::is_stale_list`]).
    BadRequest,
    /// The integration cannot be used (credentials wrong, paused, IP not allowed, Beta route): stop, alert.
    IntegrationUnusable,
    /// Try again later (429, 5xx, connection trouble). Check [`Error::may_have_been_applied`] first.
    Retryable,
}

/// A failed Listrak call. Never contains the client secret or the bearer token.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Listrak answered with its error envelope (`{"status","error","message"}`), possibly under a 2xx.
    #[error("Listrak refused {operation}: HTTP {status} {code}: {message}")]
    Api {
        operation: &'static str,
        status: u16,
        code: String,
        message: String,
        retry_after: Option<Duration>,
        /// The operation's only path id is the list id, so a 404 there means the list is gone.
        list_scoped: bool,
    },
    /// A non-2xx answer without Listrak's envelope (a gateway page, a bare 429…).
    #[error("Listrak answered {operation} with HTTP {status}")]
    Status {
        operation: &'static str,
        status: u16,
        retry_after: Option<Duration>,
        body: String,
    },
    /// The token endpoint refused the credentials (`400 {"error":"Invalid Credentials"}`).
    #[error(
        "Listrak refused the credentials (HTTP {status}, {error:?}): the client ID or secret is wrong, or the \
         integration is paused, or this server's IP address is not allowed"
    )]
    Credentials { status: u16, error: String },
    /// The request never left (connection refused, DNS, TLS, connect timeout): safe to retry.
    #[error("could not send {operation} to Listrak")]
    NotSent {
        operation: &'static str,
        #[source]
        source: reqwest::Error,
    },
    /// The request left but no complete answer came back (timeout, connection lost): it may have been applied.
    #[error(
        "no complete answer from Listrak for {operation}; the request was sent and may have been applied"
    )]
    MaybeApplied {
        operation: &'static str,
        #[source]
        source: reqwest::Error,
    },
    /// A success answer we could not read.
    #[error("unexpected answer from Listrak for {operation} (HTTP {status})")]
    Decode {
        operation: &'static str,
        status: u16,
        #[source]
        source: serde_json::Error,
    },
    /// The client could not be built (bad proxy or base URL).
    #[error("invalid Listrak client configuration: {message}")]
    Config {
        message: String,
        #[source]
        source: Option<reqwest::Error>,
    },
}

const FINAL_FOR_CONTACT: &[&str] = &[
    "ERROR_BANNED_EMAIL_ADDRESS",
    "ERROR_SUPPRESSED_EMAIL",
    "ERROR_PENDING_EMAIL_ADDRESS",
    "ERROR_UNSUBSCRIBED_EMAIL_ADDRESS",
    "ERROR_UPDATE_UNSUBSCRIBE_WITH_EVENTS",
    "ERROR_NOT_SUBSCRIBED_EMAIL_ADDRESS",
    "ERROR_SUBSCRIBED_EMAIL_ADDRESS",
];

const BAD_REQUEST: &[&str] = &[
    "ERROR_INVALID_PARAMETER",
    "ERROR_MALFORMED_REQUEST_BODY",
    "ERROR_TOO_MANY_SEGMENTATION_FIELDS",
    "ERROR_UNABLE_TO_LOCATE_RESOURCE",
    "ERROR_UNSAFE_ROUTE",
    "ERROR_UNKNOWN_ROUTE",
    "ERROR_SEGMENTATION_FIELD_DEFINED_TWICE",
    "ERROR_SEGMENTATION_FIELD_GROUP_LIMIT_MET",
    "ERROR_UNSUBSCRIBE_WITH_EVENTS",
    "ERROR_UNSUBSCRIBE_WITH_SEGMENTATION_DATA",
    "ERROR_RESOURCE_DEPENDENCY",
];

const INTEGRATION_UNUSABLE: &[&str] = &[
    "ERROR_INVALID_CREDENTIALS",
    "ERROR_UNAUTHORIZED",
    "ERROR_INTEGRATION_CANNOT_ACCESS_BETA_ROUTE",
];

/// The class of a Listrak error code, when the code alone decides it.
pub fn class_of_code(code: &str) -> Option<ErrorClass> {
    if FINAL_FOR_CONTACT.contains(&code)
        || code.starts_with("ERROR_CHANGE_ADDRESS_")
        || (code.contains("_NEW_EMAIL") && code.starts_with("ERROR_"))
    {
        Some(ErrorClass::FinalForContact)
    } else if BAD_REQUEST.contains(&code) || code.starts_with("ERROR_UNSUPPORTED_") {
        Some(ErrorClass::BadRequest)
    } else if INTEGRATION_UNUSABLE.contains(&code) {
        Some(ErrorClass::IntegrationUnusable)
    } else if code == "ERROR_UNHANDLED_EXCEPTION" {
        Some(ErrorClass::Retryable)
    } else {
        None
    }
}

/// The class of an HTTP status without a known code.
pub fn class_of_status(status: u16) -> ErrorClass {
    match status {
        429 | 500..=599 | 408 => ErrorClass::Retryable,
        401 | 403 => ErrorClass::IntegrationUnusable,
        _ => ErrorClass::BadRequest,
    }
}

impl Error {
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::Api { status, code, .. } => {
                class_of_code(code).unwrap_or_else(|| class_of_status(*status))
            }
            Self::Status { status, .. } => class_of_status(*status),
            Self::Credentials { .. } | Self::Config { .. } => ErrorClass::IntegrationUnusable,
            Self::NotSent { .. } | Self::MaybeApplied { .. } => ErrorClass::Retryable,
            Self::Decode { .. } => ErrorClass::BadRequest,
        }
    }

    /// Listrak's `error` code (`ERROR_…`, or the token endpoint's `Invalid Credentials`).
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Api { code, .. } => Some(code),
            Self::Credentials { error, .. } => Some(error),
            _ => None,
        }
    }

    /// The HTTP status Listrak answered with, if it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. }
            | Self::Status { status, .. }
            | Self::Credentials { status, .. }
            | Self::Decode { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// True when the request was sent and its answer lost (timeout, connection dropped): retrying an
    /// event-raising call may raise the event twice. False for definite answers and unsent requests.
    pub fn may_have_been_applied(&self) -> bool {
        matches!(self, Self::MaybeApplied { .. })
    }

    /// The `Retry-After` delay Listrak asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Api { retry_after, .. } | Self::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// A 404 `ERROR_UNABLE_TO_LOCATE_RESOURCE` on an operation addressed by list id only: the provisioned
    /// list is gone (deleted in Listrak's UI); the integration needs re-provisioning.
    pub fn is_stale_list(&self) -> bool {
        matches!(self, Self::Api { status: 404, code, list_scoped: true, .. }
            if code == "ERROR_UNABLE_TO_LOCATE_RESOURCE")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16, code: &str) -> Error {
        Error::Api {
            operation: "test",
            status,
            code: code.into(),
            message: String::new(),
            retry_after: None,
            list_scoped: true,
        }
    }

    #[test]
    fn codes_map_to_the_contract_classes() {
        let cases = [
            (
                400,
                "ERROR_UPDATE_UNSUBSCRIBE_WITH_EVENTS",
                ErrorClass::FinalForContact,
            ),
            (
                400,
                "ERROR_SUBSCRIBED_NEW_EMAIL_ADDRESS",
                ErrorClass::FinalForContact,
            ),
            (
                400,
                "ERROR_SUPPRESSED_NEW_EMAIL",
                ErrorClass::FinalForContact,
            ),
            (
                400,
                "ERROR_CHANGE_ADDRESS_WITH_EVENTS",
                ErrorClass::FinalForContact,
            ),
            (400, "ERROR_INVALID_PARAMETER", ErrorClass::BadRequest),
            (
                415,
                "ERROR_UNSUPPORTED_CONTENT_TYPE",
                ErrorClass::BadRequest,
            ),
            (404, "ERROR_UNKNOWN_ROUTE", ErrorClass::BadRequest),
            (401, "ERROR_UNAUTHORIZED", ErrorClass::IntegrationUnusable),
            (
                400,
                "ERROR_INTEGRATION_CANNOT_ACCESS_BETA_ROUTE",
                ErrorClass::IntegrationUnusable,
            ),
            (500, "ERROR_UNHANDLED_EXCEPTION", ErrorClass::Retryable),
            (503, "ERROR_SOMETHING_NEW", ErrorClass::Retryable),
            (400, "ERROR_SOMETHING_NEW", ErrorClass::BadRequest),
        ];
        for (status, code, class) in cases {
            assert_eq!(api(status, code).class(), class, "{code}");
        }
    }

    #[test]
    fn only_a_list_scoped_404_means_the_list_is_stale() {
        assert!(api(404, "ERROR_UNABLE_TO_LOCATE_RESOURCE").is_stale_list());
        assert!(!api(404, "ERROR_UNKNOWN_ROUTE").is_stale_list());
        let contact_missing = Error::Api {
            operation: "get contact",
            status: 404,
            code: "ERROR_UNABLE_TO_LOCATE_RESOURCE".into(),
            message: String::new(),
            retry_after: None,
            list_scoped: false,
        };
        assert!(!contact_missing.is_stale_list());
    }
}
