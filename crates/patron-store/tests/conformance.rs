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

// ---- Loyalty mechanics ----

use patron_store::{ClaimInput, CouponSourceSpec, RedemptionInput, RewardInput};

fn redemption(reward_id: &str) -> RedemptionInput {
    RedemptionInput {
        reward_id: reward_id.into(),
        idempotency_key: None,
        request_hash: reward_id.into(),
    }
}

async fn reward(store: &Store, p: &str, cost: i64, coupon: CouponSourceSpec) -> String {
    let input = RewardInput {
        name: format!("Reward {cost}"),
        points_cost: cost,
        active: true,
        min_tier: None,
        coupon,
    };
    store
        .create_reward(p, &input, t0())
        .await
        .expect("reward")
        .id
}

async fn events(store: &Store, p: &str, event: &str) -> Vec<patron_store::DeliveryView> {
    store
        .list_deliveries(
            p,
            &DeliveryFilter {
                event: Some(event.into()),
                limit: 500,
                ..Default::default()
            },
        )
        .await
        .expect("deliveries")
}

conformance!(
    concurrent_redemptions_from_a_pool_never_share_a_code_nor_overspend,
    |store: Store| async move {
        let p = program(&store, "p1").await;
        let r = reward(&store, &p, 50, CouponSourceSpec::Pool).await;
        let codes: Vec<String> = (0..4).map(|i| format!("CODE{i}")).collect();
        let up = store
            .upload_coupons(&p, &r, &codes, t0())
            .await
            .expect("upload");
        assert_eq!(up.added, 4);
        for m in ["a", "b", "c"] {
            member(&store, &p, m).await;
            store
                .record_activity(&p, m, &purchase(&format!("o-{m}"), 120.0), t0())
                .await
                .expect("award");
        }
        let mut tasks = Vec::new();
        for i in 0..9 {
            let (store, p, r) = (store.clone(), p.clone(), r.clone());
            let m = ["a", "b", "c"][i % 3];
            tasks.push(tokio::spawn(async move {
                store.redeem(&p, m, &redemption(&r), t0()).await
            }));
        }
        let mut got = Vec::new();
        for t in tasks {
            match t.await.expect("join") {
                Ok(out) => got.push(out.code),
                Err(StoreError::Rejected(r)) => assert!(
                    ["insufficient_points", "coupon_pool_empty"].contains(&r.code),
                    "{r:?}"
                ),
                Err(e) => panic!("{e:?}"),
            }
        }
        got.sort();
        let before = got.len();
        got.dedup();
        assert_eq!(got.len(), before, "no code handed out twice");
        assert_eq!(
            got.len(),
            4,
            "the pool is used up (each member affords two)"
        );
        let mut spent = 0;
        for m in ["a", "b", "c"] {
            let b = store.member(&p, m).await.expect("member").balances;
            assert!(b.available.0 >= 0);
            spent += b.redeemed.0;
        }
        assert_eq!(spent, 4 * 50);
    }
);

conformance!(
    expiry_takes_what_is_due_once_and_reminds_once_per_lead,
    |store: Store| async move {
        let p = program(&store, "p1").await;
        let mut s = ProgramSettings::default();
        s.expiry.mode = patron_domain::settings::ExpiryMode::PerLot;
        s.expiry.days = 30;
        store.put_settings(&p, &s, t0()).await.expect("settings");
        member(&store, &p, "a").await;
        store
            .record_activity(&p, "a", &purchase("o1", 100.0), t0())
            .await
            .expect("award");
        let g = reward(
            &store,
            &p,
            40,
            CouponSourceSpec::Generated {
                prefix: "G-".into(),
            },
        )
        .await;
        store
            .redeem(&p, "a", &redemption(&g), t0())
            .await
            .expect("redeem");
        for _ in 0..2 {
            let run = store
                .send_expiry_reminders(&p, t0() + Duration::days(25), 10)
                .await
                .expect("reminders");
            assert!(run.reminded <= 1);
        }
        assert_eq!(events(&store, &p, "Points Expiration").await.len(), 1);
        let run = store
            .expire_points(&p, t0() + Duration::days(31), 10)
            .await
            .expect("expire");
        assert_eq!((run.members, run.points), (1, 60));
        let again = store
            .expire_points(&p, t0() + Duration::days(32), 10)
            .await
            .expect("expire");
        assert_eq!(again.points, 0);
        let b = store.member(&p, "a").await.expect("member").balances;
        assert_eq!((b.available.0, b.expired.0, b.redeemed.0), (0, 60, 40));
    }
);

