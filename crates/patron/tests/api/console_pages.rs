//! Console pages over HTTP: the Listrak page's ids and write-only secret, replaying a window of dead
//! notifications, and the settings and template forms with their problems next to the fields.

use crate::console::Browser;
use crate::helpers::TestApp;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn the_listrak_page_shows_every_id_but_never_the_secret_nor_the_api_key() {
    const CLIENT_ID: &str = "console-client";
    const SECRET: &str = "console-S3cret-never-shown";
    let sim = listrak_sim::spawn_for_tests(
        listrak_sim::SimConfig::default().with_integration(CLIENT_ID, SECRET),
    )
    .await;
    let app = TestApp::spawn_with(&[
        ("PATRON_LISTRAK_AUTH_URL", &sim.auth_url()),
        ("PATRON_LISTRAK_API_URL", &sim.api_url()),
    ])
    .await;
    let p = app.program("Acme").await;
    let mut browser = Browser::new(&app);
    let token = browser.signed_in(&p.key).await;

    let page = browser
        .post(
            "/admin/listrak",
            &[
                ("_csrf", &token),
                ("client_id", CLIENT_ID),
                ("client_secret", "wrong-secret"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.body.contains("Listrak refused these credentials"),
        "{}",
        page.body
    );
    assert!(
        !page.body.contains("wrong-secret"),
        "a typed secret is not sent back"
    );

    let page = browser
        .post(
            "/admin/listrak",
            &[
                ("_csrf", &token),
                ("client_id", CLIENT_ID),
                ("client_secret", SECRET),
            ],
        )
        .await;
    assert_eq!(
        (page.status, page.location()),
        (StatusCode::SEE_OTHER, "/admin/listrak?done=connected")
    );
    let page = browser.get("/admin/listrak?done=connected").await;
    let (_, view) = p.get("/v1/integrations/listrak").await;
    for (name, id) in view["lists"][0]["events"].as_object().expect("events") {
        let row = format!(
            "<tr data-event=\"{name}\"><th scope=\"row\">{name}</th><td><span class=\"copyable\"><code class=\"id\">{id}</code>"
        );
        assert!(page.body.contains(&row), "{name} {id}");
    }
    assert!(!page.body.contains(SECRET));
    assert!(!page.body.contains(&p.key));
    assert!(page.body.contains("must grant your marketers access"));
    let json = json!(view).to_string();
    assert!(!json.contains(SECRET));
}

#[tokio::test]
async fn dead_notifications_of_a_window_are_replayed_from_the_deliveries_page() {
    let app = TestApp::spawn().await;
    let p = app.program("Acme").await;
    p.member("ann").await;
    p.purchase("ann", "o-1", 10.0).await;
    let store = app.app.store();
    let now = chrono::Utc::now();
    let claimed = store
        .claim_deliveries(now, 60_000, 10)
        .await
        .expect("claim");
    let dead = patron_store::Finish::Dead {
        reason: "gave up".into(),
        unconfirmed: false,
    };
    for row in &claimed {
        store
            .finish_delivery(row, &dead, None, now)
            .await
            .expect("finish");
    }
    let mut browser = Browser::new(&app);
    let token = browser.signed_in(&p.key).await;
    let minute = |offset: i64| {
        (now + chrono::Duration::minutes(offset))
            .format("%Y-%m-%dT%H:%M")
            .to_string()
    };

    let page = browser
        .post(
            "/admin/deliveries/replay",
            &[("_csrf", &token), ("from", &minute(5)), ("to", &minute(-5))],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.body
            .contains("id=\"to-error\">This must be after `from`."),
        "{}",
        page.body
    );
    let page = browser
        .post(
            "/admin/deliveries/replay",
            &[("_csrf", &token), ("from", ""), ("to", "soon")],
        )
        .await;
    assert!(
        page.body
            .contains("id=\"from-error\">Enter a date and time")
    );
    assert!(
        p.deliveries("status=dead").await.len() == claimed.len(),
        "nothing replayed"
    );

    let page = browser
        .post(
            "/admin/deliveries/replay",
            &[("_csrf", &token), ("from", &minute(-5)), ("to", &minute(5))],
        )
        .await;
    assert_eq!(
        page.location(),
        format!("/admin/deliveries?status=dead&replayed={}", claimed.len())
    );
    assert!(p.deliveries("status=dead").await.is_empty());
    assert_eq!(p.deliveries("status=pending").await.len(), claimed.len());
}

/// The earning form as the page posts it: Patron's defaults, plus custom rows.
fn earning_form<'a>(token: &'a str, custom: &[[&'a str; 4]]) -> Vec<(String, String)> {
    let mut form: Vec<(String, String)> = vec![
        ("_csrf".into(), token.into()),
        ("earning.purchase.points_per_unit".into(), "1".into()),
        (
            "earning.purchase.display_name".into(),
            "Made a purchase".into(),
        ),
        ("earning.purchase.approval_days".into(), "0".into()),
        ("earning.purchase.rounding".into(), "floor".into()),
        ("returns.policy".into(), "negative".into()),
    ];
    for key in ["signup", "review", "birthday", "referral_purchase"] {
        for (field, value) in [
            ("points", "10"),
            ("display_name", "Something"),
            ("approval_days", "0"),
        ] {
            form.push((format!("earning.{key}.{field}"), value.into()));
        }
    }
    for (i, row) in custom.iter().enumerate() {
        for (field, value) in ["name", "points", "display_name", "approval_days"]
            .iter()
            .zip(row)
        {
            form.push((
                format!("earning.custom_rows[{i}].{field}"),
                value.to_string(),
            ));
        }
    }
    form
}

fn pairs(form: &[(String, String)]) -> Vec<(&str, &str)> {
    form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

#[tokio::test]
async fn settings_forms_save_by_the_api_rules_and_explain_mistakes_next_to_their_field() {
    let app = TestApp::spawn().await;
    let p = app.program("Acme").await;
    let mut browser = Browser::new(&app);
    let token = browser.signed_in(&p.key).await;
    let settings = || async { p.get("/v1/settings").await.1 };

    // Tiers: the problem lands on the row the merchant typed it in, even after a blank row.
    let tiers = |silver: &'static str| {
        vec![
            ("_csrf", token.as_str()),
            ("tiers.window_days", ""),
            ("tiers.qualifying", "signup"),
            ("tiers.qualifying", "purchase"),
            ("tiers.levels[0].name", "Bronze"),
            ("tiers.levels[0].threshold", "0"),
            ("tiers.levels[1].name", ""),
            ("tiers.levels[1].threshold", ""),
            ("tiers.levels[2].name", "Gold"),
            ("tiers.levels[2].threshold", "100"),
            ("tiers.levels[3].name", "Silver"),
            ("tiers.levels[3].threshold", silver),
        ]
    };
    let page = browser.post("/admin/settings/tiers", &tiers("50")).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.body
            .contains("id=\"tiers-levels-3-threshold-error\">Thresholds must be"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("value=\"Silver\""),
        "what was typed is kept"
    );
    assert_eq!(
        settings().await["tiers"]["levels"],
        json!([]),
        "nothing saved"
    );
    let page = browser.post("/admin/settings/tiers", &tiers("500")).await;
    assert_eq!(page.location(), "/admin/settings?saved=tiers#tiers");
    assert_eq!(
        settings().await["tiers"]["levels"],
        json!([{"name": "Bronze", "threshold": 0}, {"name": "Gold", "threshold": 100},
               {"name": "Silver", "threshold": 500}])
    );

    // Custom activity types are rows; a bad name is explained on its row.
    let form = earning_form(
        &token,
        &[["share", "25", "Shared", ""], ["bad name!", "5", "x", "0"]],
    );
    let page = browser.post("/admin/settings/earning", &pairs(&form)).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.body
            .contains("id=\"earning-custom_rows-1-name-error\">Custom type names use"),
        "{}",
        page.body
    );
    let form = earning_form(&token, &[["share", "25", "Shared", ""], ["", "", "", ""]]);
    let page = browser.post("/admin/settings/earning", &pairs(&form)).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(
        settings().await["earning"]["custom"],
        json!({"share": {"points": 25, "display_name": "Shared", "approval_days": 0}})
    );

    // The dashboard's store origins: one that is not an origin is explained, good ones are saved.
    let origins = |list: &'static str| {
        vec![
            ("_csrf", token.as_str()),
            ("dashboard.allowed_origins", list),
        ]
    };
    let page = browser
        .post(
            "/admin/settings/dashboard",
            &origins("https://shop.example, https://shop.example/cart"),
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.body.contains("id=\"dashboard-allowed_origins-error\""),
        "{}",
        page.body
    );
    assert_eq!(settings().await["dashboard"]["allowed_origins"], json!([]));
    let page = browser
        .post(
            "/admin/settings/dashboard",
            &origins("https://shop.example,\nhttp://localhost:3000"),
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(
        settings().await["dashboard"]["allowed_origins"],
        json!(["https://shop.example", "http://localhost:3000"])
    );

    // An email template that does not compile is refused next to its part; a good one is saved.
    let template = |subject: &'static str| {
        vec![
            ("_csrf", token.as_str()),
            ("event", "Points Earned"),
            ("language", ""),
            ("subject", subject),
            ("html", ""),
            ("text", ""),
        ]
    };
    let page = browser
        .post("/admin/settings/templates", &template("Hi {{ user_name"))
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("id=\"subject-error\""), "{}", page.body);
    assert_eq!(settings().await["mail"]["templates"], json!({}));
    let page = browser
        .post(
            "/admin/settings/templates/preview",
            &template("Hi {{ user_name }}"),
        )
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("<dd id=\"preview-subject\">Hi "),
        "{}",
        page.body
    );
    assert_eq!(
        settings().await["mail"]["templates"],
        json!({}),
        "a preview saves nothing"
    );
    let page = browser
        .post("/admin/settings/templates", &template("Hi {{ user_name }}"))
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(
        settings().await["mail"]["templates"],
        json!({"Points Earned": {"subject": "Hi {{ user_name }}"}})
    );
}
