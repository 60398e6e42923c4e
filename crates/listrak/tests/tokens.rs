//! Tokens are invisible to callers: fetched once, replaced when they expire, refreshed once (single
//! flight) when Listrak refuses them, and wrong credentials are reported as such.

mod common;

use std::time::Duration;

use common::*;
use listrak::*;
use listrak_sim::SimConfig;

#[tokio::test]
async fn token_expiry_mid_run_is_invisible_to_the_caller() {
    let sim = SimConfig {
        token_ttl: Duration::from_secs(1),
        ..SimConfig::default()
    }
    .with_integration("patron", "s3cret");
    let s = setup_with(sim, ClientConfig::default()).await;
    let p = provision(&s.client, "L").await;
    let first = s.token_requests();
    // Keep calling until the 1 s token has been replaced at least twice; no call may fail meanwhile.
    eventually(20, || async {
        s.client
            .upsert_contact(
                p.list_id,
                &contact("ann@example.com", vec![]),
                &UpsertOptions::default(),
            )
            .await
            .expect("calls succeed across token expiry");
        (s.token_requests() >= first + 2).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_hundred_concurrent_calls_with_an_expired_token_cause_exactly_one_token_request() {
    let s = setup().await;
    let p = provision(&s.client, "L").await;
    assert_eq!(s.token_requests(), 1);
    s.control("/tokens/expire", serde_json::json!({})).await;

    let calls = (0..100).map(|i| {
        let client = s.client.clone();
        async move {
            let c = contact(&format!("m{i}@example.com"), vec![]);
            client
                .upsert_contact(p.list_id, &c, &UpsertOptions::default())
                .await
        }
    });
    let results = futures_join_all(calls).await;
    assert!(
        results.iter().all(Result::is_ok),
        "{:?}",
        results.iter().find(|r| r.is_err())
    );
    assert_eq!(s.token_requests(), 2, "one initial token, one refresh");
}

async fn futures_join_all<F: std::future::Future + Send + 'static>(
    futures: impl Iterator<Item = F>,
) -> Vec<F::Output>
where
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.expect("task"));
    }
    out
}

#[tokio::test]
async fn wrong_credentials_make_the_integration_unusable_without_leaking_the_secret() {
    let sim =
        listrak_sim::spawn_for_tests(SimConfig::default().with_integration("patron", "s3cret"))
            .await;
    let config = ClientConfig::with_urls(sim.auth_url(), sim.api_url());
    let client =
        ListrakClient::new(config, Credentials::new("patron", "not-the-secret")).expect("client");
    let err = client.check_credentials().await.expect_err("bad secret");
    assert_eq!(err.class(), ErrorClass::IntegrationUnusable);
    assert_eq!(err.code(), Some("Invalid Credentials"));
    let text = format!("{err} {err:?}");
    assert!(text.contains("paused") && text.contains("IP"), "{text}");
    assert!(!text.contains("not-the-secret"), "{text}");
    let err = client.lists().await.expect_err("bad secret");
    assert_eq!(err.class(), ErrorClass::IntegrationUnusable);
}

#[tokio::test]
async fn a_missing_access_level_is_unauthorized_after_one_refresh() {
    let scopes = listrak_sim::Scopes::parse_list("List,Contact").expect("scopes");
    let sim = SimConfig {
        integrations: vec![("patron".into(), "s3cret".into(), scopes)],
        ..SimConfig::default()
    };
    let s = setup_with(sim, ClientConfig::default()).await;
    let list = s
        .client
        .create_list(&NewList {
            list_name: "L".into(),
            bounce_handling: BounceHandling::None,
            bounce_unsubscribe_count: 1,
        })
        .await
        .expect("List scope");
    let err = s.client.events(list).await.expect_err("no Event scope");
    assert_eq!(err.code(), Some("ERROR_UNAUTHORIZED"));
    assert_eq!(err.class(), ErrorClass::IntegrationUnusable);
    assert_eq!(s.token_requests(), 2, "one forced refresh before giving up");
}
