use crate::helpers::TestApp;
use mail_parser::MessageParser;
use patron_mail::sink::{Command, SmtpSink};
use reqwest::StatusCode;
use serde_json::json;

fn parse(raw: &[u8]) -> mail_parser::Message<'_> {
    MessageParser::default().parse(raw).expect("a MIME message")
}

#[tokio::test]
async fn a_purchase_writes_one_eml_carrying_the_members_points() {
    let app = TestApp::spawn().await;
    let p = app.program("Acme").await;
    p.put(
        "/v1/members/ann",
        json!({"email": "ann@example.com", "name": "Ann Lee"}),
    )
    .await;
    p.purchase("ann", "o-1", 120.0).await;

    let pass = app.deliver_all().await;
    assert_eq!(pass.delivered, 1, "{pass:?}");
    let files = app.mail_files();
    assert_eq!(files.len(), 1);
    let raw = std::fs::read(&files[0]).expect("readable");
    let mail = parse(&raw);
    assert_eq!(
        mail.to().and_then(|a| a.first()).and_then(|a| a.address()),
        Some("ann@example.com")
    );
    assert!(mail.message_id().is_some());
    assert!(mail.date().is_some());
    assert!(mail.header("List-Unsubscribe").is_some());
    let text = mail.body_text(0).expect("a text part");
    let html = mail.body_html(0).expect("an html part");
    assert!(text.contains("120"), "{text}");
    assert!(html.contains("120"), "{html}");
    let rows = p.deliveries("").await;
    assert_eq!(rows[0]["status"], "delivered");
    assert_eq!(rows[0]["attempts"], 1);
}

#[tokio::test]
async fn mail_goes_out_over_smtp_and_a_temporary_refusal_is_retried_once() {
    let sink = SmtpSink::start().await.expect("sink");
    sink.reply_next(Command::Data, "451 4.3.0 try again later", 1);
    let app = TestApp::spawn_with(&[
        ("PATRON_SMTP_URL", &sink.url()),
        ("PATRON_RETRY_BASE_MS", "1"),
    ])
    .await;
    let p = app.program("Acme").await;
    p.member("m1").await;
    p.purchase("m1", "o-1", 30.0).await;

    app.deliver_all().await;
    let received = sink.messages();
    assert_eq!(received.len(), 1, "delivered exactly once");
    assert_eq!(received[0].rcpt_to, vec!["m1@example.com".to_string()]);
    let (_, detail) = p
        .get(&format!(
            "/v1/deliveries/{}",
            p.deliveries("").await[0]["id"]
        ))
        .await;
    assert_eq!(detail["status"], "delivered");
    let outcomes: Vec<&str> = detail["attempt_log"]
        .as_array()
        .expect("log")
        .iter()
        .filter_map(|a| a["outcome"].as_str())
        .collect();
    assert_eq!(outcomes, vec!["retry", "delivered"]);
    assert!(
        detail["attempt_log"][0]["detail"]
            .as_str()
            .is_some_and(|d| d.contains("451"))
    );
}

