//! History into Listrak: every existing member into every list through `ListImport` (chunked CSV, no
//! events, no journeys, no notification emails), resumable after a crash because each list remembers the
//! last member done; and the same CSV as an export for a manual import.

use super::{App, AppError};
use ::listrak::{
    FileColumnType, ImportFile, ImportFileMapping, ImportType, ListrakClient, UpdateType,
};
use base64::Engine;
use chrono::{DateTime, Utc};
use patron_domain::Member;
use patron_domain::ProgramSettings;
use patron_domain::catalog::FIELDS;
use patron_domain::profile::{RewardOffer, common_fields};
use patron_store::{BackfillProgress, ListRoute, ListRow};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

const DEFAULT_CHUNK: u32 = 1000;

/// `POST /v1/integrations/listrak/backfill` (every member optional).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BackfillOptions {
    /// Members per import file (default 1000, at most 10000).
    pub chunk_size: Option<u32>,
    /// Stop after this many imports (the next run resumes where this one stopped).
    pub max_chunks: Option<u32>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BackfillListView {
    pub list_name: String,
    pub list_id: String,
    /// `not_started`, `running`, `interrupted`, `failed` or `done`.
    pub status: String,
    pub done: i64,
    pub total: i64,
    pub imports: i64,
    pub last_error: Option<String>,
    pub updated_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BackfillView {
    /// A backfill of this program is running in this process.
    pub running: bool,
    pub lists: Vec<BackfillListView>,
}

/// One step of progress, for a progress bar.
#[derive(Debug, Clone)]
pub struct BackfillTick<'a> {
    pub list_name: &'a str,
    pub done: i64,
    pub total: i64,
}

/// The CSV columns: Email, ExternalContactID, then every profile field by its exact name.
pub fn csv_header() -> Vec<String> {
    let mut h = vec!["Email".to_string(), "ExternalContactID".to_string()];
    h.extend(FIELDS.iter().map(|f| f.name.to_string()));
    h
}

/// A member's CSV row, in [`csv_header`] order (event fields blank).
pub fn csv_row(
    member: &Member,
    settings: &ProgramSettings,
    rewards: &[RewardOffer],
) -> Vec<String> {
    let fields = common_fields(member, settings, rewards);
    let mut row = vec![member.email.clone(), member.external_id.clone()];
    row.extend(
        FIELDS
            .iter()
            .map(|f| fields.get(f.name).cloned().unwrap_or_default()),
    );
    row
}

fn language(route: &ListRoute) -> Option<&str> {
    match route {
        ListRoute::All => None,
        ListRoute::Language(l) => Some(l.as_str()),
    }
}

fn csv_bytes(rows: &[Vec<String>]) -> Result<Vec<u8>, AppError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        w.write_record(r)
            .map_err(|e| AppError::invalid("csv", e.to_string()))?;
    }
    w.into_inner()
        .map_err(|e| AppError::invalid("csv", e.to_string()))
}

impl App {
    /// Writes every live, subscribed member as CSV (header first); returns how many members.
    pub async fn export_members_csv(
        &self,
        program_id: &str,
        out: &mut dyn std::io::Write,
    ) -> Result<u64, AppError> {
        self.store().program(program_id).await?;
        let settings = self.store().settings(program_id).await?;
        let rewards = self.store().reward_offers(program_id).await?;
        let mut w = csv::Writer::from_writer(out);
        let io = |e: csv::Error| AppError::invalid("output", e.to_string());
        w.write_record(csv_header()).map_err(io)?;
        let mut after: Option<String> = None;
        let mut count = 0;
        loop {
            let page = self
                .store()
                .members_for_listrak(program_id, None, after.as_deref(), 1000)
                .await?;
            let Some(last) = page.last() else { break };
            after = Some(last.id.clone());
            for m in &page {
                w.write_record(csv_row(m, &settings, &rewards))
                    .map_err(io)?;
                count += 1;
            }
        }
        w.flush()
            .map_err(|e| AppError::invalid("output", e.to_string()))?;
        Ok(count)
    }

