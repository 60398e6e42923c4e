//! Creating programs: a fresh API key (shown once, stored hashed) and a member-token secret (shown
//! once, stored sealed).

use super::{App, AppError};
use chrono::Utc;
use patron_store::NewProgram;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CreatedProgram {
    pub id: String,
    pub name: String,
    /// The program's API key. Shown once: store it now.
    pub api_key: String,
    /// Signs member tokens (JWT HS256) for the members' dashboard. Shown once.
    pub member_token_secret: String,
}

impl App {
    pub async fn create_program(&self, name: &str) -> Result<CreatedProgram, AppError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(AppError::invalid("name", "must be 1 to 200 characters"));
        }
        let id = format!("prg_{}", uuid::Uuid::now_v7().simple());
        let api_key = crate::crypto::random_token("pk_", 24);
        let member_token_secret = crate::crypto::random_token("mts_", 32);
        let new = NewProgram {
            id: id.clone(),
            name: name.to_string(),
            api_key_hash: crate::crypto::hash_key(&api_key),
            member_token_secret: self.key().seal(&member_token_secret),
        };
        self.store().create_program(&new, Utc::now()).await?;
        self.forget_member_secrets();
        Ok(CreatedProgram {
            id,
            name: name.to_string(),
            api_key,
            member_token_secret,
        })
    }
}
