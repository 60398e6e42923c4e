//! One storage suite, run on every backend: SQLite always, PostgreSQL when
//! `PATRON_TEST_POSTGRES_URL` names a server (the README's test command starts one).

use chrono::{DateTime, Duration, TimeZone, Utc};
use patron_domain::{Email, MemberStatus, ProgramSettings};
use patron_store::{
    ActivityInput, AdjustmentInput, DeliveryFilter, JobClaim, MemberInput, NewProgram, ReturnInput,
    Store, StoreError,
};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 1, 12, 0, 0)
        .single()
        .expect("valid")
}

async fn sqlite() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::connect(
        &format!("sqlite://{}", dir.path().join("t.db").display()),
        4,
    )
    .await
    .expect("connect");
    store.migrate().await.expect("migrate");
    (store, dir)
}

async fn postgres() -> Option<Store> {
    let admin = patron_store::testing::postgres_admin_url()?;
    let url = patron_store::testing::fresh_postgres_database(&admin)
        .await
        .expect("fresh database");
    let store = Store::connect(&url, 4).await.expect("connect");
    store.migrate().await.expect("migrate");
    Some(store)
}

/// Runs a test body on each backend.
macro_rules! conformance {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;
            #[tokio::test]
            async fn on_sqlite() {
                let (store, _dir) = sqlite().await;
                ($body)(store).await;
            }
            #[tokio::test]
            async fn on_postgres() {
                match postgres().await {
                    Some(store) => $body(store).await,
                    None => eprintln!(
                        "SKIPPED on PostgreSQL: set PATRON_TEST_POSTGRES_URL (scripts/test does)"
                    ),
                }
            }
        }
    };
}

async fn program(store: &Store, id: &str) -> String {
    let new = NewProgram {
        id: id.into(),
        name: id.into(),
        api_key_hash: format!("hash-{id}"),
        member_token_secret: "sealed".into(),
    };
    store.create_program(&new, t0()).await.expect("program");
    id.to_string()
}

async fn member(store: &Store, program: &str, external_id: &str) {
    let input = MemberInput {
        email: Some(Email::parse(&format!("{external_id}@example.com")).expect("email")),
        ..Default::default()
    };
    store
        .upsert_member(program, external_id, &input, t0())
        .await
        .expect("member");
}

fn purchase(order: &str, amount: f64) -> ActivityInput {
    ActivityInput {
        activity_type: "purchase".into(),
        amount: Some(amount),
        order_id: Some(order.into()),
        occurred_at: None,
        idempotency_key: None,
        request_hash: format!("{order}-{amount}"),
    }
}

conformance!(
    programs_are_found_by_key_hash_only,
    |store: Store| async move {
        let p = program(&store, "p1").await;
        assert_eq!(
            store
                .program_by_key_hash("hash-p1")
                .await
                .expect("query")
                .map(|r| r.id),
            Some(p)
        );
        assert!(
            store
                .program_by_key_hash("other")
                .await
                .expect("query")
                .is_none()
        );
        assert_eq!(store.list_programs().await.expect("list").len(), 1);
    }
);

conformance!(
    settings_round_trip_and_start_the_expiry_clock_when_enabled,
    |store: Store| async move {
        let p = program(&store, "p1").await;
        let mut s = ProgramSettings::default();
        s.tiers.levels.push(patron_domain::settings::TierLevel {
            name: "Gold".into(),
            threshold: 10,
        });
        store.put_settings(&p, &s, t0()).await.expect("put");
        assert_eq!(store.settings(&p).await.expect("get"), s);
    }
);

conformance!(
    members_upsert_and_keep_emails_unique_among_live_members,
    |store: Store| async move {
        let p = program(&store, "p1").await;
        member(&store, &p, "a").await;
        let clash = MemberInput {
            email: Some(Email::parse("A@example.com").expect("email")),
            ..Default::default()
        };
        let err = store
            .upsert_member(&p, "b", &clash, t0())
            .await
            .expect_err("taken");
        assert!(
            matches!(err, StoreError::Rejected(ref r) if r.code == "email_taken"),
            "{err:?}"
        );
        store
            .set_member_status(&p, "a", MemberStatus::Deleted, t0())
            .await
            .expect("delete");
        store
            .upsert_member(&p, "b", &clash, t0())
            .await
            .expect("a deleted member's email is free again");
        assert_eq!(
            store
                .find_members_by_email(&p, "a@EXAMPLE.com")
                .await
                .expect("find")
                .len(),
            2
        );
    }
);

