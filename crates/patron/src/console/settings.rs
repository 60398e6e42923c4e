//! `/admin/settings`: the program's earning rules (and returns policy), tiers, expiry, win-back,
//! referral, digest, the members' dashboard's store origins and sender, one form per section. Each form replaces its section through the same
//! use case as `PUT /v1/settings`; fields are named by their setting's path, so every problem shows next
//! to its field.

use super::chrome;
use super::csrf::{FIELD, Posted};
use super::form::{FormData, by_field, flatten};
use super::session::Console;
use super::view::{PageError, PageResult, Policy, page as html, see_other};
use crate::app::{App, AppError};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use minijinja::context;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// The forms of the page, by the name used in their URL and anchor.
const SECTIONS: [&str; 8] = [
    "earning",
    "tiers",
    "expiry",
    "winback",
    "referral",
    "digest",
    "dashboard",
    "mail",
];

/// Checkbox groups: absent from a post when nothing is ticked.
const CHECKBOX_GROUPS: [&str; 2] = ["tiers.qualifying", "expiry.keeps_active"];

/// Built-in activity types with fixed points, as the page names them.
const FIXED_TYPES: [(&str, &str); 4] = [
    ("signup", "Joining the program"),
    ("review", "Writing a review"),
    ("birthday", "Birthday"),
    ("referral_purchase", "A referred friend's first purchase"),
];

#[derive(Debug, Deserialize)]
pub struct SavedQuery {
    saved: Option<String>,
}

/// A section posted back with problems: its values as typed, and the problems by field.
struct Submitted {
    section: String,
    values: BTreeMap<String, String>,
    lists: BTreeMap<String, Vec<String>>,
    errors: BTreeMap<String, String>,
    /// Problems with no field of their own on the form.
    stray: Vec<String>,
}

fn rows(values: &BTreeMap<String, String>, prefix: &str) -> usize {
    values
        .keys()
        .filter_map(|k| k.strip_prefix(prefix))
        .filter_map(|rest| rest.split(']').next()?.parse::<usize>().ok())
        .max()
        .map_or(0, |i| i + 1)
}

