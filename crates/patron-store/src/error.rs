//! What the store can answer besides success: a business refusal the caller can act on, a missing
//! thing, or a database failure that keeps its cause.

/// A request the rules refuse. `code` is stable and machine-readable; `field` names the input at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub code: &'static str,
    pub field: Option<String>,
    pub message: String,
    /// True when the request is well formed but conflicts with the current state (HTTP 409),
    /// false when the input itself is unacceptable (HTTP 422).
    pub conflict: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{}", .0.message)]
    Rejected(Rejection),
    #[error("invalid database configuration: {0}")]
    Config(String),
    #[error("cannot connect to the database at {url}")]
    Connect {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("database migration failed")]
    Migrate(#[source] sqlx::migrate::MigrateError),
    #[error("database error")]
    Database(#[from] sqlx::Error),
    #[error("stored data could not be read: {0}")]
    Corrupt(String),
}

impl StoreError {
    pub(crate) fn invalid(
        code: &'static str,
        field: &str,
        message: impl Into<String>,
    ) -> StoreError {
        StoreError::Rejected(Rejection {
            code,
            field: Some(field.to_string()),
            message: message.into(),
            conflict: false,
        })
    }
    pub(crate) fn conflict(code: &'static str, message: impl Into<String>) -> StoreError {
        StoreError::Rejected(Rejection {
            code,
            field: None,
            message: message.into(),
            conflict: true,
        })
    }
    pub(crate) fn is_unique_violation(&self) -> bool {
        match self {
            StoreError::Database(sqlx::Error::Database(db)) => {
                db.is_unique_violation() || db.message().contains("UNIQUE constraint failed")
            }
            _ => false,
        }
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError::Corrupt(e.to_string())
    }
}
