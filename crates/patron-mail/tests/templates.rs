//! Rendering the default templates and a program's overrides.

mod common;

use common::{ctx, render_default};
use patron_mail::{EventKind, Part, TemplateOverrides, render, sample_fields, validate_overrides};
use std::collections::BTreeMap;

#[test]
fn every_event_renders_with_its_sample_fields_in_english() {
    for event in EventKind::ALL {
        let mail = render_default(event, &sample_fields(event));
        assert_eq!(mail.language, "en", "{event}");
        assert!(
            !mail.subject.is_empty() && !mail.subject.contains('\n'),
            "{event}: {}",
            mail.subject
        );
        assert!(mail.html.starts_with("<!DOCTYPE html>"), "{event}");
        assert!(mail.html.contains("Acme Rewards"), "{event}");
        assert!(
            mail.text.ends_with('\n') && !mail.text.contains("\n\n\n"),
            "{event}"
        );
        assert!(
            mail.text.contains("https://shop.example.com/u/tok123"),
            "{event}: no unsubscribe link"
        );
        assert!(
            !mail.text.contains("{{") && !mail.html.contains("{%"),
            "{event}"
        );
    }
}

#[test]
fn every_event_renders_when_optional_fields_are_missing() {
    let no_unsubscribe = patron_mail::MailContext {
        unsubscribe_url: None,
        ..ctx()
    };
    for event in EventKind::ALL {
        let mail = render(
            event,
            None,
            &BTreeMap::new(),
            &TemplateOverrides::new(),
            &no_unsubscribe,
        )
        .unwrap_or_else(|err| panic!("{event}: {err}"));
        assert!(!mail.text.contains("Unsubscribe"), "{event}");
    }
}

#[test]
fn the_points_earned_email_carries_the_members_points() {
    let mail = render_default(
        EventKind::PointsEarned,
        &common::points_earned_fields("150", "1250"),
    );
    assert_eq!(mail.subject, "You just earned 150 points");
    assert!(mail.text.contains("Your balance is now 1,250 points."));
    assert!(mail.html.contains("<strong>1,250 points</strong>"));
}

#[test]
fn a_spanish_member_gets_the_spanish_variant() {
    let mut fields = sample_fields(EventKind::PointsEarned);
    fields.insert("Preferred Language".into(), "Spanish".into());
    let mail = render_default(EventKind::PointsEarned, &fields);
    assert_eq!(mail.language, "es");
    assert_eq!(mail.subject, "Acabas de ganar 150 puntos");
    assert!(mail.html.contains(r#"<html lang="es">"#));
    assert!(mail.text.contains("1.250 puntos"));
    assert!(mail.text.contains("Darte de baja"));
}

#[test]
fn a_member_whose_language_has_no_variant_gets_english() {
    let fields = sample_fields(EventKind::TierUpgrade);
    let mail = render(
        EventKind::TierUpgrade,
        Some("German"),
        &fields,
        &TemplateOverrides::new(),
        &ctx(),
    )
    .expect("renders");
    assert_eq!(mail.language, "en");
    assert_eq!(mail.subject, "Congratulations, you reached Gold!");
}

#[test]
fn html_escapes_field_values_but_text_does_not() {
    let mut fields = sample_fields(EventKind::DefaultCouponReward);
    fields.insert(
        "Redeemed Reward Name".into(),
        "<script>alert(1)</script> & \"more\"".into(),
    );
    let mail = render_default(EventKind::DefaultCouponReward, &fields);
    assert!(!mail.html.contains("<script>"));
    assert!(
        mail.html
            .contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;more&quot;")
    );
    assert!(mail.text.contains("<script>alert(1)</script> & \"more\""));
    assert!(mail.subject.contains("<script>"));
}

#[test]
fn fields_are_reachable_by_exact_name_and_by_snake_case() {
    let mut overrides = TemplateOverrides::new();
    overrides.set(
        EventKind::PointsEarned,
        None,
        Part::Subject,
        r#"{{ fields["Points Available"] }}={{ points_available }} {{ event }} for {{ program_name }}"#,
    );
    let mail = render(
        EventKind::PointsEarned,
        None,
        &sample_fields(EventKind::PointsEarned),
        &overrides,
        &ctx(),
    )
    .expect("renders");
    assert_eq!(mail.subject, "1250=1250 Points Earned for Acme Rewards");
}

#[test]
fn a_valid_override_is_accepted_and_used() {
    let mut overrides = TemplateOverrides::new();
    overrides.set(
        EventKind::PointsEarned,
        None,
        Part::Subject,
        "+{{ points_current_activity }} pts, {{ first_name }}!",
    );
    overrides.set(
        EventKind::PointsEarned,
        None,
        Part::Html,
        "{% extends \"layout.html\" %}{% block content %}<p>Balance: {{ points_available | points }}</p>{% endblock %}",
    );
    assert_eq!(validate_overrides(&overrides), Ok(()));

    let mail = render(
        EventKind::PointsEarned,
        None,
        &sample_fields(EventKind::PointsEarned),
        &overrides,
        &ctx(),
    )
    .expect("renders");
    assert_eq!(mail.subject, "+150 pts, Maria!");
    assert!(mail.html.contains("<p>Balance: 1,250 points</p>"));
    assert!(
        mail.html.contains("Unsubscribe from these emails"),
        "the override keeps the layout"
    );
    assert!(
        mail.text.contains("Nice one, Maria!"),
        "parts without an override keep the default"
    );
}

#[test]
fn an_override_with_a_syntax_error_is_refused_naming_the_event_part_and_line() {
    let mut overrides = TemplateOverrides::new();
    overrides.set(
        EventKind::TierUpgrade,
        None,
        Part::Html,
        "<p>Hello</p>\n<p>{{ current_tier }</p>\n",
    );
    let problems = validate_overrides(&overrides).expect_err("refused");
    assert_eq!(problems.len(), 1);
    let problem = &problems[0];
    assert_eq!(problem.event, "Tier Upgrade");
    assert_eq!(problem.part, Some(Part::Html));
    assert_eq!(problem.line, Some(2));
    assert!(
        problem.reason.contains("syntax error"),
        "{}",
        problem.reason
    );
    assert_eq!(problem.path(), "Tier Upgrade.html");
    assert!(
        problem
            .to_string()
            .starts_with("Tier Upgrade, html, line 2: syntax error"),
        "{problem}"
    );
}

#[test]
fn an_override_using_an_unknown_variable_is_refused() {
    let mut overrides = TemplateOverrides::new();
    overrides.set(
        EventKind::PointsEarned,
        Some("es"),
        Part::Text,
        "Hola\n{{ puntos_disponibles }}\n",
    );
    let problems = validate_overrides(&overrides).expect_err("refused");
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].language.as_deref(), Some("es"));
    assert_eq!(problems[0].part, Some(Part::Text));
    assert_eq!(problems[0].line, Some(2));
    assert!(
        problems[0].reason.contains("undefined"),
        "{}",
        problems[0].reason
    );
}

