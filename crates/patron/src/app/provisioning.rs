//! Provisioning as reconciliation: for one list name, find or create the list, one event group, the ten
//! events, one profile field group and every field of the catalog. Match by name, create only what is
//! missing, and when a create loses a race (`ERROR_INVALID_PARAMETER`), list again and adopt. Network
//! only: the caller stores the ids afterwards, outside any transaction.

use listrak::{
    BounceHandling, DataType, Error, EventStatus, ListrakClient, NewEvent, NewList,
    NewSegmentationField, NewSegmentationFieldGroup,
};
use patron_domain::EventKind;
use patron_domain::catalog::{FIELDS, FieldType};
use patron_store::ProvisionedList;
use std::collections::BTreeMap;

pub const EVENT_GROUP_NAME: &str = "Patron Loyalty Events";
pub const FIELD_GROUP_NAME: &str = "Patron Loyalty";

fn lost_race(e: &Error) -> bool {
    e.code() == Some("ERROR_INVALID_PARAMETER")
}

fn data_type(t: FieldType) -> DataType {
    match t {
        FieldType::Text => DataType::Text,
        FieldType::Numeric => DataType::Numeric,
        FieldType::Date => DataType::Date,
    }
}

/// Reconciles one list and everything Patron needs in it.
pub async fn reconcile_list(client: &ListrakClient, name: &str) -> Result<ProvisionedList, Error> {
    let list_id = match find_list(client, name).await? {
        Some(id) => id,
        None => {
            let new = NewList {
                list_name: name.to_string(),
                bounce_handling: BounceHandling::Standard,
                bounce_unsubscribe_count: 3,
            };
            match client.create_list(&new).await {
                Ok(id) => id,
                Err(e) if lost_race(&e) => find_list(client, name).await?.ok_or(e)?,
                Err(e) => return Err(e),
            }
        }
    };
    let event_group_id = match find_event_group(client, list_id).await? {
        Some(id) => id,
        None => match client.create_event_group(list_id, EVENT_GROUP_NAME).await {
            Ok(id) => id,
            Err(e) if lost_race(&e) => find_event_group(client, list_id).await?.ok_or(e)?,
            Err(e) => return Err(e),
        },
    };
    let event_ids = reconcile_events(client, list_id, event_group_id).await?;
    let field_group_id = match find_field_group(client, list_id).await? {
        Some(id) => id,
        None => {
            let new = NewSegmentationFieldGroup {
                segmentation_field_group_name: FIELD_GROUP_NAME.to_string(),
                position: 1,
            };
            match client.create_field_group(list_id, &new).await {
                Ok(id) => id,
                Err(e) if lost_race(&e) => find_field_group(client, list_id).await?.ok_or(e)?,
                Err(e) => return Err(e),
            }
        }
    };
    let field_ids = reconcile_fields(client, list_id, field_group_id).await?;
    Ok(ProvisionedList {
        name: name.to_string(),
        list_id: list_id.to_string(),
        event_group_id,
        field_group_id,
        event_ids,
        field_ids,
    })
}

async fn reconcile_events(
    client: &ListrakClient,
    list_id: i64,
    event_group_id: i64,
) -> Result<BTreeMap<String, i64>, Error> {
    let mut event_ids = BTreeMap::new();
    let mut known = client.events(list_id).await?;
    for kind in EventKind::ALL {
        let wanted = NewEvent {
            event_name: kind.name().to_string(),
            status: EventStatus::Active,
            event_group_id: Some(event_group_id),
        };
        let id = match known.iter().find(|e| e.event_name == kind.name()) {
            Some(e) => {
                if e.status == EventStatus::Blocked {
                    // A retired event would refuse every call raising it: bring it back.
                    client.update_event(list_id, e.event_id, &wanted).await?;
                }
                e.event_id
            }
            None => match client.create_event(list_id, &wanted).await {
                Ok(id) => id,
                Err(e) if lost_race(&e) => {
                    known = client.events(list_id).await?;
                    known
                        .iter()
                        .find(|k| k.event_name == kind.name())
                        .map(|k| k.event_id)
                        .ok_or(e)?
                }
                Err(e) => return Err(e),
            },
        };
        event_ids.insert(kind.name().to_string(), id);
    }
    Ok(event_ids)
}

async fn reconcile_fields(
    client: &ListrakClient,
    list_id: i64,
    field_group_id: i64,
) -> Result<BTreeMap<String, i64>, Error> {
    let mut known = all_fields(client, list_id).await?;
    let mut field_ids = BTreeMap::new();
    for (position, spec) in FIELDS.iter().enumerate() {
        let id = match known.get(spec.name) {
            Some(id) => *id,
            None => {
                let new = NewSegmentationField {
                    segmentation_field_name: spec.name.to_string(),
                    data_type: data_type(spec.data_type),
                    max_length: i64::from(spec.max_length),
                    position: position as i64 + 1,
                };
                match client.create_field(list_id, field_group_id, &new).await {
                    Ok(id) => id,
                    Err(e) if lost_race(&e) => {
                        known = all_fields(client, list_id).await?;
                        *known.get(spec.name).ok_or(e)?
                    }
                    Err(e) => return Err(e),
                }
            }
        };
        field_ids.insert(spec.name.to_string(), id);
    }
    Ok(field_ids)
}

async fn find_list(client: &ListrakClient, name: &str) -> Result<Option<i64>, Error> {
    Ok(client
        .lists()
        .await?
        .into_iter()
        .find(|l| l.list_name == name)
        .map(|l| l.list_id))
}

async fn find_event_group(client: &ListrakClient, list_id: i64) -> Result<Option<i64>, Error> {
    Ok(client
        .event_groups(list_id)
        .await?
        .into_iter()
        .find(|g| g.event_group_name == EVENT_GROUP_NAME)
        .map(|g| g.event_group_id))
}

async fn find_field_group(client: &ListrakClient, list_id: i64) -> Result<Option<i64>, Error> {
    Ok(client
        .field_groups(list_id)
        .await?
        .into_iter()
        .find(|g| g.segmentation_field_group_name == FIELD_GROUP_NAME)
        .map(|g| g.segmentation_field_group_id))
}

/// Every field of the list by name, whatever its group. A field of the same name in another group (made
/// by hand) is adopted: names are what marketers pick, so there must be one field per name.
async fn all_fields(client: &ListrakClient, list_id: i64) -> Result<BTreeMap<String, i64>, Error> {
    let mut by_name = BTreeMap::new();
    for g in client.field_groups(list_id).await? {
        for f in client
            .fields(list_id, g.segmentation_field_group_id)
            .await?
        {
            by_name
                .entry(f.segmentation_field_name)
                .or_insert(f.segmentation_field_id);
        }
    }
    Ok(by_name)
}