conformance!(
    the_digest_and_winback_offers_happen_once_per_period,
    |store: Store| async move {
        let p = program(&store, "p1").await;
        let mut s = ProgramSettings::default();
        s.winback.enabled = true;
        store.put_settings(&p, &s, t0()).await.expect("settings");
        reward(
            &store,
            &p,
            10,
            CouponSourceSpec::Generated {
                prefix: "D-".into(),
            },
        )
        .await;
        for m in ["a", "b", "c"] {
            member(&store, &p, m).await;
            store
                .record_activity(&p, m, &purchase(&format!("o-{m}"), 20.0), t0())
                .await
                .expect("award");
        }
        let first = store.send_digest(&p, t0(), 2).await.expect("digest");
        let second = store.send_digest(&p, t0(), 2).await.expect("digest");
        assert_eq!((first.recorded, second.recorded), (3, 0));
        let later = t0() + Duration::days(200);
        let offers = store.run_winback(&p, later, 2).await.expect("winback");
        let again = store.run_winback(&p, later, 2).await.expect("winback");
        assert_eq!((offers.offered, again.offered), (3, 0));
        assert_eq!(events(&store, &p, "Winback Award").await.len(), 3);
    }
);

conformance!(
    a_referral_claim_is_decided_once_per_code_and_email,
    |store: Store| async move {
        let p = program(&store, "p1").await;
        member(&store, &p, "a").await;
        let code = store.member(&p, "a").await.expect("member").referral_code;
        let input = ClaimInput {
            referral_code: code,
            email: Email::parse("friend@example.com").expect("email"),
            name: None,
        };
        let mut tasks = Vec::new();
        for _ in 0..4 {
            let (store, p, input) = (store.clone(), p.clone(), input.clone());
            tasks.push(tokio::spawn(async move {
                store.claim_referral(&p, &input, t0()).await
            }));
        }
        let mut answers = Vec::new();
        for t in tasks {
            answers.push(t.await.expect("join").expect("claim"));
        }
        assert!(answers.iter().all(|a| a.eligible && a == &answers[0]));
        assert_eq!(
            events(&store, &p, "Referred Friend Incentive").await.len(),
            1
        );
    }
);

conformance!(
    the_tier_review_recomputes_a_rolling_window,
    |store: Store| async move {
        let p = program(&store, "p1").await;
        let mut s = ProgramSettings::default();
        s.tiers.window_days = Some(90);
        s.tiers.levels = vec![
            patron_domain::settings::TierLevel {
                name: "Base".into(),
                threshold: 0,
            },
            patron_domain::settings::TierLevel {
                name: "Gold".into(),
                threshold: 100,
            },
        ];
        store.put_settings(&p, &s, t0()).await.expect("settings");
        member(&store, &p, "a").await;
        store
            .record_activity(&p, "a", &purchase("o1", 150.0), t0())
            .await
            .expect("award");
        assert_eq!(
            store.member(&p, "a").await.expect("member").tier.as_deref(),
            Some("Gold")
        );
        let review = store
            .review_tiers(&p, t0() + Duration::days(91), 1)
            .await
            .expect("review");
        assert_eq!((review.reviewed, review.downgraded), (1, 1));
        let m = store.member(&p, "a").await.expect("member");
        assert_eq!(
            (m.tier.as_deref(), m.qualifying_points.0),
            (Some("Base"), 0)
        );
    }
);

// ---- Batched writes: group commit, claims and fenced finishes ----

use patron_store::{ContactState, ContactWrite, Finish};