    pub async fn backfill_view(&self, program_id: &str) -> Result<BackfillView, AppError> {
        let row = self.listrak_integration(program_id).await?;
        let progress = self.store().backfills(program_id).await?;
        let running = self
            .listrak_runtime()
            .backfills
            .lock()
            .map(|set| set.contains(program_id))
            .unwrap_or(false);
        let lists = row
            .lists
            .iter()
            .filter_map(|l| l.list_id.clone().map(|id| (l, id)))
            .map(|(l, id)| {
                let p = progress.iter().find(|p| p.list_id == id);
                BackfillListView {
                    list_name: l.name.clone(),
                    list_id: id,
                    status: p.map_or("not_started".into(), |p| p.status.clone()),
                    done: p.map_or(0, |p| p.done),
                    total: p.map_or(0, |p| p.total),
                    imports: p.map_or(0, |p| p.imports),
                    last_error: p.and_then(|p| p.last_error.clone()),
                    updated_at: p.map(|p| p.updated_at),
                }
            })
            .collect();
        Ok(BackfillView { running, lists })
    }

    /// Starts [`App::run_backfill`] in a task unless one runs already; answers the progress so far.
    pub async fn start_backfill_in_background(
        &self,
        program_id: &str,
        options: BackfillOptions,
    ) -> Result<BackfillView, AppError> {
        self.listrak_integration(program_id).await?;
        let started = self
            .listrak_runtime()
            .backfills
            .lock()
            .map(|mut set| set.insert(program_id.to_string()))
            .unwrap_or(false);
        if started {
            let app = self.clone();
            let program = program_id.to_string();
            tokio::spawn(async move {
                if let Err(e) = app.run_backfill(&program, &options, &|_| {}).await {
                    tracing::warn!(program = %program, error = %e, "Listrak backfill stopped");
                }
                if let Ok(mut set) = app.listrak_runtime().backfills.lock() {
                    set.remove(&program);
                }
            });
        }
        self.backfill_view(program_id).await
    }

