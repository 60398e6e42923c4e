//! Provisioning is reconciliation: run twice, it creates nothing new; a duplicate create is refused with
//! Listrak's `ERROR_INVALID_PARAMETER`.

mod common;

use common::*;
use listrak::*;

#[tokio::test]
async fn provisioning_twice_yields_the_same_ids_and_no_duplicates() {
    let s = setup().await;
    let first = provision(&s.client, "Patron Loyalty List").await;
    let second = provision(&s.client, "Patron Loyalty List").await;
    assert_eq!(first, second);

    assert_eq!(s.client.lists().await.expect("lists").len(), 1);
    assert_eq!(
        s.client
            .event_groups(first.list_id)
            .await
            .expect("groups")
            .len(),
        1
    );
    let events = s.client.events(first.list_id).await.expect("events");
    assert_eq!(events.len(), 10);
    assert!(
        events
            .iter()
            .all(|e| e.status == EventStatus::Active && e.event_group_id != 0)
    );
    let groups = s
        .client
        .field_groups(first.list_id)
        .await
        .expect("field groups");
    assert_eq!(groups.len(), 1);
    let fields = s
        .client
        .fields(first.list_id, groups[0].segmentation_field_group_id)
        .await
        .expect("fields");
    assert_eq!(fields.len(), FIELDS.len());
    let dob = fields
        .iter()
        .find(|f| f.segmentation_field_name == "Date of Birth")
        .expect("field");
    assert_eq!(dob.data_type, DataType::Date);
}

#[tokio::test]
async fn creating_a_duplicate_is_refused_as_an_invalid_parameter() {
    let s = setup().await;
    let p = provision(&s.client, "Patron Loyalty List").await;
    let event = NewEvent {
        event_name: "Points Earned".into(),
        status: EventStatus::Active,
        event_group_id: None,
    };
    let err = s
        .client
        .create_event(p.list_id, &event)
        .await
        .expect_err("duplicate event");
    assert_eq!(err.code(), Some("ERROR_INVALID_PARAMETER"));
    assert!(err.to_string().contains("eventName"), "{err}");
    assert_eq!(err.class(), ErrorClass::BadRequest);

    let list = NewList {
        list_name: "Patron Loyalty List".into(),
        bounce_handling: BounceHandling::Standard,
        bounce_unsubscribe_count: 5,
    };
    let err = s
        .client
        .create_list(&list)
        .await
        .expect_err("duplicate list");
    assert_eq!(err.code(), Some("ERROR_INVALID_PARAMETER"));

    let groups = s.client.field_groups(p.list_id).await.expect("groups");
    let group = groups[0].segmentation_field_group_id;
    let field = NewSegmentationField {
        segmentation_field_name: "User Name".into(),
        data_type: DataType::Text,
        max_length: 100,
        position: 99,
    };
    let err = s
        .client
        .create_field(p.list_id, group, &field)
        .await
        .expect_err("duplicate field");
    assert_eq!(err.code(), Some("ERROR_INVALID_PARAMETER"));
}

#[tokio::test]
async fn a_blocked_event_can_no_longer_be_raised_and_events_cannot_be_deleted() {
    let s = setup().await;
    let p = provision(&s.client, "L").await;
    let id = p.event("Tier Upgrade");
    let blocked = NewEvent {
        event_name: "Tier Upgrade".into(),
        status: EventStatus::Blocked,
        event_group_id: None,
    };
    s.client
        .update_event(p.list_id, id, &blocked)
        .await
        .expect("block");
    let err = s
        .client
        .upsert_contact(
            p.list_id,
            &contact("ann@example.com", vec![]),
            &events(&[id]),
        )
        .await
        .expect_err("blocked event");
    assert_eq!(err.code(), Some("ERROR_INVALID_PARAMETER"));

    let url = format!("{}/v1/List/{}/Event/{id}", s.sim.api_url(), p.list_id);
    let r = s.http.delete(url).send().await.expect("send");
    assert_eq!(r.status().as_u16(), 405);
}

#[tokio::test]
async fn a_deleted_list_shows_up_as_a_stale_list() {
    let s = setup().await;
    let p = provision(&s.client, "L").await;
    s.control("/reset", serde_json::json!({})).await;
    let err = s
        .client
        .upsert_contact(
            p.list_id,
            &contact("ann@example.com", vec![]),
            &events(&[p.event("Points Earned")]),
        )
        .await
        .expect_err("list is gone");
    assert!(err.is_stale_list(), "{err}");
    let err = s
        .client
        .get_contact(p.list_id, "ann@example.com", &[])
        .await
        .expect_err("gone");
    assert!(
        !err.is_stale_list(),
        "a contact read cannot tell a missing list from a missing contact"
    );
}