conformance!(
    awards_made_at_once_are_each_answered_alone_and_a_refused_one_changes_nothing,
    |store: Store| async move {
        let p = program(&store, "p1").await;
        for m in ["a", "b"] {
            member(&store, &p, m).await;
        }
        let mut tasks = Vec::new();
        for i in 0..24 {
            let (store, p) = (store.clone(), p.clone());
            tasks.push(tokio::spawn(async move {
                let (who, input) = match i % 4 {
                    0 => ("a", purchase(&format!("o{i}"), 10.0)),
                    1 => ("b", purchase(&format!("o{i}"), 10.0)),
                    2 => (
                        "a",
                        ActivityInput {
                            activity_type: "no-such-type".into(),
                            ..purchase(&format!("bad{i}"), 10.0)
                        },
                    ),
                    _ => ("nobody", purchase(&format!("lost{i}"), 10.0)),
                };
                (i, store.record_activity(&p, who, &input, t0()).await)
            }));
        }
        for t in tasks {
            let (i, answer) = t.await.expect("join");
            match (i % 4, answer) {
                (0 | 1, Ok(out)) => assert_eq!(out.points, 10),
                (2, Err(StoreError::Rejected(r))) => assert_eq!(r.code, "unknown_activity_type"),
                (3, Err(StoreError::NotFound("member"))) => {}
                (k, other) => panic!("award kind {k}: {other:?}"),
            }
        }
        for m in ["a", "b"] {
            let balance = store.member(&p, m).await.expect("member").balances;
            assert_eq!(balance.available.0, 60, "six purchases of 10 for {m}");
            let entries = store.ledger_page(&p, m, None, 100).await.expect("ledger");
            assert_eq!(entries.len(), 6, "refused awards left no entry for {m}");
        }
        assert_eq!(events(&store, &p, "Points Earned").await.len(), 12);
        let replay = store
            .record_activity(&p, "a", &purchase("o0", 10.0), t0())
            .await
            .expect("replay");
        assert!(replay.replayed);
    }
);

fn delivered() -> Finish {
    Finish::Delivered {
        detail: "ok".into(),
    }
}

fn contact_write(email: &str) -> ContactWrite {
    ContactWrite {
        list_id: "L1".into(),
        member_id: "unused".into(),
        state: ContactState {
            email: email.into(),
            sent_fields: Default::default(),
            unsubscribed: false,
        },
    }
}

conformance!(
    a_finish_whose_lease_was_lost_changes_nothing_and_records_no_contact_state,
    |store: Store| async move {
        let p = program(&store, "p1").await;
        member(&store, &p, "a").await;
        store
            .record_activity(&p, "a", &purchase("o1", 10.0), t0())
            .await
            .expect("award");
        let first = store
            .claim_deliveries(t0(), 1000, 10)
            .await
            .expect("claim")
            .remove(0);
        let member_id = first
            .member
            .as_ref()
            .expect("member read with the claim")
            .id
            .clone();
        assert_eq!(
            first.member.as_ref().map(|m| m.external_id.as_str()),
            Some("a")
        );
        let later = t0() + Duration::seconds(5);
        let second = store
            .claim_deliveries(later, 1000, 10)
            .await
            .expect("reclaim")
            .remove(0);
        assert_eq!(first.id, second.id, "the expired claim is taken over");
        let mut stale = contact_write("stale@example.com");
        stale.member_id.clone_from(&member_id);
        let held = store
            .finish_delivery(&first, &delivered(), Some(stale), later)
            .await
            .expect("finish");
        assert!(!held, "the first lease was lost");
        assert!(
            store
                .listrak_contact(&p, "L1", &member_id)
                .await
                .expect("contact")
                .is_none(),
            "a lost lease records no contact state"
        );
        let mut fresh = contact_write("a@example.com");
        fresh.member_id.clone_from(&member_id);
        assert!(
            store
                .finish_delivery(&second, &delivered(), Some(fresh), later)
                .await
                .expect("finish")
        );
        assert_eq!(
            store
                .listrak_contact(&p, "L1", &member_id)
                .await
                .expect("contact")
                .map(|c| c.email),
            Some("a@example.com".to_string())
        );
        let attempts = store
            .delivery_attempts(&p, second.id)
            .await
            .expect("attempts");
        assert_eq!(attempts.len(), 1, "one attempt logged: {attempts:?}");
        assert_eq!(attempts[0].outcome, "delivered");
    }
);

conformance!(
    outcomes_finished_together_are_each_recorded_in_lane_order,
    |store: Store| async move {
        let p = program(&store, "p1").await;
        for m in ["a", "b", "c"] {
            member(&store, &p, m).await;
            for o in 0..2 {
                store
                    .record_activity(&p, m, &purchase(&format!("{m}-{o}"), 10.0), t0())
                    .await
                    .expect("award");
            }
        }
        let rows = store
            .claim_deliveries(t0(), 60_000, 100)
            .await
            .expect("claim");
        assert_eq!(rows.len(), 3, "one row per lane: {rows:?}");
        let mut tasks = Vec::new();
        for row in rows.clone() {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                store.finish_delivery(&row, &delivered(), None, t0()).await
            }));
        }
        for t in tasks {
            assert!(t.await.expect("join").expect("finish"));
        }
        let next = store
            .claim_deliveries(t0(), 60_000, 100)
            .await
            .expect("claim");
        assert_eq!(next.len(), 3);
        for n in &next {
            let first = rows.iter().find(|r| r.email == n.email).expect("same lane");
            assert!(n.id > first.id, "each lane's second row follows its first");
        }
        store.unclaim_deliveries(&next).await.expect("give back");
        let again = store
            .claim_deliveries(t0(), 60_000, 100)
            .await
            .expect("claim");
        let ids = |v: &[patron_store::ClaimedRow]| v.iter().map(|r| r.id).collect::<Vec<_>>();
        assert_eq!(ids(&again), ids(&next), "given back rows are due at once");
    }
);