#[test]
fn an_override_using_a_field_of_another_event_is_refused() {
    let mut overrides = TemplateOverrides::new();
    overrides.set(
        EventKind::ReferralFriendInvitation,
        None,
        Part::Subject,
        "You have {{ points_available }}",
    );
    let problems = validate_overrides(&overrides)
        .expect_err("the friend's email cannot show the referrer's points");
    assert_eq!(problems[0].part, Some(Part::Subject));
}

#[test]
fn overrides_for_unknown_events_or_empty_output_are_refused() {
    let overrides: TemplateOverrides = serde_json::from_value(serde_json::json!({
        "Points Earnd": {"subject": "Hi"},
        "Points Earned": {"subject": "{% if false %}x{% endif %}"}
    }))
    .expect("valid JSON shape");
    let problems = validate_overrides(&overrides).expect_err("refused");
    assert_eq!(problems.len(), 2);
    assert!(
        problems
            .iter()
            .any(|p| p.event == "Points Earnd" && p.reason.contains("unknown event"))
    );
    assert!(
        problems
            .iter()
            .any(|p| p.event == "Points Earned" && p.reason.contains("renders to nothing"))
    );
}

#[test]
fn overrides_round_trip_through_json_and_reject_unknown_keys() {
    let json = serde_json::json!({
        "Points Earned": {"subject": "A", "languages": {"Spanish": {"subject": "B"}}}
    });
    let overrides: TemplateOverrides = serde_json::from_value(json.clone()).expect("parses");
    assert_eq!(
        overrides.get(EventKind::PointsEarned, Some("es"), Part::Subject),
        Some("B")
    );
    assert_eq!(
        overrides.get(EventKind::PointsEarned, None, Part::Subject),
        Some("A")
    );
    assert_eq!(serde_json::to_value(&overrides).expect("serializes"), json);

    let typo = serde_json::json!({"Points Earned": {"subjet": "A"}});
    assert!(serde_json::from_value::<TemplateOverrides>(typo).is_err());
}

#[test]
fn a_language_override_wins_for_that_language_and_the_neutral_one_for_english() {
    let mut overrides = TemplateOverrides::new();
    overrides.set(
        EventKind::WinbackAward,
        None,
        Part::Subject,
        "Come back, {{ first_name }}",
    );
    overrides.set(
        EventKind::WinbackAward,
        Some("fr"),
        Part::Subject,
        "Revenez, {{ first_name }}",
    );
    let fields = sample_fields(EventKind::WinbackAward);
    let subject = |language| {
        render(
            EventKind::WinbackAward,
            Some(language),
            &fields,
            &overrides,
            &ctx(),
        )
        .expect("renders")
        .subject
    };
    assert_eq!(subject("French"), "Revenez, Maria");
    assert_eq!(subject("English"), "Come back, Maria");
    assert_eq!(
        subject("es"),
        "¡Te extrañamos, Maria! Tienes puntos extra esperándote"
    );
}

#[test]
fn a_runaway_override_is_stopped() {
    let mut overrides = TemplateOverrides::new();
    overrides.set(
        EventKind::PointsEarned,
        None,
        Part::Text,
        "{% for a in range(10000) %}{% for b in range(10000) %}x{% endfor %}{% endfor %}",
    );
    let problems = validate_overrides(&overrides).expect_err("refused");
    assert_eq!(problems[0].part, Some(Part::Text));
}