conformance!(an_order_id_awards_once, |store: Store| async move {
    let p = program(&store, "p1").await;
    member(&store, &p, "a").await;
    let first = store
        .record_activity(&p, "a", &purchase("o1", 20.0), t0())
        .await
        .expect("award");
    let again = store
        .record_activity(&p, "a", &purchase("o1", 20.0), t0())
        .await
        .expect("replay");
    assert!(again.replayed);
    assert_eq!(first.entry_id, again.entry_id);
    let other = store
        .record_activity(&p, "a", &purchase("o1", 99.0), t0())
        .await
        .expect_err("different body");
    assert!(matches!(other, StoreError::Rejected(ref r) if r.code == "idempotency_key_reused"));
    assert_eq!(
        store
            .member(&p, "a")
            .await
            .expect("member")
            .balances
            .available
            .0,
        20
    );
});

conformance!(
    concurrent_awards_for_one_member_all_count,
    |store: Store| async move {
        let p = program(&store, "p1").await;
        member(&store, &p, "a").await;
        let mut tasks = Vec::new();
        for i in 0..20 {
            let (store, p) = (store.clone(), p.clone());
            tasks.push(tokio::spawn(async move {
                store
                    .record_activity(&p, "a", &purchase(&format!("o{i}"), 5.0), t0())
                    .await
            }));
        }
        for t in tasks {
            t.await.expect("join").expect("award");
        }
        let m = store.member(&p, "a").await.expect("member");
        assert_eq!(m.balances.available.0, 100);
        let rows = store
            .list_deliveries(
                &p,
                &DeliveryFilter {
                    limit: 100,
                    ..Default::default()
                },
            )
            .await
            .expect("list");
        assert_eq!(rows.len(), 20);
    }
);

conformance!(
    returns_and_adjustments_keep_balances_equal_to_the_ledger,
    |store: Store| async move {
        let p = program(&store, "p1").await;
        member(&store, &p, "a").await;
        store
            .record_activity(&p, "a", &purchase("o1", 100.0), t0())
            .await
            .expect("award");
        store
            .record_adjustment(
                &p,
                "a",
                &AdjustmentInput {
                    points: -60,
                    reason: "spend".into(),
                },
                t0(),
            )
            .await
            .expect("adjust");
        let ret = ReturnInput {
            order_id: "o1".into(),
            returned_amount: Some(50.0),
            idempotency_key: None,
            request_hash: "r".into(),
        };
        let out = store
            .record_return(&p, "a", &ret, t0())
            .await
            .expect("return");
        assert_eq!(out.points_reversed, 50);
        let m = store.member(&p, "a").await.expect("member");
        let entries = store.ledger_page(&p, "a", None, 100).await.expect("ledger");
        let sum: i64 = entries.iter().map(|e| e.points).sum();
        assert_eq!(m.balances.available.0, sum, "balance = sum of entries");
        assert_eq!(m.balances.available.0, -10);
    }
);

conformance!(
    pending_points_are_approved_once,
    |store: Store| async move {
        let p = program(&store, "p1").await;
        let mut s = ProgramSettings::default();
        s.earning.purchase.approval_days = 10;
        store.put_settings(&p, &s, t0()).await.expect("settings");
        member(&store, &p, "a").await;
        let out = store
            .record_activity(&p, "a", &purchase("o1", 30.0), t0())
            .await
            .expect("award");
        assert_eq!(out.status, "pending");
        assert_eq!(
            store
                .approve_due_points(&p, t0() + Duration::days(9), 10)
                .await
                .expect("job"),
            0
        );
        assert_eq!(
            store
                .approve_due_points(&p, t0() + Duration::days(11), 10)
                .await
                .expect("job"),
            1
        );
        assert_eq!(
            store
                .approve_due_points(&p, t0() + Duration::days(12), 10)
                .await
                .expect("job"),
            0
        );
        let m = store.member(&p, "a").await.expect("member");
        assert_eq!((m.balances.available.0, m.balances.pending.0), (30, 0));
    }
);

conformance!(a_job_period_is_claimed_once, |store: Store| async move {
    let p = program(&store, "p1").await;
    assert_eq!(
        store
            .claim_job_period(&p, "digest", "2026-05", "a", t0())
            .await
            .expect("claim"),
        JobClaim::Claimed
    );
    assert_eq!(
        store
            .claim_job_period(&p, "digest", "2026-05", "b", t0())
            .await
            .expect("claim"),
        JobClaim::AlreadyRun
    );
    store
        .finish_job_period(
            &p,
            "digest",
            "2026-05",
            &serde_json::json!({"sent": 3}),
            t0(),
        )
        .await
        .expect("finish");
});
