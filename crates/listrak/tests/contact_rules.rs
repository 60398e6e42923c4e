//! Listrak's contact rules, each answered with Listrak's code and the client's class.

mod common;

use common::*;
use listrak::*;
use serde_json::json;

#[tokio::test]
async fn an_upsert_creates_then_updates_and_raises_its_events_with_the_fields_of_that_moment() {
    let s = setup().await;
    let p = provision(&s.client, "L").await;
    let earned = p.event("Points Earned");
    let first = contact(
        "ann@example.com",
        vec![
            value(p.field("Points Available"), "100"),
            value(p.field("User Name"), "Ann"),
        ],
    );
    let outcome = s
        .client
        .upsert_contact(p.list_id, &first, &events(&[earned]))
        .await
        .expect("create");
    assert_eq!(outcome, UpsertOutcome::Created);
    let second = contact(
        "ann@example.com",
        vec![value(p.field("Points Available"), "150")],
    );
    let outcome = s
        .client
        .upsert_contact(p.list_id, &second, &events(&[earned]))
        .await
        .expect("update");
    assert_eq!(outcome, UpsertOutcome::Updated);

    let raised = s.raised().await;
    assert_eq!(raised.len(), 2);
    assert_eq!(raised[0]["event_name"], "Points Earned");
    assert_eq!(
        raised[0]["fields"],
        json!({"Points Available": "100", "User Name": "Ann"})
    );
    assert_eq!(
        raised[1]["fields"],
        json!({"Points Available": "150", "User Name": "Ann"})
    );

    let read = s
        .client
        .get_contact(p.list_id, "ann@example.com", &[p.field("Points Available")])
        .await
        .expect("get");
    assert_eq!(
        read.segmentation_field_values,
        vec![value(p.field("Points Available"), "150")]
    );
    let bare = s
        .client
        .get_contact(p.list_id, "ann@example.com", &[])
        .await
        .expect("get");
    assert!(
        bare.segmentation_field_values.is_empty(),
        "no values without segmentationFieldIds"
    );
}

#[tokio::test]
async fn values_must_fit_their_field() {
    let s = setup().await;
    let p = provision(&s.client, "L").await;
    let too_long = "x".repeat(11);
    let cases = [
        ("Date of Birth", "1990-04-01"),
        ("Date of Birth", "02/30/1990"),
        ("Points Available", "1,000"),
        ("Points Available", "12.345"),
        ("User Status", too_long.as_str()),
    ];
    for (field, bad) in cases {
        let c = contact("ann@example.com", vec![value(p.field(field), bad)]);
        let err = s
            .client
            .upsert_contact(p.list_id, &c, &UpsertOptions::default())
            .await
            .expect_err(bad);
        assert_eq!(err.code(), Some("ERROR_INVALID_PARAMETER"), "{field}={bad}");
        assert_eq!(err.class(), ErrorClass::BadRequest);
    }
    let c = contact("ann@example.com", vec![value(424242, "x")]);
    let err = s
        .client
        .upsert_contact(p.list_id, &c, &UpsertOptions::default())
        .await
        .expect_err("unknown field");
    assert_eq!(err.code(), Some("ERROR_INVALID_PARAMETER"));
    let ok = contact(
        "ann@example.com",
        vec![
            value(p.field("Date of Birth"), "02/29/1992"),
            value(p.field("Points Available"), "12.50"),
        ],
    );
    s.client
        .upsert_contact(p.list_id, &ok, &UpsertOptions::default())
        .await
        .expect("valid values");
}

#[tokio::test]
async fn an_unsubscribed_contact_refuses_events_and_resubscription_without_override() {
    let s = setup().await;
    let p = provision(&s.client, "L").await;
    let earned = p.event("Points Earned");
    s.client
        .upsert_contact(
            p.list_id,
            &contact("ann@example.com", vec![]),
            &events(&[earned]),
        )
        .await
        .expect("create");
    s.control(
        "/contacts/unsubscribe",
        json!({"list_id": p.list_id, "email": "ann@example.com"}),
    )
    .await;

    let err = s
        .client
        .upsert_contact(
            p.list_id,
            &contact("ann@example.com", vec![]),
            &events(&[earned]),
        )
        .await
        .expect_err("events on an unsubscribed contact");
    assert_eq!(err.code(), Some("ERROR_UPDATE_UNSUBSCRIBE_WITH_EVENTS"));
    assert_eq!(err.class(), ErrorClass::FinalForContact);

    let resubscribe = ContactUpsert {
        subscription_state: Some(SubscriptionState::Subscribed),
        ..ContactUpsert::new("ann@example.com")
    };
    let err = s
        .client
        .upsert_contact(p.list_id, &resubscribe, &UpsertOptions::default())
        .await
        .expect_err("resubscribe");
    assert_eq!(err.code(), Some("ERROR_UNSUBSCRIBED_EMAIL_ADDRESS"));
    assert_eq!(err.class(), ErrorClass::FinalForContact);

    // Profile updates still reach an unsubscribed contact.
    let update = contact(
        "ann@example.com",
        vec![value(p.field("User Status"), "Active")],
    );
    s.client
        .upsert_contact(p.list_id, &update, &UpsertOptions::default())
        .await
        .expect("profile update");
    assert_eq!(s.raised().await.len(), 1);
}