async fn render(
    app: &App,
    console: &Console,
    status: StatusCode,
    saved: Option<String>,
    submitted: Option<Submitted>,
) -> PageResult {
    let settings = app.store().settings(&console.program.id).await?;
    let mut values = BTreeMap::new();
    let mut lists = BTreeMap::new();
    let mut json = serde_json::to_value(&settings)
        .map_err(|e| PageError::from(AppError::invalid("settings", e.to_string())))?;
    // Custom activity types are rows on the page.
    if let Some(custom) = json.pointer_mut("/earning/custom").map(Value::take)
        && let Value::Object(custom) = custom
    {
        for (i, (name, rule)) in custom.into_iter().enumerate() {
            values.insert(format!("earning.custom_rows[{i}].name"), name);
            let mut row = json!({});
            row["points"] = rule["points"].clone();
            row["display_name"] = rule["display_name"].clone();
            row["approval_days"] = rule["approval_days"].clone();
            flatten(
                &row,
                &format!("earning.custom_rows[{i}]"),
                &mut values,
                &mut lists,
            );
        }
    }
    if let Some(earning) = json.get_mut("earning").and_then(Value::as_object_mut) {
        earning.remove("custom");
    }
    flatten(&json, "", &mut values, &mut lists);
    let mut errors = BTreeMap::new();
    let mut failed = None;
    let mut stray = Vec::new();
    if let Some(sub) = submitted {
        let owned = |k: &String| {
            k.starts_with(&format!("{}.", sub.section))
                || (sub.section == "earning" && k.starts_with("returns."))
        };
        values.retain(|k, _| !owned(k));
        lists.retain(|k, _| !owned(k));
        for group in CHECKBOX_GROUPS {
            if owned(&group.to_string()) {
                lists.insert(
                    group.into(),
                    sub.lists.get(group).cloned().unwrap_or_default(),
                );
            }
        }
        values.extend(sub.values);
        errors = sub.errors;
        stray = sub.stray;
        failed = Some(sub.section);
    }
    let mut types: Vec<String> = [
        "signup",
        "purchase",
        "review",
        "birthday",
        "referral_purchase",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    types.extend(settings.earning.custom.keys().cloned());
    let ctx = context! {
        f => context! {
            values => values.clone(),
            lists => lists,
            errors => errors,
        },
        custom_rows => rows(&values, "earning.custom_rows[") + 1,
        level_rows => (rows(&values, "tiers.levels[") + 2).max(3),
        fixed_types => FIXED_TYPES.iter().map(|(k, label)| context! { key => *k, label => *label }).collect::<Vec<_>>(),
        activity_types => types,
        saved => saved.filter(|s| SECTIONS.contains(&s.as_str())),
        failed => failed,
        stray => stray,
        ..chrome(console, "settings")
    };
    Ok(html("settings.html", status, ctx, Policy::Strict))
}

/// `GET /admin/settings`.
pub async fn page(
    State(app): State<App>,
    console: Console,
    Query(q): Query<SavedQuery>,
) -> PageResult {
    render(&app, &console, StatusCode::OK, q.saved, None).await
}

/// Where a row of the page went in the settings, to put problems back on the right row.
#[derive(Default)]
struct RowMap {
    /// Custom type name → its row on the page.
    custom: Vec<(String, usize)>,
    /// Tier index in the settings → its row on the page.
    levels: Vec<usize>,
}

impl RowMap {
    /// The form field of a problem's settings path.
    fn field(&self, path: &str) -> String {
        for (name, row) in &self.custom {
            let prefix = format!("earning.custom.{name}");
            if path == prefix {
                return format!("earning.custom_rows[{row}].name");
            }
            if let Some(rest) = path.strip_prefix(&format!("{prefix}.")) {
                return format!("earning.custom_rows[{row}].{rest}");
            }
        }
        if let Some(rest) = path.strip_prefix("tiers.levels[")
            && let Some((index, tail)) = rest.split_once(']')
            && let Some(row) = index.parse::<usize>().ok().and_then(|i| self.levels.get(i))
        {
            return format!("tiers.levels[{row}]{tail}");
        }
        path.to_string()
    }
}

fn fixed(form: &mut FormData, path: &str) -> Value {
    json!({
        "points": form.int(&format!("{path}.points")),
        "display_name": form.text(&format!("{path}.display_name")),
        "approval_days": form
            .optional_count(&format!("{path}.approval_days"))
            .unwrap_or(0),
    })
}

/// The sections a form replaces, read from its fields.
fn sections(
    section: &str,
    form: &mut FormData,
    current: &patron_domain::ProgramSettings,
    rows: &mut RowMap,
) -> Map<String, Value> {
    let mut out = Map::new();
    match section {
        "earning" => {
            let mut earning = json!({
                "purchase": {
                    "points_per_unit": form.number("earning.purchase.points_per_unit"),
                    "display_name": form.text("earning.purchase.display_name"),
                    "approval_days": form.count("earning.purchase.approval_days"),
                    "rounding": form.text("earning.purchase.rounding"),
                },
            });
            for (key, _) in FIXED_TYPES {
                earning[key] = fixed(form, &format!("earning.{key}"));
            }
            let mut custom = Map::new();
            for i in 0.. {
                let path = format!("earning.custom_rows[{i}]");
                let name_field = format!("{path}.name");
                if !form.has(&name_field) {
                    break;
                }
                let name = form.text(&name_field);
                let blank = ["points", "display_name", "approval_days"]
                    .iter()
                    .all(|f| form.text(&format!("{path}.{f}")).is_empty());
                if name.is_empty() {
                    if !blank {
                        form.problem(
                            &name_field,
                            "Give this activity type a name, or clear the whole row to remove it.",
                        );
                    }
                    continue;
                }
                if custom.contains_key(&name) {
                    form.problem(
                        &name_field,
                        "Another row has this name: each activity type once.",
                    );
                    continue;
                }
                rows.custom.push((name.clone(), i));
                custom.insert(name, fixed(form, &path));
            }
            earning["custom"] = Value::Object(custom);
            out.insert("earning".into(), earning);
            out.insert(
                "returns".into(),
                json!({"policy": form.text("returns.policy")}),
            );
        }
        "tiers" => {
            let mut levels = Vec::new();
            for i in 0.. {
                let path = format!("tiers.levels[{i}]");
                if !form.has(&format!("{path}.name")) {
                    break;
                }
                let name = form.text(&format!("{path}.name"));
                if name.is_empty() && form.text(&format!("{path}.threshold")).is_empty() {
                    continue;
                }
                rows.levels.push(i);
                levels.push(
                    json!({"name": name, "threshold": form.int(&format!("{path}.threshold"))}),
                );
            }
            out.insert(
                "tiers".into(),
                json!({
                    "window_days": form.optional_count("tiers.window_days"),
                    "qualifying": form.all("tiers.qualifying"),
                    "levels": levels,
                }),
            );
        }
        "expiry" => {
            out.insert(
                "expiry".into(),
                json!({
                    "mode": form.text("expiry.mode"),
                    "days": form.count("expiry.days"),
                    "keeps_active": form.all("expiry.keeps_active"),
                    "reminder_days": form.count_list("expiry.reminder_days"),
                }),
            );
        }
        "winback" => {
            out.insert(
                "winback".into(),
                json!({
                    "enabled": form.checked("winback.enabled"),
                    "inactive_days": form.count("winback.inactive_days"),
                    "bonus_points": form.int("winback.bonus_points"),
                    "validity_days": form.count("winback.validity_days"),
                }),
            );
        }
        "referral" => {
            out.insert(
                "referral".into(),
                json!({
                    "base_url": form.text("referral.base_url"),
                    "friend_coupon": {"prefix": form.text("referral.friend_coupon.prefix")},
                    "referrer_coupon": {"prefix": form.text("referral.referrer_coupon.prefix")},
                    "min_purchase": form.number("referral.min_purchase"),
                    "claim_limit": form.optional_count("referral.claim_limit"),
                }),
            );
        }
        "digest" => {
            out.insert(
                "digest".into(),
                json!({"day_of_month": form.count("digest.day_of_month")}),
            );
        }
        "dashboard" => {
            let origins: Vec<String> = form
                .text("dashboard.allowed_origins")
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter(|o| !o.is_empty())
                .map(str::to_string)
                .collect();
            out.insert("dashboard".into(), json!({ "allowed_origins": origins }));
        }
        _ => {
            let reply_to = form.text("mail.reply_to");
            out.insert(
                "mail".into(),
                json!({
                    "from": form.text("mail.from"),
                    "reply_to": (!reply_to.is_empty()).then_some(reply_to),
                    "program_name": form.text("mail.program_name"),
                    "templates": current.mail.templates,
                }),
            );
        }
    }
    out
}

/// `POST /admin/settings/{section}`.
pub async fn save(
    State(app): State<App>,
    Path(section): Path<String>,
    posted: Posted<Vec<(String, String)>>,
) -> PageResult {
    let console = posted.console;
    if !SECTIONS.contains(&section.as_str()) {
        return Err(PageError::new(
            StatusCode::NOT_FOUND,
            "There is no such settings section. Go back to Settings.",
        ));
    }
    let mut form = FormData::new(
        posted
            .form
            .into_iter()
            .filter(|(k, _)| k != FIELD)
            .collect(),
    );
    let current = app.store().settings(&console.program.id).await?;
    let mut rows = RowMap::default();
    let changes = sections(&section, &mut form, &current, &mut rows);
    if form.is_valid() {
        match app.update_settings(&console.program.id, changes).await {
            Ok(_) => {
                return Ok(see_other(&format!(
                    "/admin/settings?saved={section}#{section}"
                )));
            }
            Err(AppError::Invalid(problems)) => {
                for (path, message) in by_field(&problems) {
                    form.problems.entry(rows.field(&path)).or_insert(message);
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    let (values, lists) = form.values();
    let known = |field: &str| {
        values.contains_key(field) || lists.contains_key(field) || CHECKBOX_GROUPS.contains(&field)
    };
    let mut errors = BTreeMap::new();
    let mut stray = Vec::new();
    for (field, message) in std::mem::take(&mut form.problems) {
        // A problem with one item of a list (`tiers.qualifying[2]`) belongs to the list's field.
        let field = match field.rsplit_once('[') {
            Some((list, _)) if !known(&field) && field.ends_with(']') => list.to_string(),
            _ => field,
        };
        if known(&field) {
            errors.entry(field).or_insert(message);
        } else {
            stray.push(message);
        }
    }
    let submitted = Submitted {
        section,
        values,
        lists,
        errors,
        stray,
    };
    render(
        &app,
        &console,
        StatusCode::UNPROCESSABLE_ENTITY,
        None,
        Some(submitted),
    )
    .await
}
