//! The MIME message, parsed back with an independent parser.

mod common;

use common::{envelope, points_earned_message};
use mail_parser::MessageParser;
use patron_mail::{Envelope, EventKind, MessageError, build_message, sample_fields};

#[test]
fn the_built_message_parses_back_as_multipart_alternative_with_both_parts() {
    let message = points_earned_message("maria@example.com", "1250");
    let parsed = MessageParser::default()
        .parse(message.raw())
        .expect("parses");

    let content_type = parsed.header_raw("Content-Type").expect("content type");
    assert!(
        content_type.contains("multipart/alternative"),
        "{content_type}"
    );
    assert_eq!(parsed.text_body_count(), 1);
    assert_eq!(parsed.html_body_count(), 1);
    assert!(
        parsed
            .body_text(0)
            .expect("text part")
            .contains("Your balance is now 1,250 points.")
    );
    assert!(
        parsed
            .body_html(0)
            .expect("html part")
            .contains("<strong>1,250 points</strong>")
    );

    assert_eq!(parsed.subject(), Some("You just earned 150 points"));
    assert!(parsed.date().is_some(), "Date header");
    let message_id = parsed.message_id().expect("Message-ID");
    assert!(message_id.ends_with("@acme.example"), "{message_id}");
    assert_eq!(format!("<{message_id}>"), message.message_id());
}

#[test]
fn the_message_carries_addresses_and_one_click_unsubscribe_headers() {
    let message = points_earned_message("maria@example.com", "1250");
    let parsed = MessageParser::default()
        .parse(message.raw())
        .expect("parses");

    let from = parsed.from().and_then(|a| a.first()).expect("From");
    assert_eq!(from.address(), Some("rewards@acme.example"));
    assert_eq!(from.name(), Some("Acme Rewards"));
    let to = parsed.to().and_then(|a| a.first()).expect("To");
    assert_eq!(to.address(), Some("maria@example.com"));
    assert_eq!(
        to.name(),
        Some("María García"),
        "UTF-8 display names survive"
    );
    let reply_to = parsed.reply_to().and_then(|a| a.first()).expect("Reply-To");
    assert_eq!(reply_to.address(), Some("help@acme.example"));

    assert_eq!(
        parsed.header_raw("List-Unsubscribe").map(str::trim),
        Some("<https://shop.example.com/u/tok123>")
    );
    assert_eq!(
        parsed.header_raw("List-Unsubscribe-Post").map(str::trim),
        Some("List-Unsubscribe=One-Click")
    );
    assert_eq!(message.recipient(), "maria@example.com");
}

#[test]
fn a_utf8_subject_survives_the_trip() {
    let mut fields = sample_fields(EventKind::WinbackAward);
    fields.insert("Preferred Language".into(), "es".into());
    let mail = common::render_default(EventKind::WinbackAward, &fields);
    let message = build_message(&mail, &envelope("maria@example.com")).expect("builds");
    assert!(
        message.raw().is_ascii(),
        "headers are encoded, bodies transfer-encoded"
    );
    let parsed = MessageParser::default()
        .parse(message.raw())
        .expect("parses");
    assert_eq!(
        parsed.subject(),
        Some("¡Te extrañamos, Maria! Tienes puntos extra esperándote")
    );
    assert_eq!(
        parsed.header_raw("Content-Language").map(str::trim),
        Some("es")
    );
}

#[test]
fn without_an_unsubscribe_url_there_is_no_list_unsubscribe_header() {
    let mail = common::render_default(
        EventKind::PointsEarned,
        &sample_fields(EventKind::PointsEarned),
    );
    let envelope = Envelope {
        unsubscribe_url: None,
        reply_to: None,
        ..envelope("maria@example.com")
    };
    let message = build_message(&mail, &envelope).expect("builds");
    let parsed = MessageParser::default()
        .parse(message.raw())
        .expect("parses");
    assert!(parsed.header_raw("List-Unsubscribe").is_none());
    assert!(parsed.header_raw("Reply-To").is_none());
}

#[test]
fn a_delivery_id_gives_a_stable_message_id() {
    let mail = common::render_default(
        EventKind::PointsEarned,
        &sample_fields(EventKind::PointsEarned),
    );
    let envelope = Envelope {
        delivery_id: Some("0193a1b2-7c3d".to_owned()),
        ..envelope("maria@example.com")
    };
    let first = build_message(&mail, &envelope).expect("builds");
    let second = build_message(&mail, &envelope).expect("builds");
    assert_eq!(first.message_id(), "<patron.0193a1b2-7c3d@acme.example>");
    assert_eq!(first.message_id(), second.message_id());
}

#[test]
fn bad_addresses_and_header_injection_are_refused() {
    let mail = common::render_default(
        EventKind::PointsEarned,
        &sample_fields(EventKind::PointsEarned),
    );
    let bad_to = build_message(&mail, &envelope("not an address"));
    assert!(matches!(
        bad_to,
        Err(MessageError::InvalidAddress { field: "to", .. })
    ));

    let injected = Envelope {
        unsubscribe_url: Some("https://x.example/u\r\nBcc: victim@example.com".to_owned()),
        ..envelope("maria@example.com")
    };
    assert!(matches!(
        build_message(&mail, &injected),
        Err(MessageError::InvalidUnsubscribeUrl { .. })
    ));

    let bad_domain = Envelope {
        message_id_domain: "acme example>".to_owned(),
        ..envelope("maria@example.com")
    };
    assert!(matches!(
        build_message(&mail, &bad_domain),
        Err(MessageError::InvalidMessageIdDomain(_))
    ));
}
