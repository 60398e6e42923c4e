//! Emulator faults reach the caller as the right class: 5xx and 429 retryable, a connection dropped after
//! the request was applied "may have been applied", a paused integration unusable, nothing listening "not
//! sent".

mod common;

use common::*;
use listrak::*;
use serde_json::json;

#[tokio::test]
async fn server_errors_and_throttling_are_retryable() {
    let s = setup().await;
    let p = provision(&s.client, "L").await;
    for status in [500u16, 503, 429] {
        s.faults(json!({"error_rate": 1.0, "error_status": status}))
            .await;
        let err = s.client.lists().await.expect_err("fault");
        assert_eq!(err.status(), Some(status));
        assert_eq!(err.class(), ErrorClass::Retryable, "{status}");
        assert!(!err.may_have_been_applied());
        if status == 429 {
            assert_eq!(err.retry_after(), Some(std::time::Duration::from_secs(1)));
        }
    }
    s.faults(json!({})).await;
    assert_eq!(s.client.lists().await.expect("healthy again").len(), 1);
    let _ = p;
}

#[tokio::test]
async fn a_connection_dropped_after_commit_may_have_been_applied() {
    let s = setup().await;
    let p = provision(&s.client, "L").await;
    s.faults(json!({"drop_after_commit_rate": 1.0})).await;
    let err = s
        .client
        .upsert_contact(
            p.list_id,
            &contact("ann@example.com", vec![]),
            &events(&[p.event("Points Earned")]),
        )
        .await
        .expect_err("dropped");
    assert!(err.may_have_been_applied(), "{err:?}");
    assert_eq!(err.class(), ErrorClass::Retryable);
    assert_eq!(err.status(), None);
    // It was applied: the event went out although the caller never heard back.
    assert_eq!(s.raised().await.len(), 1);
}

#[tokio::test]
async fn nothing_listening_means_the_request_was_not_sent() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let base = format!("http://{addr}");
    let client = ListrakClient::new(
        ClientConfig::with_urls(&base, format!("{base}/email")),
        Credentials::new("a", "b"),
    )
    .expect("client");
    let err = client.lists().await.expect_err("refused");
    assert!(!err.may_have_been_applied());
    assert_eq!(err.class(), ErrorClass::Retryable);
}

#[tokio::test]
async fn a_paused_integration_is_unusable() {
    let s = setup().await;
    let p = provision(&s.client, "L").await;
    s.faults(json!({"paused": true})).await;
    let err = s
        .client
        .upsert_contact(
            p.list_id,
            &contact("ann@example.com", vec![]),
            &UpsertOptions::default(),
        )
        .await
        .expect_err("paused");
    assert_eq!(err.class(), ErrorClass::IntegrationUnusable, "{err}");
    s.faults(json!({"paused": false})).await;
    s.client
        .upsert_contact(
            p.list_id,
            &contact("ann@example.com", vec![]),
            &UpsertOptions::default(),
        )
        .await
        .expect("resumed");
}

#[tokio::test]
async fn an_event_for_an_unsubscribed_contact_is_final_for_that_contact() {
    let s = setup().await;
    let p = provision(&s.client, "L").await;
    s.client
        .upsert_contact(
            p.list_id,
            &contact("ann@example.com", vec![]),
            &UpsertOptions::default(),
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
            &events(&[p.event("Points Earned")]),
        )
        .await
        .expect_err("unsubscribed");
    assert_eq!(err.class(), ErrorClass::FinalForContact);
}

#[tokio::test]
async fn latency_slows_calls_without_failing_them() {
    let s = setup().await;
    provision(&s.client, "L").await;
    s.faults(json!({"latency_ms": 30})).await;
    assert_eq!(s.client.lists().await.expect("slow but fine").len(), 1);
}