#[tokio::test]
async fn unsubscribing_is_its_own_call_and_is_found_again_by_unsubscribe_date() {
    let s = setup().await;
    let p = provision(&s.client, "L").await;
    s.client
        .upsert_contact(
            p.list_id,
            &contact("bob@example.com", vec![]),
            &UpsertOptions::default(),
        )
        .await
        .expect("create");
    let unsubscribe = |values| ContactUpsert {
        subscription_state: Some(SubscriptionState::Unsubscribed),
        segmentation_field_values: values,
        ..ContactUpsert::new("bob@example.com")
    };
    let err = s
        .client
        .upsert_contact(
            p.list_id,
            &unsubscribe(vec![]),
            &events(&[p.event("Points Earned")]),
        )
        .await
        .expect_err("with events");
    assert_eq!(err.code(), Some("ERROR_UNSUBSCRIBE_WITH_EVENTS"));
    let err = s
        .client
        .upsert_contact(
            p.list_id,
            &unsubscribe(vec![value(p.field("User Name"), "Bob")]),
            &UpsertOptions::default(),
        )
        .await
        .expect_err("with values");
    assert_eq!(err.code(), Some("ERROR_UNSUBSCRIBE_WITH_SEGMENTATION_DATA"));

    let before = chrono::Utc::now().naive_utc() - chrono::Duration::seconds(2);
    s.client
        .upsert_contact(p.list_id, &unsubscribe(vec![]), &UpsertOptions::default())
        .await
        .expect("unsubscribe");
    let query = ContactQuery {
        subscription_state: Some(SubscriptionState::Unsubscribed),
        start_date: Some(before),
        count: Some(5000),
        ..ContactQuery::default()
    };
    let page = s
        .client
        .contacts(p.list_id, &query)
        .await
        .expect("unsubscribes");
    assert_eq!(page.data.len(), 1);
    assert_eq!(page.data[0].email_address, "bob@example.com");
    assert!(page.data[0].unsubscribe_date.is_some());
    assert_eq!(page.next_page_cursor, None);

    let later = ContactQuery {
        start_date: Some(before + chrono::Duration::days(1)),
        ..query
    };
    assert!(
        s.client
            .contacts(p.list_id, &later)
            .await
            .expect("none")
            .data
            .is_empty()
    );
}

#[tokio::test]
async fn changing_an_address_is_its_own_call_onto_a_free_address() {
    let s = setup().await;
    let p = provision(&s.client, "L").await;
    for email in ["old@example.com", "taken@example.com"] {
        s.client
            .upsert_contact(
                p.list_id,
                &contact(email, vec![]),
                &UpsertOptions::default(),
            )
            .await
            .expect("create");
    }
    let change = |to: &str, ids: &[i64]| UpsertOptions {
        new_email_address: Some(to.into()),
        event_ids: ids.to_vec(),
        ..UpsertOptions::default()
    };
    let cases = [
        (
            contact("old@example.com", vec![]),
            change("new@example.com", &[p.event("Points Earned")]),
            "ERROR_CHANGE_ADDRESS_WITH_EVENTS",
        ),
        (
            contact("old@example.com", vec![value(p.field("User Name"), "O")]),
            change("new@example.com", &[]),
            "ERROR_CHANGE_ADDRESS_WITH_SEGMENTATION_DATA",
        ),
        (
            contact("old@example.com", vec![]),
            change("taken@example.com", &[]),
            "ERROR_SUBSCRIBED_NEW_EMAIL_ADDRESS",
        ),
    ];
    for (body, options, code) in cases {
        let err = s
            .client
            .upsert_contact(p.list_id, &body, &options)
            .await
            .expect_err(code);
        assert_eq!(err.code(), Some(code));
        assert_eq!(err.class(), ErrorClass::FinalForContact, "{code}");
    }
    let outcome = s
        .client
        .upsert_contact(
            p.list_id,
            &contact("old@example.com", vec![]),
            &change("new@example.com", &[]),
        )
        .await
        .expect("change");
    assert_eq!(outcome, UpsertOutcome::Updated);
    assert!(
        s.client
            .get_contact(p.list_id, "new@example.com", &[])
            .await
            .is_ok()
    );
    let err = s
        .client
        .get_contact(p.list_id, "old@example.com", &[])
        .await
        .expect_err("moved");
    assert_eq!(err.status(), Some(404));
}

#[tokio::test]
async fn an_address_with_unsafe_characters_cannot_be_read_by_path() {
    let s = setup().await;
    let p = provision(&s.client, "L").await;
    for email in ["a&b@example.com", "a<b@example.com"] {
        let err = s
            .client
            .get_contact(p.list_id, email, &[])
            .await
            .expect_err(email);
        assert_eq!(err.code(), Some("ERROR_UNSAFE_ROUTE"), "{email}");
        assert_eq!(err.class(), ErrorClass::BadRequest);
    }
    let ids: Vec<i64> = p
        .fields
        .iter()
        .map(|(_, id)| *id)
        .take(29)
        .chain([p.field("User Name"), p.field("User Status")])
        .collect();
    let err = s
        .client
        .get_contact(p.list_id, "x@example.com", &ids)
        .await
        .expect_err("31 ids");
    assert_eq!(err.code(), Some("ERROR_TOO_MANY_SEGMENTATION_FIELDS"));
}
