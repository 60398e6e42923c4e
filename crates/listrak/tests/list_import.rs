//! A list import is accepted, applied in the background (Event columns raise events) and reported by
//! `/Status` and `/Summary`.

mod common;

use base64::Engine;
use common::*;
use listrak::*;

#[tokio::test]
async fn an_import_with_an_event_column_raises_events_and_reports_its_summary() {
    let s = setup().await;
    let p = provision(&s.client, "L").await;
    let earned = p.event("Points Earned");
    s.client
        .upsert_contact(
            p.list_id,
            &contact("gone@example.com", vec![]),
            &UpsertOptions::default(),
        )
        .await
        .expect("c");
    s.control(
        "/contacts/unsubscribe",
        serde_json::json!({"list_id": p.list_id, "email": "gone@example.com"}),
    )
    .await;

    let csv = format!(
        "email;name;points;event\n\
         ann@example.com;\"Ann; A.\";100;{earned}\n\
         bob@example.com;Bob;250;\n\
         gone@example.com;Gone;5;{earned}\n\
         not-an-email;X;1;\n"
    );
    let file = ImportFile {
        file_delimiter: ";".into(),
        file_mappings: vec![
            ImportFileMapping {
                file_column: 0,
                file_column_type: FileColumnType::Email,
                segmentation_field_id: None,
                default_value: None,
            },
            ImportFileMapping {
                file_column: 1,
                file_column_type: FileColumnType::SegmentationField,
                segmentation_field_id: Some(p.field("User Name")),
                default_value: None,
            },
            ImportFileMapping {
                file_column: 2,
                file_column_type: FileColumnType::SegmentationField,
                segmentation_field_id: Some(p.field("Points Available")),
                default_value: None,
            },
            ImportFileMapping {
                file_column: 3,
                file_column_type: FileColumnType::Event,
                segmentation_field_id: None,
                default_value: None,
            },
        ],
        file_name: "members.csv".into(),
        file_stream: base64::engine::general_purpose::STANDARD.encode(csv),
        import_type: ImportType::AddSubscribersAndSegmentationData,
        segmentation_import_type: UpdateType::Update,
        has_column_names: Some(true),
        text_qualifier: Some("\"".into()),
        suppress_email_notifications: Some(true),
        trigger_journey: None,
        include_unsubscribed: None,
    };
    let import = s
        .client
        .start_import(p.list_id, &file)
        .await
        .expect("accepted");
    let status = eventually(20, || async {
        let status = s
            .client
            .import_status(p.list_id, import)
            .await
            .expect("status");
        (status.status.as_deref() == Some("Completed")).then_some(status)
    })
    .await;
    assert!(status.end_date.is_some());

    let summary = s
        .client
        .import_summary(p.list_id, import)
        .await
        .expect("summary");
    assert_eq!(summary.processed_count, 4);
    assert_eq!(summary.subscribed_count, 2);
    assert_eq!(summary.previously_unsubscribed_count, 1);
    assert_eq!(summary.invalid_email_count, 1);

    let raised = s.raised().await;
    assert_eq!(
        raised.len(),
        1,
        "only the subscribed row with an event id raises it: {raised:?}"
    );
    assert_eq!(raised[0]["email"], "ann@example.com");
    assert_eq!(raised[0]["fields"]["User Name"], "Ann; A.");
    assert_eq!(raised[0]["source"], "import");
    let bob = s
        .client
        .get_contact(p.list_id, "bob@example.com", &[p.field("Points Available")])
        .await
        .expect("bob");
    assert_eq!(bob.segmentation_field_values[0].value, "250");
}

#[tokio::test]
async fn an_import_with_a_bad_body_is_refused_up_front() {
    let s = setup().await;
    let p = provision(&s.client, "L").await;
    let file = ImportFile {
        file_delimiter: ",".into(),
        file_mappings: vec![ImportFileMapping {
            file_column: 0,
            file_column_type: FileColumnType::SegmentationField,
            segmentation_field_id: Some(p.field("User Name")),
            default_value: None,
        }],
        file_name: "x.csv".into(),
        file_stream: "not base64 at all!".into(),
        import_type: ImportType::AddSubscribers,
        segmentation_import_type: UpdateType::Update,
        has_column_names: None,
        text_qualifier: None,
        suppress_email_notifications: None,
        trigger_journey: None,
        include_unsubscribed: None,
    };
    let err = s
        .client
        .start_import(p.list_id, &file)
        .await
        .expect_err("no email column");
    assert_eq!(err.code(), Some("ERROR_INVALID_PARAMETER"));
    assert!(err.to_string().contains("fileMappings"), "{err}");
}