#[tokio::test]
async fn a_permanent_refusal_lands_in_dead_letters_with_the_servers_reply_and_can_be_retried() {
    let sink = SmtpSink::start().await.expect("sink");
    sink.reply_next(Command::Rcpt, "550 5.1.1 No such user", 1);
    let app = TestApp::spawn_with(&[("PATRON_SMTP_URL", &sink.url())]).await;
    let p = app.program("Acme").await;
    p.member("m1").await;
    p.purchase("m1", "o-1", 30.0).await;

    app.deliver_all().await;
    let dead = p.deliveries("status=dead").await;
    assert_eq!(dead.len(), 1);
    assert!(
        dead[0]["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("550")),
        "{}",
        dead[0]
    );
    assert!(sink.messages().is_empty());

    let (status, _) = p
        .post(
            &format!("/v1/deliveries/{}/retry", dead[0]["id"]),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    app.deliver_all().await;
    assert_eq!(sink.messages().len(), 1);
    assert_eq!(p.deliveries("status=delivered").await.len(), 1);
    let (status, body) = p
        .post(
            &format!("/v1/deliveries/{}/retry", dead[0]["id"]),
            json!({}),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("not_dead"))
    );
}

#[tokio::test]
async fn dead_letters_of_a_time_window_are_replayed() {
    let sink = SmtpSink::start().await.expect("sink");
    sink.reply_always(Command::Rcpt, "554 5.7.1 relay denied");
    let app = TestApp::spawn_with(&[("PATRON_SMTP_URL", &sink.url())]).await;
    let p = app.program("Acme").await;
    for m in ["a", "b", "c"] {
        p.member(m).await;
        p.purchase(m, &format!("o-{m}"), 10.0).await;
    }
    app.deliver_all().await;
    assert_eq!(p.deliveries("status=dead").await.len(), 3);

    let (status, body) = p
        .post(
            "/v1/deliveries/replay",
            json!({"from": "2020-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(
        (status, body["replayed"].as_u64()),
        (StatusCode::ACCEPTED, Some(3))
    );
    assert_eq!(p.deliveries("status=pending").await.len(), 3);
    let (status, _) = p
        .post(
            "/v1/deliveries/replay",
            json!({"from": "2030-01-01T00:00:00Z", "to": "2020-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn one_members_emails_leave_in_the_order_they_were_recorded() {
    let sink = SmtpSink::start().await.expect("sink");
    let app = TestApp::spawn_with(&[
        ("PATRON_SMTP_URL", &sink.url()),
        ("PATRON_RETRY_BASE_MS", "1"),
    ])
    .await;
    let p = app.program("Acme").await;
    p.member("m1").await;
    for i in 1..=5 {
        p.purchase("m1", &format!("o-{i}"), f64::from(i * 100))
            .await;
    }
    sink.reply_next(Command::Data, "421 4.4.2 busy", 2);
    app.deliver_all().await;
    let order: Vec<String> = sink
        .messages()
        .iter()
        .map(|m| {
            let text = m.data_text();
            ["100", "200", "300", "400", "500"]
                .into_iter()
                .find(|n| text.contains(&format!("{n} points")))
                .unwrap_or("?")
                .to_string()
        })
        .collect();
    assert_eq!(order, vec!["100", "200", "300", "400", "500"]);
}

#[tokio::test]
async fn opted_out_members_get_no_mail_and_the_unsubscribe_link_opts_out() {
    let app = TestApp::spawn().await;
    let p = app.program("Acme").await;
    p.member("m1").await;
    p.purchase("m1", "o-1", 10.0).await;
    app.deliver_all().await;
    let raw = std::fs::read(&app.mail_files()[0]).expect("mail");
    let mail = parse(&raw);
    let header = mail
        .header_raw("List-Unsubscribe")
        .expect("header")
        .trim()
        .to_string();
    let link = header
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_string();
    let path = link
        .split_once("://")
        .and_then(|(_, rest)| rest.split_once('/'))
        .map(|(_, p)| format!("/{p}"))
        .expect("a path");

    let page = app
        .client
        .get(format!("{}{path}", app.base))
        .send()
        .await
        .expect("page");
    assert_eq!(page.status(), StatusCode::OK);
    let done = app
        .client
        .post(format!("{}{path}", app.base))
        .send()
        .await
        .expect("post");
    assert_eq!(done.status(), StatusCode::OK);
    let (_, m) = p.get("/v1/members/m1").await;
    assert_eq!(m["opted_out"], true);

    let last = if path.ends_with('0') { '1' } else { '0' };
    let forged = app
        .client
        .post(format!("{}{}{last}", app.base, &path[..path.len() - 1]))
        .send()
        .await
        .expect("post");
    assert_eq!(forged.status(), StatusCode::NOT_FOUND);

    p.purchase("m1", "o-2", 10.0).await;
    app.deliver_all().await;
    assert_eq!(
        app.mail_files().len(),
        1,
        "no event and no mail after opting out"
    );
}

#[tokio::test]
async fn a_template_override_is_validated_on_save_and_used_in_previews() {
    let app = TestApp::spawn().await;
    let p = app.program("Acme").await;
    let (status, problem) = p
        .put(
            "/v1/settings",
            json!({"mail": {"templates": {"Points Earned": {"subject": "{% if %}"}}}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(
        problem["errors"][0]["field"]
            .as_str()
            .is_some_and(|f| f.starts_with("mail.templates.Points Earned")),
        "{problem}"
    );

    let (status, _) = p
        .put("/v1/settings", json!({"mail": {"program_name": "Acme Club", "templates": {"Points Earned": {"subject": "You earned {{ points_current_activity }}!"}}}}))
        .await;
    assert_eq!(status, StatusCode::OK);
    p.member("m1").await;
    let (status, preview) = p
        .post(
            "/v1/mail/preview",
            json!({"event": "Points Earned", "member": "m1"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    assert!(
        preview["subject"]
            .as_str()
            .is_some_and(|s| s.starts_with("You earned")),
        "{preview}"
    );
}
