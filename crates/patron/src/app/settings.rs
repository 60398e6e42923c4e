//! A program's settings as the API and the console change them (sections replaced whole, everything
//! validated together, mail template overrides compiled against sample fields), and mail previews.

use super::{App, AppError};
use chrono::Utc;
use patron_domain::settings::FieldProblem;
use patron_domain::{EventKind, ProgramSettings};
use patron_mail::{MailContext, TemplateOverrides, render, sample_fields};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `POST /v1/mail/preview`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewBody {
    /// An event name, e.g. `Points Earned`.
    pub event: String,
    /// A member's external id: preview with their real fields (otherwise realistic samples).
    pub member: Option<String>,
    /// A language (e.g. `Spanish`, `es`); defaults to the member's preferred language.
    pub language: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PreviewAnswer {
    pub subject: String,
    pub html: String,
    pub text: String,
    pub language: String,
}

impl App {
    /// Replaces the given sections of the settings (each section's missing keys take their defaults;
    /// sections not given stay as they are). Invalid settings change nothing and come back as every
    /// offending field by its JSON path.
    pub async fn update_settings(
        &self,
        program_id: &str,
        sections: serde_json::Map<String, serde_json::Value>,
    ) -> Result<ProgramSettings, AppError> {
        let current = self.store().settings(program_id).await?;
        let mut merged = match serde_json::to_value(&current) {
            Ok(serde_json::Value::Object(map)) => map,
            _ => return Err(AppError::invalid("body", "the settings could not be read")),
        };
        merged.extend(sections);
        let settings: ProgramSettings = from_value(serde_json::Value::Object(merged))?;
        let mut problems = settings.validate();
        match serde_json::from_value::<TemplateOverrides>(settings.mail.templates.clone()) {
            Ok(overrides) => {
                if let Err(bad) = patron_mail::validate_overrides(&overrides) {
                    problems.extend(bad.into_iter().map(|p| FieldProblem {
                        field: format!("mail.templates.{}", p.path()),
                        message: p.to_string(),
                    }));
                }
            }
            Err(e) => problems.push(FieldProblem {
                field: "mail.templates".into(),
                message: e.to_string(),
            }),
        }
        if !problems.is_empty() {
            return Err(AppError::Invalid(problems));
        }
        self.store()
            .put_settings(program_id, &settings, Utc::now())
            .await?;
        // The store origins the members' dashboard answers may have changed.
        self.dashboard().origins.forget();
        Ok(settings)
    }

    /// Renders an event's email without sending it: with the program's saved templates, or with `draft`
    /// overrides in their place (the console previews edits before saving them).
    pub async fn preview_mail(
        &self,
        program_id: &str,
        request: &PreviewBody,
        draft: Option<&TemplateOverrides>,
    ) -> Result<PreviewAnswer, AppError> {
        let event = EventKind::from_name(&request.event)
            .ok_or_else(|| AppError::invalid("event", "not one of the ten event names"))?;
        let settings = self.store().settings(program_id).await?;
        let mut fields = sample_fields(event);
        if let Some(external_id) = &request.member {
            let member = self.store().member(program_id, external_id).await?;
            let rewards = self.store().reward_offers(program_id).await?;
            fields.extend(patron_domain::profile::common_fields(
                &member, &settings, &rewards,
            ));
        }
        let saved: TemplateOverrides =
            serde_json::from_value(settings.mail.templates.clone()).unwrap_or_default();
        let overrides = draft.unwrap_or(&saved);
        let ctx = MailContext {
            program_name: settings.mail.program_name.clone(),
            unsubscribe_url: Some(format!(
                "{}/unsubscribe/preview",
                self.settings().public_url
            )),
        };
        let mail = render(event, request.language.as_deref(), &fields, overrides, &ctx)
            .map_err(|e| AppError::invalid("event", e.to_string()))?;
        Ok(PreviewAnswer {
            subject: mail.subject,
            html: mail.html,
            text: mail.text,
            language: mail.language,
        })
    }
}

/// Deserializes a JSON value, naming the offending field path when it has the wrong shape.
fn from_value<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> Result<T, AppError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." {
            "body".to_string()
        } else {
            path
        };
        AppError::invalid(&field, e.inner().to_string())
    })
}
