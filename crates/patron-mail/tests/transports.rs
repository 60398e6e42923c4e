//! Sending through the `.eml` folder and over SMTP against the test sink, and parsing `PATRON_SMTP_URL`.

mod common;

use common::{TempDir, points_earned_message};
use mail_parser::MessageParser;
use patron_mail::sink::{Command, SmtpSink};
use patron_mail::{MailConfigError, MailTransport, SendError, SendReceipt, SmtpConfig, TlsMode};
use secrecy::{ExposeSecret, SecretString};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);

fn smtp_transport(url: &str) -> MailTransport {
    MailTransport::smtp(&SmtpConfig::parse(url).expect("valid URL")).expect("transport")
}

#[tokio::test]
async fn the_folder_transport_writes_one_eml_per_message_carrying_the_members_points() {
    let dir = TempDir::new();
    let mail_dir = dir.0.join("mail");
    let transport = MailTransport::from_settings(None, &mail_dir).expect("folder by default");

    let receipt = transport
        .send(&points_earned_message("maria@example.com", "1250"))
        .await
        .expect("written");
    transport
        .send(&points_earned_message("alex@example.com", "90"))
        .await
        .expect("written");

    let SendReceipt::Written { path } = receipt else {
        panic!("expected a file, got {receipt:?}");
    };
    let mut files: Vec<_> = std::fs::read_dir(&mail_dir)
        .expect("mail dir created")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files.len(), 2, "{files:?}");
    assert!(
        files
            .iter()
            .all(|f| f.ends_with(".eml") && !f.starts_with('.')),
        "{files:?}"
    );

    let raw = std::fs::read(&path).expect("readable");
    let parsed = MessageParser::default().parse(&raw).expect("parses");
    assert_eq!(
        parsed
            .to()
            .and_then(|a| a.first())
            .and_then(|a| a.address()),
        Some("maria@example.com")
    );
    assert_eq!(parsed.subject(), Some("You just earned 150 points"));
    assert!(parsed.body_text(0).expect("text").contains("1,250 points"));
    assert!(parsed.body_html(0).expect("html").contains("1,250 points"));
}

#[tokio::test]
async fn a_folder_that_cannot_be_created_is_a_temporary_failure() {
    let dir = TempDir::new();
    std::fs::create_dir_all(&dir.0).expect("temp dir");
    let blocker = dir.0.join("not-a-dir");
    std::fs::write(&blocker, b"file").expect("file");
    let transport = MailTransport::folder(blocker.join("mail"));

    let err = transport
        .send(&points_earned_message("maria@example.com", "1"))
        .await
        .expect_err("cannot write under a file");
    assert!(err.is_retryable(), "{err}");
    assert!(transport.check().await.is_err());
}

#[tokio::test]
async fn over_smtp_the_mail_arrives() {
    let sink = SmtpSink::start().await.expect("sink");
    let transport = smtp_transport(&sink.url());
    transport.check().await.expect("the sink answers");

    let receipt = transport
        .send(&points_earned_message("maria@example.com", "1250"))
        .await
        .expect("accepted");
    assert!(
        matches!(&receipt, SendReceipt::Accepted { reply } if reply.code == 250),
        "{receipt:?}"
    );

    let received = sink.wait_for_messages(1, WAIT).await;
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].mail_from, "rewards@acme.example");
    assert_eq!(received[0].rcpt_to, vec!["maria@example.com".to_owned()]);
    let parsed = MessageParser::default()
        .parse(&received[0].data)
        .expect("parses");
    assert!(parsed.body_text(0).expect("text").contains("1,250 points"));
}

#[tokio::test]
async fn connections_are_reused_and_credentials_are_sent() {
    let sink = SmtpSink::start().await.expect("sink");
    let url = format!(
        "smtp://rewards%40acme.example:s3cr%3At@{}?tls=none",
        sink.addr()
    );
    let transport = smtp_transport(&url);
    for to in ["a@example.com", "b@example.com", "c@example.com"] {
        transport
            .send(&points_earned_message(to, "5"))
            .await
            .expect("accepted");
        // lettre hands the connection back to its pool in a spawned task; on this single-threaded test
        // runtime, yielding lets it run before the next send looks for an idle connection.
        tokio::task::yield_now().await;
    }
    assert_eq!(sink.messages().len(), 3);
    assert_eq!(
        sink.logins(),
        vec!["rewards@acme.example".to_owned()],
        "one pooled, authenticated session"
    );
    transport.shutdown().await;
}

#[tokio::test]
async fn a_451_reply_is_temporary_and_the_next_attempt_succeeds() {
    let sink = SmtpSink::start().await.expect("sink");
    sink.reply_next(Command::Data, "451 4.3.0 Try again later", 1);
    let transport = smtp_transport(&sink.url());
    let message = points_earned_message("maria@example.com", "1250");

    let err = transport
        .send(&message)
        .await
        .expect_err("refused the first time");
    assert!(err.is_retryable(), "{err}");
    assert!(matches!(err, SendError::Temporary { .. }));
    let reply = err.reply().expect("the server's reply");
    assert_eq!(reply.code, 451);
    assert!(reply.message.contains("Try again later"), "{reply}");
    assert!(sink.messages().is_empty());

    transport
        .send(&message)
        .await
        .expect("accepted the second time");
    assert_eq!(sink.messages().len(), 1);
}

