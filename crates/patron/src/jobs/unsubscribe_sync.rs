//! `listrak-unsubscribe-sync`: pulls back the contacts who unsubscribed in Listrak (the Email API has no
//! webhooks) by paging `subscriptionState=Unsubscribed` from each list's watermark up to `as_of`, marks
//! those members opted out (source: Listrak), then moves the watermark.

use crate::app::{App, AppError};
use ::listrak::{ContactQuery, SubscriptionState};
use chrono::{DateTime, Duration, Utc};
use patron_store::integration_status;
use serde_json::{Value, json};

/// Listrak's unsubscribe dates have second precision and no zone (UTC): look back a little past the
/// watermark so a contact unsubscribed in the same second is not missed. Opting out twice is a no-op.
const OVERLAP: Duration = Duration::seconds(2);

pub async fn run(app: &App, program_id: &str, as_of: DateTime<Utc>) -> Result<Value, AppError> {
    let Some(row) = app.store().listrak_integration(program_id).await? else {
        return Ok(json!({"skipped": "Listrak is not connected"}));
    };
    if row.status == integration_status::DISCONNECTED {
        return Ok(json!({"skipped": "Listrak is disconnected"}));
    }
    let client = app.listrak_client(&row)?;
    let mut seen = 0;
    let mut opted_out = 0;
    for list in &row.lists {
        let Some(list_id) = list.list_id.as_deref() else {
            continue;
        };
        let Ok(list_num) = list_id.parse::<i64>() else {
            continue;
        };
        let mut query = ContactQuery {
            subscription_state: Some(SubscriptionState::Unsubscribed),
            start_date: list
                .unsubscribe_watermark
                .map(|w| (w - OVERLAP).naive_utc()),
            end_date: Some(as_of.naive_utc()),
            count: Some(1000),
            ..ContactQuery::default()
        };
        loop {
            let page = client.contacts(list_num, &query).await?;
            for contact in &page.data {
                seen += 1;
                if app
                    .store()
                    .opt_out_from_listrak(
                        program_id,
                        list_id,
                        contact.external_contact_id.as_deref(),
                        &contact.email_address,
                        Utc::now(),
                    )
                    .await?
                {
                    opted_out += 1;
                }
            }
            match page.next_page_cursor {
                Some(cursor) if !page.data.is_empty() => query.cursor = Some(cursor),
                _ => break,
            }
        }
        app.store()
            .set_unsubscribe_watermark(program_id, &list.name, as_of)
            .await?;
    }
    Ok(json!({"unsubscribed_in_listrak": seen, "opted_out": opted_out}))
}