    /// Imports every live, subscribed member into every provisioned list, resuming each list after its
    /// last member done. Stops after `max_chunks` imports if given (status `interrupted`).
    pub async fn run_backfill(
        &self,
        program_id: &str,
        options: &BackfillOptions,
        progress: &(dyn Fn(BackfillTick<'_>) + Send + Sync),
    ) -> Result<BackfillView, AppError> {
        let row = self.listrak_integration(program_id).await?;
        let client = self.listrak_client(&row)?;
        let settings = self.store().settings(program_id).await?;
        let rewards = self.store().reward_offers(program_id).await?;
        let chunk = options.chunk_size.unwrap_or(DEFAULT_CHUNK).clamp(1, 10_000);
        let mut budget = options.max_chunks;
        for list in &row.lists {
            let Some(list_id) = list.list_id.clone() else {
                continue;
            };
            let ctx = ListCtx {
                list,
                list_id: &list_id,
                client: &client,
                settings: &settings,
                rewards: &rewards,
            };
            let finished = self
                .backfill_list(program_id, &ctx, chunk, &mut budget, progress)
                .await;
            match finished {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    self.store()
                        .end_backfill(
                            program_id,
                            &list_id,
                            "failed",
                            Some(&e.to_string()),
                            Utc::now(),
                        )
                        .await?;
                    return Err(e);
                }
            }
        }
        self.backfill_view(program_id).await
    }

    /// One list; `Ok(false)` when the chunk budget ran out first.
    async fn backfill_list(
        &self,
        program_id: &str,
        ctx: &ListCtx<'_>,
        chunk: u32,
        budget: &mut Option<u32>,
        progress: &(dyn Fn(BackfillTick<'_>) + Send + Sync),
    ) -> Result<bool, AppError> {
        let lang = language(&ctx.list.route);
        let total = self
            .store()
            .count_members_for_listrak(program_id, lang)
            .await?;
        self.store()
            .restart_backfill(program_id, ctx.list_id)
            .await?;
        let mut state = self
            .store()
            .start_backfill(program_id, ctx.list_id, total, Utc::now())
            .await?;
        progress(BackfillTick {
            list_name: &ctx.list.name,
            done: state.done,
            total,
        });
        loop {
            let members = self
                .store()
                .members_for_listrak(program_id, lang, state.last_member_id.as_deref(), chunk)
                .await?;
            let Some(last) = members.last() else {
                self.store()
                    .end_backfill(program_id, ctx.list_id, "done", None, Utc::now())
                    .await?;
                return Ok(true);
            };
            if *budget == Some(0) {
                self.store()
                    .end_backfill(program_id, ctx.list_id, "interrupted", None, Utc::now())
                    .await?;
                return Ok(false);
            }
            let file = ctx.import_file(&members, state.imports + 1)?;
            let list_num: i64 = ctx
                .list_id
                .parse()
                .map_err(|_| AppError::invalid("list_id", "not a Listrak list id"))?;
            ctx.client
                .start_import(list_num, &file)
                .await
                .map_err(|e| AppError::Listrak {
                    message: format!("the import into list {} failed", ctx.list_id),
                    source: e,
                })?;
            let step = BackfillProgress {
                last_member_id: last.id.clone(),
                added: members.len() as i64,
            };
            self.store()
                .advance_backfill(program_id, ctx.list_id, &step, Utc::now())
                .await?;
            state.last_member_id = Some(step.last_member_id);
            state.done += step.added;
            state.imports += 1;
            if let Some(b) = budget.as_mut() {
                *b -= 1;
            }
            progress(BackfillTick {
                list_name: &ctx.list.name,
                done: state.done,
                total,
            });
        }
    }
}

struct ListCtx<'a> {
    list: &'a ListRow,
    list_id: &'a str,
    client: &'a ListrakClient,
    settings: &'a ProgramSettings,
    rewards: &'a [RewardOffer],
}

impl ListCtx<'_> {
    /// The import of one chunk: columns the list has a field for, mapped by position.
    fn import_file(&self, members: &[Member], n: i64) -> Result<ImportFile, AppError> {
        let header = csv_header();
        let keep: Vec<usize> = (0..header.len())
            .filter(|&i| i < 2 || self.list.field_ids.contains_key(&header[i]))
            .collect();
        let mut rows = vec![keep.iter().map(|&i| header[i].clone()).collect::<Vec<_>>()];
        for m in members {
            let full = csv_row(m, self.settings, self.rewards);
            rows.push(keep.iter().map(|&i| full[i].clone()).collect());
        }
        let mappings = keep
            .iter()
            .enumerate()
            .map(|(col, &i)| ImportFileMapping {
                file_column: col as u32,
                file_column_type: match i {
                    0 => FileColumnType::Email,
                    1 => FileColumnType::ExternalContactId,
                    _ => FileColumnType::SegmentationField,
                },
                segmentation_field_id: self.list.field_ids.get(&header[i]).copied(),
                default_value: None,
            })
            .collect();
        Ok(ImportFile {
            file_delimiter: ",".into(),
            file_mappings: mappings,
            file_name: format!("patron-backfill-{}-{n}.csv", self.list_id),
            file_stream: base64::engine::general_purpose::STANDARD.encode(csv_bytes(&rows)?),
            import_type: ImportType::AddSubscribersAndSegmentationData,
            segmentation_import_type: UpdateType::Update,
            has_column_names: Some(true),
            text_qualifier: Some("\"".into()),
            suppress_email_notifications: Some(true),
            trigger_journey: Some(false),
            include_unsubscribed: Some(false),
        })
    }
}
