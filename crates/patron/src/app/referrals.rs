//! Inviting friends by email, for the program API and for the member's own dashboard alike: the same
//! limits (1 to 50 addresses a request) and the same de-duplication (a friend once a day per member).

use super::{App, AppError};
use chrono::Utc;
use patron_domain::Email;
use patron_domain::settings::FieldProblem;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Most addresses one invitation request may carry.
pub const MAX_INVITATIONS: usize = 50;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvitationBody {
    /// Friends' email addresses (1 to 50).
    pub emails: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationAnswer {
    /// `Referral Friend Invitation` events recorded.
    pub invited: u64,
    /// Friends this member already invited today (ignored), and addresses repeated in the request.
    pub duplicates: u64,
}

/// The distinct, valid addresses of an invitation request, or every offending one by its index.
pub fn friend_emails(body: &InvitationBody) -> Result<Vec<Email>, AppError> {
    let mut problems = Vec::new();
    if body.emails.is_empty() || body.emails.len() > MAX_INVITATIONS {
        problems.push(FieldProblem {
            field: "emails".into(),
            message: format!("give 1 to {MAX_INVITATIONS} email addresses"),
        });
    }
    let mut emails: Vec<Email> = Vec::new();
    for (i, raw) in body.emails.iter().enumerate() {
        match Email::parse(raw) {
            Ok(e) if !emails.iter().any(|seen| seen.key() == e.key()) => emails.push(e),
            Ok(_) => {}
            Err(e) => problems.push(FieldProblem {
                field: format!("emails[{i}]"),
                message: e.to_string(),
            }),
        }
    }
    if problems.is_empty() {
        Ok(emails)
    } else {
        Err(AppError::Invalid(problems))
    }
}

impl App {
    /// Records one `Referral Friend Invitation` per friend not yet invited today by this member.
    /// `requested` is how many addresses the request carried, repeats included.
    pub async fn invite_friends(
        &self,
        program_id: &str,
        external_id: &str,
        friends: &[Email],
        requested: usize,
    ) -> Result<InvitationAnswer, AppError> {
        let out = self
            .store()
            .invite_friends(program_id, external_id, friends, Utc::now())
            .await?;
        Ok(InvitationAnswer {
            invited: out.invited,
            duplicates: (requested as u64).saturating_sub(out.invited),
        })
    }
}