#[tokio::test]
async fn a_550_reply_is_permanent_with_the_reply_text() {
    let sink = SmtpSink::start().await.expect("sink");
    sink.reply_always(Command::Rcpt, "550 5.1.1 No such user here");
    let transport = smtp_transport(&sink.url());

    let err = transport
        .send(&points_earned_message("nobody@example.com", "1"))
        .await
        .expect_err("refused");
    assert!(!err.is_retryable());
    assert!(matches!(err, SendError::Permanent { .. }));
    assert_eq!(err.reason(), "550 5.1.1 No such user here");
    assert_eq!(err.reply().map(|r| r.code), Some(550));
}

#[tokio::test]
async fn a_refused_connection_is_temporary() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let transport = smtp_transport(&format!("smtp://127.0.0.1:{port}?tls=none&timeout_ms=2000"));
    let err = transport
        .send(&points_earned_message("maria@example.com", "1"))
        .await
        .expect_err("nobody listens");
    assert!(err.is_retryable(), "{err}");
    assert!(err.reply().is_none());
}

#[test]
fn the_smtp_url_parser_accepts_the_documented_forms() {
    let plain = SmtpConfig::parse("smtp://mail.example.com").expect("valid");
    assert_eq!(
        (plain.host.as_str(), plain.port, plain.tls),
        ("mail.example.com", 587, TlsMode::StartTls)
    );
    assert!(plain.credentials.is_none());

    let full = SmtpConfig::parse(
        "smtp://user:pa%24%24@smtp.example.com:2525?tls=starttls&timeout_ms=5000&pool_size=8",
    )
    .expect("valid");
    assert_eq!(full.port, 2525);
    assert_eq!(full.timeout, Duration::from_millis(5000));
    assert_eq!(full.pool_size, 8);
    let (user, password) = full.credentials.as_ref().expect("credentials");
    assert_eq!((user.as_str(), password.expose_secret()), ("user", "pa$$"));

    let implicit = SmtpConfig::parse("smtps://user:pw@smtp.example.com").expect("valid");
    assert_eq!((implicit.port, implicit.tls), (465, TlsMode::Implicit));
    let wrapped = SmtpConfig::parse("smtp://smtp.example.com:465?tls=tls").expect("valid");
    assert_eq!(wrapped.tls, TlsMode::Implicit);
    let local = SmtpConfig::parse("smtp://127.0.0.1?tls=none").expect("valid");
    assert_eq!((local.port, local.tls), (25, TlsMode::None));
    let ipv6 = SmtpConfig::parse("smtp://[::1]:2525?tls=none").expect("valid");
    assert_eq!(ipv6.host, "::1");
}

#[test]
fn an_smtp_transport_outside_a_runtime_is_a_clear_error_not_a_panic() {
    let config = SmtpConfig::parse("smtp://127.0.0.1?tls=none").expect("valid");
    assert!(matches!(
        MailTransport::smtp(&config),
        Err(MailConfigError::NoRuntime)
    ));
}

#[test]
fn the_smtp_url_parser_rejects_bad_urls_with_a_clear_message() {
    let cases: [(&str, &str); 9] = [
        ("mail.example.com", "not a valid URL"),
        (
            "http://mail.example.com",
            "must start with smtp:// or smtps://",
        ),
        (
            "smtp://mail.example.com?tls=ssl",
            "tls=\"ssl\" is not one of starttls, tls, none",
        ),
        ("smtps://mail.example.com?tls=none", "always implicit TLS"),
        ("smtp://mail.example.com?timeout_ms=soon", "timeout_ms"),
        (
            "smtp://mail.example.com?timeout_ms=0",
            "between 1 and 600000",
        ),
        (
            "smtp://mail.example.com?pool=3",
            "unknown parameter \"pool\"",
        ),
        ("smtp://user@mail.example.com", "no password"),
        ("smtp://mail.example.com/inbox", "must not have a path"),
    ];
    for (url, expected) in cases {
        let err = SmtpConfig::parse(url).expect_err(url);
        assert!(err.to_string().contains(expected), "{url}: {err}");
    }
    assert!(matches!(
        SmtpConfig::parse("smtp://:25"),
        Err(MailConfigError::InvalidUrl(_) | MailConfigError::MissingHost)
    ));
}

#[tokio::test]
async fn the_password_never_shows_in_debug_display_or_errors() {
    let secret = "hunter2-very-secret";
    let url = format!("smtp://user:{secret}@mail.example.com:587");
    let config = SmtpConfig::parse(&url).expect("valid");
    assert!(!format!("{config:?}").contains(secret));
    assert!(!config.to_string().contains(secret));
    assert_eq!(
        config.to_string(),
        "smtp://user@mail.example.com:587?tls=starttls"
    );

    let transport =
        MailTransport::from_settings(Some(&SecretString::from(url)), std::path::Path::new("mail"))
            .expect("smtp");
    assert!(!format!("{transport:?}").contains(secret));
    assert!(!transport.to_string().contains(secret));

    let err = SmtpConfig::parse(&format!("smtp://user:{secret}@mail.example.com?tls=bogus"))
        .expect_err("bad tls");
    assert!(!err.to_string().contains(secret) && !format!("{err:?}").contains(secret));
}
