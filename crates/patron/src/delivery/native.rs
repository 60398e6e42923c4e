//! The native channel: Patron's own email, rendered from the notification's fields with the program's
//! templates and sent through the configured transport (SMTP, or `.eml` files in a folder).

use super::{ClaimedDelivery, Outcome};
use crate::app::App;
use patron_domain::{EventKind, MemberStatus};
use patron_mail::{Envelope, MailContext, TemplateOverrides, build_message, render};

pub async fn deliver(app: &App, d: &ClaimedDelivery) -> Outcome {
    let Some(event) = d.event.as_deref().and_then(EventKind::from_name) else {
        return Outcome::Dead {
            reason: "profile updates have no email; they are for Listrak only".into(),
        };
    };
    let settings = match app.store().settings(&d.program_id).await {
        Ok(s) => s,
        Err(e) => {
            return Outcome::Retry {
                reason: format!("settings unavailable: {e}"),
                retry_after: None,
                may_have_been_applied: false,
            };
        }
    };
    let mut unsubscribe_url = None;
    if let (false, Some(member_id)) = (event.is_friend_facing(), &d.member_id) {
        match app.store().member_by_id(member_id).await {
            Ok(m) if m.opted_out => {
                return Outcome::Dead {
                    reason: "not sent: the member opted out of loyalty emails".into(),
                };
            }
            Ok(m) if m.status != MemberStatus::Active => {
                return Outcome::Dead {
                    reason: format!("not sent: the member is {}", m.status.as_str()),
                };
            }
            Ok(_) => unsubscribe_url = Some(app.unsubscribe_url(&d.program_id, member_id)),
            Err(e) => {
                return Outcome::Retry {
                    reason: format!("member unavailable: {e}"),
                    retry_after: None,
                    may_have_been_applied: false,
                };
            }
        }
    }
    let overrides: TemplateOverrides =
        serde_json::from_value(settings.mail.templates.clone()).unwrap_or_default();
    let ctx = MailContext {
        program_name: settings.mail.program_name.clone(),
        unsubscribe_url: unsubscribe_url.clone(),
    };
    let mail = match render(event, None, &d.fields, &overrides, &ctx) {
        Ok(m) => m,
        Err(e) => {
            return Outcome::Dead {
                reason: format!("the template does not render: {e}"),
            };
        }
    };
    let envelope = Envelope {
        from: settings.mail.from.clone(),
        reply_to: settings.mail.reply_to.clone(),
        to: d.email.clone(),
        to_name: d.fields.get("User Name").filter(|n| !n.is_empty()).cloned(),
        unsubscribe_url,
        message_id_domain: sender_domain(&settings.mail.from),
        delivery_id: Some(d.id.to_string()),
    };
    let message = match build_message(&mail, &envelope) {
        Ok(m) => m,
        Err(e) => {
            return Outcome::Dead {
                reason: format!("the message cannot be built: {e}"),
            };
        }
    };
    match app.mail().send(&message).await {
        Ok(receipt) => Outcome::Delivered {
            detail: receipt.to_string(),
        },
        Err(e) if e.is_retryable() => Outcome::Retry {
            reason: e.reason(),
            retry_after: None,
            may_have_been_applied: false,
        },
        Err(e) => Outcome::Dead { reason: e.reason() },
    }
}

/// The domain of a From address (`Shop <loyalty@shop.example>` → `shop.example`).
fn sender_domain(from: &str) -> String {
    from.rsplit('@')
        .next()
        .map(|d| d.trim_end_matches('>').trim().to_string())
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| "patron.local".into())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_sender_domain_comes_from_the_from_address() {
        assert_eq!(
            super::sender_domain("Shop <loyalty@shop.example>"),
            "shop.example"
        );
        assert_eq!(super::sender_domain("nobody"), "nobody");
    }
}
