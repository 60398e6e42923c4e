//! Helpers shared by the integration tests.
#![allow(dead_code)]

use patron_mail::{Envelope, EventKind, MailContext, MailMessage, RenderedMail, TemplateOverrides};
use std::collections::BTreeMap;
use std::path::PathBuf;

pub fn ctx() -> MailContext {
    MailContext {
        program_name: "Acme Rewards".to_owned(),
        unsubscribe_url: Some("https://shop.example.com/u/tok123".to_owned()),
    }
}

pub fn render_default(event: EventKind, fields: &BTreeMap<String, String>) -> RenderedMail {
    patron_mail::render(event, None, fields, &TemplateOverrides::new(), &ctx()).expect("renders")
}

pub fn points_earned_fields(points: &str, available: &str) -> BTreeMap<String, String> {
    let mut fields = patron_mail::sample_fields(EventKind::PointsEarned);
    fields.insert("Points Current Activity".into(), points.into());
    fields.insert("Points Available".into(), available.into());
    fields
}

pub fn envelope(to: &str) -> Envelope {
    Envelope {
        from: "Acme Rewards <rewards@acme.example>".to_owned(),
        reply_to: Some("help@acme.example".to_owned()),
        to: to.to_owned(),
        to_name: Some("María García".to_owned()),
        unsubscribe_url: Some("https://shop.example.com/u/tok123".to_owned()),
        message_id_domain: "acme.example".to_owned(),
        delivery_id: None,
    }
}

pub fn points_earned_message(to: &str, available: &str) -> MailMessage {
    let mail = render_default(
        EventKind::PointsEarned,
        &points_earned_fields("150", available),
    );
    patron_mail::build_message(&mail, &envelope(to)).expect("message builds")
}

/// A fresh directory under the system temp dir, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new() -> Self {
        let path = std::env::temp_dir().join(format!(
            "patron-mail-test-{}",
            uuid::Uuid::new_v4().simple()
        ));
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
