//! The hosted page, the widget's assets, translations and the OpenAPI document.

use super::*;

#[tokio::test]
async fn the_hosted_page_serves_the_widget_shell_with_the_token_kept_out_of_the_url() {
    let app = TestApp::spawn().await;
    let p = app.program("Acme <Outdoor>").await;
    let resp = app
        .client
        .get(format!("{}/m/{}", app.base, p.id))
        .send()
        .await
        .expect("an answer");
    assert_eq!(resp.status(), StatusCode::OK);
    let headers = resp.headers().clone();
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap_or_default()
            .starts_with("text/html")
    );
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap_or_default()
            .contains("script-src 'self'")
    );
    assert_eq!(headers["referrer-policy"], "no-referrer");
    let html = resp.text().await.expect("html");
    assert!(
        html.contains(&format!(r#"data-patron-program="{}""#, p.id)),
        "{html}"
    );
    assert!(html.contains(r#"data-patron-token-from="fragment""#));
    assert!(html.contains("Acme &lt;Outdoor&gt;"), "names are escaped");

    let missing = app
        .client
        .get(format!("{}/m/prg_nope", app.base))
        .send()
        .await
        .expect("an answer");
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    for (asset, kind) in [
        ("widget.js", "text/javascript"),
        ("widget.css", "text/css"),
        ("member-page.css", "text/css"),
    ] {
        let resp = app
            .client
            .get(format!("{}/assets/{asset}", app.base))
            .send()
            .await
            .expect("an answer");
        assert_eq!(resp.status(), StatusCode::OK, "{asset}");
        assert!(
            resp.headers()["content-type"]
                .to_str()
                .unwrap_or_default()
                .starts_with(kind)
        );
    }
}

#[tokio::test]
async fn the_dashboard_speaks_the_members_language_with_english_for_missing_words() {
    let locales = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(locales.path().join("dashboard")).expect("folder");
    std::fs::write(
        locales.path().join("dashboard/fr.json"),
        r#"{"rewards.title": "Récompenses", "balance.expiry": "{points} expirent le {date}"}"#,
    )
    .expect("a French file");
    let dir = locales.path().display().to_string();
    let app = TestApp::spawn_with(&[("PATRON_LOCALES_DIR", &dir)]).await;
    let p = app.program("Acme").await;
    for (id, language) in [("fr", "French"), ("es", "Spanish"), ("xx", "Klingon")] {
        p.put(
            &format!("/v1/members/{id}"),
            json!({"email": format!("{id}@example.com"), "preferred_language": language}),
        )
        .await;
    }
    let words = async |id: &str| Me::new(&p, id).get("/v1/me/dashboard").await.body;
    let french = words("fr").await;
    assert_eq!(french["language"], "fr");
    assert_eq!(french["messages"]["rewards.title"], "Récompenses");
    assert_eq!(
        french["messages"]["referral.copy"], "Copy link",
        "English fills the gaps"
    );
    let spanish = words("es").await;
    assert_eq!(spanish["language"], "es");
    assert_eq!(spanish["messages"]["referral.copy"], "Copiar enlace");
    assert_eq!(words("xx").await["language"], "en");
}

#[tokio::test]
async fn the_member_routes_are_in_the_openapi_document() {
    let app = TestApp::spawn().await;
    let (_, doc) = app.request(Method::GET, "/openapi.json", None, None).await;
    for (path, method) in [
        ("/v1/me/dashboard", "get"),
        ("/v1/me/balance", "get"),
        ("/v1/me/tier", "get"),
        ("/v1/me/history", "get"),
        ("/v1/me/rewards", "get"),
        ("/v1/me/redemptions", "post"),
        ("/v1/me/referral", "get"),
        ("/v1/me/referral-invitations", "post"),
        ("/v1/me/preferences", "put"),
    ] {
        let op = &doc["paths"][path][method];
        assert!(op.is_object(), "{method} {path}");
        assert!(
            op["security"][0]["member_token"].is_array(),
            "{method} {path} takes a member token"
        );
    }
}
