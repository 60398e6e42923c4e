//! Profile field groups and profile fields of a list (access level Segmentation). Group names are unique
//! per list, field names unique per list across groups (our reading; Listrak's merge tags use field names),
//! both answered like a duplicate event name. At most [`FIELD_GROUP_LIMIT`] groups per list.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;

use super::{path_id, same_name};
use crate::auth::Scope;
use crate::body::{json_object, req_int, req_str};
use crate::errors::{ApiError, ApiResult, created, data};
use crate::sim::Sim;
use crate::state::{DataType, Field, FieldGroup};

/// Listrak caps groups per list without publishing the number; the emulator picks ten.
pub const FIELD_GROUP_LIMIT: usize = 10;

/// The longest `maxLength` a profile field accepts here (Listrak does not publish one).
pub const MAX_FIELD_LENGTH: i64 = 4000;

pub async fn list_groups(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Path(list_id): Path<String>,
) -> ApiResult {
    let list_id = path_id(&list_id)?;
    sim.authorize(&headers, Scope::Segmentation)?;
    let account = sim.account();
    let list = account
        .list(list_id)
        .ok_or_else(|| ApiError::not_found("listId"))?;
    Ok(data(
        list.field_groups
            .values()
            .map(FieldGroup::to_json)
            .collect::<Vec<_>>(),
    ))
}

pub async fn create_group(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Path(list_id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let list_id = path_id(&list_id)?;
    sim.authorize(&headers, Scope::Segmentation)?;
    let obj = json_object(&headers, &body)?;
    let name = req_str(&obj, "segmentationFieldGroupName")?
        .trim()
        .to_owned();
    let position = req_int(&obj, "position")?;
    let mut account = sim.account();
    let id = account.next_id();
    let list = account
        .list_mut(list_id)
        .ok_or_else(|| ApiError::not_found("listId"))?;
    if list
        .field_groups
        .values()
        .any(|g| same_name(&g.name, &name))
    {
        return Err(ApiError::invalid("segmentationFieldGroupName"));
    }
    if list.field_groups.len() >= FIELD_GROUP_LIMIT {
        return Err(ApiError::bad_request(
            "ERROR_SEGMENTATION_FIELD_GROUP_LIMIT_MET",
            "The maximum number of profile field groups for this list has been met.",
        ));
    }
    list.field_groups
        .insert(id, FieldGroup { id, name, position });
    Ok(created(id))
}

pub async fn list_fields(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Path((list_id, group_id)): Path<(String, String)>,
) -> ApiResult {
    let (list_id, group_id) = (path_id(&list_id)?, path_id(&group_id)?);
    sim.authorize(&headers, Scope::Segmentation)?;
    let account = sim.account();
    let list = account
        .list(list_id)
        .ok_or_else(|| ApiError::not_found("listId"))?;
    if !list.field_groups.contains_key(&group_id) {
        return Err(ApiError::not_found("listId and segmentationFieldGroupId"));
    }
    let fields: Vec<_> = list
        .fields
        .values()
        .filter(|f| f.group_id == group_id)
        .map(Field::to_json)
        .collect();
    Ok(data(fields))
}

pub async fn create_field(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Path((list_id, group_id)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let (list_id, group_id) = (path_id(&list_id)?, path_id(&group_id)?);
    sim.authorize(&headers, Scope::Segmentation)?;
    let obj = json_object(&headers, &body)?;
    let name = req_str(&obj, "segmentationFieldName")?.trim().to_owned();
    let data_type =
        DataType::parse(req_str(&obj, "dataType")?).ok_or_else(|| ApiError::invalid("dataType"))?;
    let max_length = req_int(&obj, "maxLength")?;
    if !(1..=MAX_FIELD_LENGTH).contains(&max_length) {
        return Err(ApiError::invalid("maxLength"));
    }
    let position = req_int(&obj, "position")?;
    let mut account = sim.account();
    let id = u32::try_from(account.next_id()).map_err(|_| ApiError::unhandled())?;
    let list = account
        .list_mut(list_id)
        .ok_or_else(|| ApiError::not_found("listId"))?;
    if !list.field_groups.contains_key(&group_id) {
        return Err(ApiError::not_found("listId and segmentationFieldGroupId"));
    }
    if list.fields.values().any(|f| same_name(&f.name, &name)) {
        return Err(ApiError::invalid("segmentationFieldName"));
    }
    let max_length = u32::try_from(max_length).map_err(|_| ApiError::invalid("maxLength"))?;
    list.fields.insert(
        id,
        Field {
            id,
            group_id,
            name,
            data_type,
            max_length,
            position,
        },
    );
    Ok(created(id))
}