conformance!(
    expiry_pages_through_members_and_keeps_each_balance_equal_to_its_ledger,
    |store: Store| async move {
        let p = program(&store, "p1").await;
        let mut s = ProgramSettings::default();
        s.expiry.mode = patron_domain::settings::ExpiryMode::PerLot;
        s.expiry.days = 30;
        store.put_settings(&p, &s, t0()).await.expect("settings");
        let members = ["a", "b", "c", "d", "e"];
        for (i, m) in members.iter().enumerate() {
            member(&store, &p, m).await;
            store
                .record_activity(
                    &p,
                    m,
                    &purchase(&format!("o-{m}"), 10.0 * (i + 1) as f64),
                    t0(),
                )
                .await
                .expect("award");
        }
        let run = store
            .expire_points(&p, t0() + Duration::days(31), 2)
            .await
            .expect("expire");
        assert_eq!((run.members, run.points), (5, 150));
        for m in members {
            let b = store.member(&p, m).await.expect("member").balances;
            let sum: i64 = store
                .ledger_page(&p, m, None, 100)
                .await
                .expect("ledger")
                .iter()
                .map(|e| e.points)
                .sum();
            assert_eq!((b.available.0, sum), (0, 0), "{m}");
            assert!(b.expired.0 > 0);
        }
        let again = store
            .expire_points(&p, t0() + Duration::days(32), 2)
            .await
            .expect("expire");
        assert_eq!(again.members, 0, "nothing expires twice");
    }
);

conformance!(
    console_sessions_live_until_they_expire_or_sign_out,
    |store: Store| async move {
        let p = program(&store, "p1").await;
        let expires = t0() + Duration::hours(12);
        store
            .create_console_session("hash-a", &p, t0(), expires)
            .await
            .expect("session");
        let found = store
            .console_session("hash-a", t0() + Duration::hours(1))
            .await
            .expect("query")
            .expect("a live session");
        assert_eq!(
            (found.program_id.as_str(), found.expires_at),
            ("p1", expires)
        );
        assert!(
            store
                .console_session("hash-a", expires)
                .await
                .expect("query")
                .is_none(),
            "an expired session signs nobody in"
        );
        assert!(
            store
                .console_session("hash-unknown", t0())
                .await
                .expect("query")
                .is_none()
        );
        assert!(
            store
                .delete_console_session("hash-a")
                .await
                .expect("delete")
        );
        assert!(
            store
                .console_session("hash-a", t0())
                .await
                .expect("query")
                .is_none(),
            "a signed-out session is gone"
        );
        assert!(
            !store
                .delete_console_session("hash-a")
                .await
                .expect("delete")
        );
    }
);

conformance!(
    creating_a_console_session_drops_the_expired_ones,
    |store: Store| async move {
        let p = program(&store, "p1").await;
        store
            .create_console_session("old", &p, t0(), t0() + Duration::hours(1))
            .await
            .expect("session");
        let later = t0() + Duration::hours(2);
        store
            .create_console_session("new", &p, later, later + Duration::hours(1))
            .await
            .expect("session");
        assert!(
            !store.delete_console_session("old").await.expect("delete"),
            "the expired session was already removed"
        );
        assert!(store.delete_console_session("new").await.expect("delete"));
    }
);

