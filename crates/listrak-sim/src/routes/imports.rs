//! `POST /v1/List/{listId}/ListImport` (access level List) accepts and validates an import, then applies it
//! in the background; `GET …/ListImport`, `…/{importId}/Status` and `…/Summary` (access level Report) report it.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

use super::path_id;
use crate::auth::Scope;
use crate::body::{Object, json_object, opt_bool, opt_int, opt_str, req_int, req_str};
use crate::errors::{ApiError, ApiResult, created, data};
use crate::import::{ColumnKind, ImportJob, ImportType, Mapping};
use crate::sim::Sim;
use crate::state::{Import, ImportCounts, ImportState, now};
use crate::values::UpdateType;

fn delimiter(raw: &str) -> Result<u8, ApiError> {
    match raw {
        "\\t" | "\t" => Ok(b'\t'),
        s if s.eq_ignore_ascii_case("tab") => Ok(b'\t'),
        s if s.len() == 1 => Ok(s.as_bytes()[0]),
        _ => Err(ApiError::invalid("fileDelimiter")),
    }
}

fn mapping(item: &Value) -> Result<Mapping, ApiError> {
    let obj = item
        .as_object()
        .ok_or_else(|| ApiError::invalid("fileMappings"))?;
    let column = req_int(obj, "fileColumn")
        .ok()
        .and_then(|c| usize::try_from(c).ok())
        .ok_or_else(|| ApiError::invalid("fileColumn"))?;
    let kind = match req_str(obj, "fileColumnType")? {
        "Email" => ColumnKind::Email,
        "ExternalContactID" => ColumnKind::ExternalContactId,
        "Event" => ColumnKind::Event,
        "SegmentationField" => {
            let id = opt_int(obj, "segmentationFieldId")?
                .and_then(|id| u32::try_from(id).ok())
                .ok_or_else(|| ApiError::invalid("segmentationFieldId"))?;
            ColumnKind::Field(id)
        }
        _ => return Err(ApiError::invalid("fileColumnType")),
    };
    let default = opt_str(obj, "defaultValue")?
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    Ok(Mapping {
        column,
        kind,
        default,
    })
}

fn parse_job(obj: &Object) -> Result<(ImportJob, String, String), ApiError> {
    let delimiter = delimiter(req_str(obj, "fileDelimiter")?)?;
    let mappings: Vec<Mapping> = match obj.get("fileMappings") {
        Some(Value::Array(items)) if !items.is_empty() => {
            items.iter().map(mapping).collect::<Result<_, _>>()?
        }
        _ => return Err(ApiError::invalid("fileMappings")),
    };
    if mappings
        .iter()
        .filter(|m| matches!(m.kind, ColumnKind::Email))
        .count()
        != 1
    {
        return Err(ApiError::invalid_because(
            "fileMappings",
            "exactly one Email column is required",
        ));
    }
    let file_name = req_str(obj, "fileName")?.to_owned();
    let stream = req_str(obj, "fileStream")?.to_owned();
    let import_type = ImportType::parse(req_str(obj, "importType")?)
        .ok_or_else(|| ApiError::invalid("importType"))?;
    let segmentation = UpdateType::parse(req_str(obj, "segmentationImportType")?)
        .ok_or_else(|| ApiError::invalid("segmentationImportType"))?;
    let quote = match opt_str(obj, "textQualifier")? {
        None | Some("") => None,
        Some(q) if q.len() == 1 => Some(q.as_bytes()[0]),
        Some(_) => return Err(ApiError::invalid("textQualifier")),
    };
    for flag in ["suppressEmailNotifications", "triggerJourney"] {
        opt_bool(obj, flag)?;
    }
    let job = ImportJob {
        mappings,
        delimiter,
        quote,
        has_column_names: opt_bool(obj, "hasColumnNames")?.unwrap_or(false),
        import_type,
        segmentation,
        include_unsubscribed: opt_bool(obj, "includeUnsubscribed")?.unwrap_or(false),
    };
    Ok((job, file_name, stream))
}

pub async fn create_import(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Path(list_id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let list_id = path_id(&list_id)?;
    sim.authorize(&headers, Scope::List)?;
    // Parsing and decoding a file of up to 185 MB is CPU work: keep it off the async workers.
    let parsed = tokio::task::spawn_blocking(move || {
        let obj = json_object(&headers, &body)?;
        let (job, file_name, stream) = parse_job(&obj)?;
        let file = STANDARD
            .decode(stream.as_bytes())
            .map_err(|_| ApiError::invalid("fileStream"))?;
        Ok::<_, ApiError>((job, file_name, file))
    })
    .await
    .map_err(|_| ApiError::unhandled())?;
    let (job, file_name, file) = parsed?;
    let import_id = {
        let mut account = sim.account();
        let list = account
            .list(list_id)
            .ok_or_else(|| ApiError::not_found("listId"))?;
        for m in &job.mappings {
            if let ColumnKind::Field(id) = m.kind
                && !list.fields.contains_key(&id)
            {
                return Err(ApiError::invalid("segmentationFieldId"));
            }
        }
        let id = account.next_id();
        account.imports.insert(
            id,
            Import {
                id,
                list_id,
                file_name,
                created: now(),
                started: None,
                ended: None,
                state: ImportState::Queued,
                counts: ImportCounts::default(),
                failure: None,
            },
        );
        id
    };
    let sim_for_job = sim.clone();
    tokio::task::spawn_blocking(move || {
        crate::import::run(&sim_for_job, import_id, list_id, &job, &file)
    });
    Ok(created(import_id))
}

pub async fn list_imports(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Path(list_id): Path<String>,
) -> ApiResult {
    let list_id = path_id(&list_id)?;
    sim.authorize(&headers, Scope::Report)?;
    let account = sim.account();
    account
        .list(list_id)
        .ok_or_else(|| ApiError::not_found("listId"))?;
    let mut imports: Vec<&Import> = account
        .imports
        .values()
        .filter(|i| i.list_id == list_id)
        .collect();
    imports.sort_by_key(|i| i.id);
    Ok(data(
        imports.into_iter().map(Import::to_json).collect::<Vec<_>>(),
    ))
}

fn with_import(sim: &Sim, list_id: &str, import_id: &str, f: fn(&Import) -> Value) -> ApiResult {
    let (list_id, import_id) = (path_id(list_id)?, path_id(import_id)?);
    let account = sim.account();
    account
        .list(list_id)
        .ok_or_else(|| ApiError::not_found("listId"))?;
    let import = account
        .imports
        .get(&import_id)
        .filter(|i| i.list_id == list_id)
        .ok_or_else(|| ApiError::not_found("listId and importFileId"))?;
    Ok(data(f(import)))
}

pub async fn status(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Path((list_id, import_id)): Path<(String, String)>,
) -> ApiResult {
    sim.authorize(&headers, Scope::Report)?;
    with_import(&sim, &list_id, &import_id, Import::status_json)
}

pub async fn summary(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Path((list_id, import_id)): Path<(String, String)>,
) -> ApiResult {
    sim.authorize(&headers, Scope::Report)?;
    with_import(&sim, &list_id, &import_id, Import::summary_json)
}
