//! Signing in to the admin console with the program's API key or an admin-issued console password:
//! sessions kept in the database by the hash of their id (so every instance sharing it knows them),
//! expired after a fixed lifetime, deleted on sign-out.

use super::{App, AppError};
use crate::crypto::{hash_key, random_token};
use chrono::{DateTime, Duration, Utc};
use patron_store::{ConsoleSession, ProgramRow};
use serde::Serialize;
use utoipa::ToSchema;

/// How long a console session lasts; then the merchant signs in again.
pub const SESSION_HOURS: i64 = 12;

/// A new session: its id goes to the browser (in a cookie) and nowhere else.
#[derive(Debug)]
pub struct SignedIn {
    pub session_id: String,
    pub program: ProgramRow,
    pub expires_at: DateTime<Utc>,
}

/// `POST /v1/programs/{id}/console-password`. The password is shown once.
#[derive(Debug, Serialize, ToSchema)]
pub struct IssuedConsolePassword {
    pub program_id: String,
    /// Signs in to the console at `/admin` in place of the API key. Shown once.
    pub console_password: String,
}

impl App {
    /// Opens a session for the program whose API key or console password `secret` is. `None` for anything
    /// else, without saying whether such a key or password exists.
    pub async fn console_sign_in(&self, secret: &str) -> Result<Option<SignedIn>, AppError> {
        let secret = secret.trim();
        if secret.is_empty() || secret.len() > 200 {
            return Ok(None);
        }
        let program = match self.program_for_key(secret).await? {
            Some(program) => Some(program),
            None => {
                self.store()
                    .program_by_console_password_hash(&hash_key(secret))
                    .await?
            }
        };
        let Some(program) = program else {
            return Ok(None);
        };
        let session_id = random_token("", 32);
        let now = Utc::now();
        let expires_at = now + Duration::hours(SESSION_HOURS);
        self.store()
            .create_console_session(&hash_key(&session_id), &program.id, now, expires_at)
            .await?;
        Ok(Some(SignedIn {
            session_id,
            program,
            expires_at,
        }))
    }

    /// The program signed in with this session id, while the session lives.
    pub async fn console_session(
        &self,
        session_id: &str,
    ) -> Result<Option<(ProgramRow, ConsoleSession)>, AppError> {
        if session_id.is_empty() || session_id.len() > 128 {
            return Ok(None);
        }
        let Some(session) = self
            .store()
            .console_session(&hash_key(session_id), Utc::now())
            .await?
        else {
            return Ok(None);
        };
        let program = self.store().program(&session.program_id).await?;
        Ok(Some((program, session)))
    }

    /// Ends a session on the server: its cookie signs nobody in any more, on any instance.
    pub async fn console_sign_out(&self, session_id: &str) -> Result<(), AppError> {
        self.store()
            .delete_console_session(&hash_key(session_id))
            .await?;
        Ok(())
    }

    /// The form token of a session: derived from its id with the instance key, so every instance
    /// sharing the key agrees on it without storing it.
    pub fn console_csrf_token(&self, session_id: &str) -> String {
        self.key().mac(&format!("console-csrf:{session_id}"))
    }

    /// Issues (or replaces) a program's console password; the program's console sessions end.
    pub async fn issue_console_password(
        &self,
        program_id: &str,
    ) -> Result<IssuedConsolePassword, AppError> {
        let password = random_token("cp_", 24);
        self.store()
            .set_console_password(program_id, &hash_key(&password), Utc::now())
            .await?;
        Ok(IssuedConsolePassword {
            program_id: program_id.to_string(),
            console_password: password,
        })
    }
}