conformance!(
    a_new_console_password_replaces_the_old_one_and_ends_the_programs_sessions,
    |store: Store| async move {
        let p1 = program(&store, "p1").await;
        let p2 = program(&store, "p2").await;
        store
            .set_console_password(&p1, "pw-1", t0())
            .await
            .expect("password");
        assert_eq!(
            store
                .program_by_console_password_hash("pw-1")
                .await
                .expect("query")
                .map(|r| r.id),
            Some(p1.clone())
        );
        let later = t0() + Duration::hours(1);
        for (hash, program) in [("s1", &p1), ("s2", &p2)] {
            store
                .create_console_session(hash, program, t0(), later)
                .await
                .expect("session");
        }
        store
            .set_console_password(&p1, "pw-2", t0())
            .await
            .expect("password");
        let by = |h: &'static str| {
            let store = store.clone();
            async move {
                store
                    .program_by_console_password_hash(h)
                    .await
                    .expect("query")
            }
        };
        assert!(
            by("pw-1").await.is_none(),
            "the old password no longer works"
        );
        assert_eq!(by("pw-2").await.map(|r| r.id), Some(p1.clone()));
        assert!(
            store
                .console_session("s1", t0())
                .await
                .expect("q")
                .is_none()
        );
        assert!(
            store
                .console_session("s2", t0())
                .await
                .expect("q")
                .is_some(),
            "another program's sessions are untouched"
        );
        assert!(matches!(
            store.set_console_password("nope", "pw-3", t0()).await,
            Err(StoreError::NotFound("program"))
        ));
    }
);

conformance!(
    members_are_searched_by_external_id_or_email_within_one_program,
    |store: Store| async move {
        let p1 = program(&store, "p1").await;
        let p2 = program(&store, "p2").await;
        for id in ["cust-1", "cust-10", "other_1"] {
            member(&store, &p1, id).await;
        }
        member(&store, &p2, "cust-2").await;
        let ids = |found: Vec<patron_domain::Member>| {
            found.into_iter().map(|m| m.external_id).collect::<Vec<_>>()
        };
        assert_eq!(
            ids(store
                .search_members(&p1, "cust-1", 10)
                .await
                .expect("search")),
            vec!["cust-1", "cust-10"],
            "the exact match first, then prefixes"
        );
        assert_eq!(
            ids(store
                .search_members(&p1, "OTHER_1@EXAMPLE.COM", 10)
                .await
                .expect("search")),
            vec!["other_1"]
        );
        assert!(
            store
                .search_members(&p1, "other%", 10)
                .await
                .expect("search")
                .is_empty(),
            "wildcards are taken literally"
        );
        assert!(
            store
                .search_members(&p1, "cust-2", 10)
                .await
                .expect("search")
                .is_empty(),
            "another program's members are never found"
        );
        assert_eq!(
            store
                .search_members(&p1, "", 2)
                .await
                .expect("search")
                .len(),
            2
        );
    }
);

conformance!(
    deliveries_filter_by_date_and_count_by_status,
    |store: Store| async move {
        let p = program(&store, "p1").await;
        member(&store, &p, "a").await;
        store
            .record_activity(&p, "a", &purchase("o1", 10.0), t0())
            .await
            .expect("award");
        store
            .record_activity(&p, "a", &purchase("o2", 10.0), t0() + Duration::days(2))
            .await
            .expect("award");
        let between = |from: DateTime<Utc>, before: DateTime<Utc>| {
            let store = store.clone();
            let p = p.clone();
            async move {
                let filter = DeliveryFilter {
                    created_from: Some(from),
                    created_before: Some(before),
                    limit: 100,
                    ..Default::default()
                };
                store
                    .list_deliveries(&p, &filter)
                    .await
                    .expect("list")
                    .len()
            }
        };
        assert_eq!(between(t0(), t0() + Duration::days(1)).await, 1);
        assert_eq!(between(t0(), t0() + Duration::days(3)).await, 2);
        assert_eq!(
            between(t0() + Duration::days(3), t0() + Duration::days(4)).await,
            0
        );
        let claimed = store
            .claim_deliveries(t0() + Duration::days(3), 60_000, 1)
            .await
            .expect("claim");
        let finish = patron_store::Finish::Delivered {
            detail: "201 Created".into(),
        };
        store
            .finish_delivery(&claimed[0], &finish, None, t0() + Duration::days(3))
            .await
            .expect("finish");
        let counts = store.delivery_counts(&p).await.expect("counts");
        assert_eq!(
            (counts.get("pending"), counts.get("delivered")),
            (Some(&1), Some(&1))
        );
        let ids = [claimed[0].id, claimed[0].id + 1];
        let attempts = store
            .attempts_of_deliveries(&p, &ids)
            .await
            .expect("attempts");
        assert_eq!(attempts.len(), 1, "only the claimed delivery was attempted");
        assert_eq!(
            attempts[&claimed[0].id][0].detail.as_deref(),
            Some("201 Created")
        );
        let other = program(&store, "p2").await;
        assert!(
            store
                .attempts_of_deliveries(&other, &ids)
                .await
                .expect("attempts")
                .is_empty(),
            "another program never sees them"
        );
    }
);
