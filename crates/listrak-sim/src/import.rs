//! Applying a list import in the background: the decoded CSV is read with the request's delimiter, text
//! qualifier and header flag, mapped column by column, and applied in chunks (the account lock is taken per
//! chunk, so API calls keep flowing during a million-row backfill). `Event` columns hold an event id (or the
//! mapping's `defaultValue` when blank) and raise that event for the row's contact if it is subscribed.

use std::sync::Arc;

use crate::sim::Sim;
use crate::state::{
    Account, Contact, EventStatus, ImportCounts, ImportState, List, Raised, SubscriptionState, now,
};
use crate::upsert::is_valid_email;
use crate::values::{UpdateType, check_value};

/// Rows applied per lock acquisition.
const CHUNK: usize = 5_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportType {
    AddSubscribers,
    AddSubscribersAndSegmentationData,
    RemoveSubscribers,
    UpdateSubscribers,
}

impl ImportType {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "AddSubscribers" => Some(Self::AddSubscribers),
            "AddSubscribersAndSegmentationData" => Some(Self::AddSubscribersAndSegmentationData),
            "RemoveSubscribers" => Some(Self::RemoveSubscribers),
            "UpdateSubscribers" => Some(Self::UpdateSubscribers),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub enum ColumnKind {
    Email,
    ExternalContactId,
    Event,
    Field(u32),
}

#[derive(Debug, Clone)]
pub struct Mapping {
    pub column: usize,
    pub kind: ColumnKind,
    pub default: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ImportJob {
    pub mappings: Vec<Mapping>,
    pub delimiter: u8,
    pub quote: Option<u8>,
    pub has_column_names: bool,
    pub import_type: ImportType,
    pub segmentation: UpdateType,
    pub include_unsubscribed: bool,
}

/// One CSV row, mapped.
#[derive(Debug, Default)]
struct Row {
    email: String,
    external_id: Option<String>,
    values: Vec<(u32, String)>,
    events: Vec<String>,
}

impl ImportJob {
    fn row(&self, record: &csv::ByteRecord) -> Row {
        let mut row = Row::default();
        for m in &self.mappings {
            let cell = record
                .get(m.column)
                .map(|b| String::from_utf8_lossy(b).trim().to_owned())
                .filter(|s| !s.is_empty())
                .or_else(|| m.default.clone());
            let Some(cell) = cell else { continue };
            match m.kind {
                ColumnKind::Email => row.email = cell,
                ColumnKind::ExternalContactId => row.external_id = Some(cell),
                ColumnKind::Event => row.events.push(cell),
                ColumnKind::Field(id) => row.values.push((id, cell)),
            }
        }
        row
    }
}

/// Runs on a blocking thread: parses `file` and applies it to `list_id`, recording progress on the import.
pub fn run(sim: &Arc<Sim>, import_id: i64, list_id: i64, job: &ImportJob, file: &[u8]) {
    update(sim, import_id, |i| {
        i.state = ImportState::Processing;
        i.started = Some(now());
    });
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(job.delimiter)
        .has_headers(job.has_column_names)
        .quoting(job.quote.is_some())
        .quote(job.quote.unwrap_or(b'"'))
        .flexible(true)
        .from_reader(file);
    let mut chunk = Vec::with_capacity(CHUNK);
    let mut record = csv::ByteRecord::new();
    let outcome = loop {
        match reader.read_byte_record(&mut record) {
            Ok(true) => {
                chunk.push(job.row(&record));
                if chunk.len() == CHUNK && !apply_chunk(sim, import_id, list_id, job, &mut chunk) {
                    break Err("the list no longer exists".to_owned());
                }
            }
            Ok(false) => break Ok(()),
            Err(e) => break Err(format!("the file could not be read: {e}")),
        }
    };
    let outcome = outcome.and_then(|()| {
        if apply_chunk(sim, import_id, list_id, job, &mut chunk) {
            Ok(())
        } else {
            Err("the list no longer exists".to_owned())
        }
    });
    update(sim, import_id, |i| {
        i.ended = Some(now());
        match outcome {
            Ok(()) => i.state = ImportState::Completed,
            Err(why) => {
                i.state = ImportState::Failed;
                i.failure = Some(why);
            }
        }
    });
}

fn update(sim: &Sim, import_id: i64, f: impl FnOnce(&mut crate::state::Import)) {
    if let Some(import) = sim.account().imports.get_mut(&import_id) {
        f(import);
    }
}

/// Applies and drains `rows`; false when the list is gone.
fn apply_chunk(
    sim: &Sim,
    import_id: i64,
    list_id: i64,
    job: &ImportJob,
    rows: &mut Vec<Row>,
) -> bool {
    let mut guard = sim.account();
    let Account {
        lists,
        raised,
        imports,
        ..
    } = &mut *guard;
    let Some(list) = lists.get_mut(&list_id) else {
        return false;
    };
    let mut counts = ImportCounts::default();
    let at = now();
    for row in rows.drain(..) {
        apply_row(list, job, row, at, &mut counts, raised);
    }
    if let Some(import) = imports.get_mut(&import_id) {
        let c = &mut import.counts;
        c.processed += counts.processed;
        c.subscribed += counts.subscribed;
        c.already_subscribed += counts.already_subscribed;
        c.previously_unsubscribed += counts.previously_unsubscribed;
        c.unsubscribed += counts.unsubscribed;
        c.already_unsubscribed += counts.already_unsubscribed;
        c.invalid_email += counts.invalid_email;
        c.skipped += counts.skipped;
        c.updated += counts.updated;
        c.events_raised += counts.events_raised;
    }
    true
}

fn apply_row(
    list: &mut List,
    job: &ImportJob,
    row: Row,
    at: chrono::NaiveDateTime,
    counts: &mut ImportCounts,
    raised: &mut Vec<Raised>,
) {
    counts.processed += 1;
    if !is_valid_email(&row.email) {
        counts.invalid_email += 1;
        return;
    }
    let valid_values = row.values.iter().all(|(id, v)| {
        list.fields
            .get(id)
            .is_some_and(|f| check_value(f, v).is_ok())
    });
    if !valid_values {
        counts.skipped += 1;
        return;
    }
    let key = List::contact_key(&row.email);
    let existing = list.contacts.get(&key).map(|c| c.state);
    let with_data = match (job.import_type, existing) {
        (ImportType::RemoveSubscribers, Some(SubscriptionState::Subscribed)) => {
            if let Some(c) = list.contacts.get_mut(&key) {
                c.unsubscribe(at, "Import");
            }
            list.index_state(&key);
            counts.unsubscribed += 1;
            return;
        }
        (ImportType::RemoveSubscribers, _) => {
            counts.already_unsubscribed += 1;
            return;
        }
        (ImportType::UpdateSubscribers, None) => {
            counts.skipped += 1;
            return;
        }
        (ImportType::UpdateSubscribers, Some(SubscriptionState::Unsubscribed))
            if !job.include_unsubscribed =>
        {
            counts.previously_unsubscribed += 1;
            return;
        }
        (ImportType::UpdateSubscribers, Some(_)) => {
            counts.updated += 1;
            true
        }
        (add, None) => {
            list.contacts.insert(
                key.clone(),
                Contact::new(&row.email, SubscriptionState::Subscribed, at),
            );
            counts.subscribed += 1;
            add == ImportType::AddSubscribersAndSegmentationData
        }
        (add, Some(state)) => {
            if state == SubscriptionState::Subscribed {
                counts.already_subscribed += 1;
            } else {
                counts.previously_unsubscribed += 1;
            }
            add == ImportType::AddSubscribersAndSegmentationData
        }
    };
    let list_id = list.id;
    let Some(contact) = list.contacts.get_mut(&key) else {
        return;
    };
    if let Some(external_id) = row.external_id {
        contact.external_id = Some(external_id.into_boxed_str());
    }
    if with_data {
        contact.values.apply(&row.values, job.segmentation);
    }
    if contact.state != SubscriptionState::Subscribed {
        return;
    }
    for cell in &row.events {
        let event = cell.parse::<i64>().ok().and_then(|id| list.events.get(&id));
        if let Some(event) = event.filter(|e| e.status == EventStatus::Active) {
            counts.events_raised += 1;
            raised.push(Raised {
                list_id,
                event_id: event.id,
                event_name: event.name.clone(),
                email: contact.email.clone(),
                values: contact.values.clone(),
                at,
                source: "import",
            });
        }
    }
}
