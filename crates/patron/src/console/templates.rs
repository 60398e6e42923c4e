//! `/admin/settings/templates`: the native mail templates of one event (subject, HTML, text), for every
//! language or one, with a preview of the saved templates or of an edit before it is saved.

use super::chrome;
use super::csrf::Posted;
use super::form::{FormData, plain};
use super::session::Console;
use super::view::{PageError, PageResult, Policy, encode_component, page as html, see_other};
use crate::app::settings::{PreviewAnswer, PreviewBody};
use crate::app::{App, AppError};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use minijinja::context;
use minijinja::value::Serde;
use patron_domain::EventKind;
use patron_mail::{Part, TemplateOverrides, event_fields, shipped_languages, variable_name};
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Deserialize)]
pub struct Choice {
    event: Option<String>,
    language: Option<String>,
    saved: Option<String>,
}

/// The event and language being edited: the first event and every language unless chosen.
struct Editing {
    event: EventKind,
    /// `None`: the templates for every language without its own.
    language: Option<String>,
}

fn choice(event: Option<&str>, language: Option<&str>) -> Editing {
    let event = event
        .and_then(EventKind::from_name)
        .unwrap_or(EventKind::ALL[0]);
    let language = language
        .map(str::trim)
        .filter(|l| shipped_languages().any(|s| s == *l))
        .map(str::to_string);
    Editing { event, language }
}

fn overrides_of(settings: &patron_domain::ProgramSettings) -> TemplateOverrides {
    serde_json::from_value(settings.mail.templates.clone()).unwrap_or_default()
}

struct Draft {
    values: BTreeMap<String, String>,
    errors: BTreeMap<String, String>,
    error: Option<String>,
    preview: Option<PreviewAnswer>,
}

async fn render(
    app: &App,
    console: &Console,
    status: StatusCode,
    editing: Editing,
    saved: bool,
    draft: Option<Draft>,
) -> PageResult {
    let Editing { event, language } = editing;
    let settings = app.store().settings(&console.program.id).await?;
    let draft = match draft {
        Some(d) => d,
        None => {
            let overrides = overrides_of(&settings);
            let values = Part::ALL
                .iter()
                .map(|p| {
                    let source = overrides
                        .get(event, language.as_deref(), *p)
                        .unwrap_or_default();
                    (p.as_str().to_string(), source.to_string())
                })
                .collect();
            let request = PreviewBody {
                event: event.name().to_string(),
                member: None,
                language: language.clone(),
            };
            let (preview, error) = match app.preview_mail(&console.program.id, &request, None).await
            {
                Ok(p) => (Some(p), None),
                Err(AppError::Invalid(problems)) => {
                    (None, problems.first().map(|p| plain(&p.message)))
                }
                Err(e) => return Err(e.into()),
            };
            Draft {
                values,
                errors: BTreeMap::new(),
                error,
                preview,
            }
        }
    };
    let variables: Vec<String> = event_fields(event)
        .into_iter()
        .map(variable_name)
        .chain(["program_name".to_string(), "unsubscribe_url".to_string()])
        .collect();
    let ctx = context! {
        event => event.name(),
        language => language,
        events => EventKind::ALL.iter().map(|e| e.name()).collect::<Vec<_>>(),
        languages => shipped_languages().collect::<Vec<_>>(),
        variables => variables,
        f => context! { values => draft.values, errors => draft.errors },
        error => draft.error,
        preview => Serde(&draft.preview),
        saved => saved,
        ..chrome(console, "settings")
    };
    Ok(html("templates.html", status, ctx, Policy::EmailPreview))
}

/// `GET /admin/settings/templates?event=&language=`.
pub async fn page(State(app): State<App>, console: Console, Query(q): Query<Choice>) -> PageResult {
    let editing = choice(q.event.as_deref(), q.language.as_deref());
    render(
        &app,
        &console,
        StatusCode::OK,
        editing,
        q.saved.is_some(),
        None,
    )
    .await
}

/// The program's overrides with this form's parts in place (an empty part falls back to Patron's own).
fn with_form(
    mut overrides: TemplateOverrides,
    event: EventKind,
    language: Option<&str>,
    form: &FormData,
) -> TemplateOverrides {
    for part in Part::ALL {
        let source = form.raw(part.as_str());
        if source.trim().is_empty() {
            overrides.remove(event, language, part);
        } else {
            overrides.set(event, language, part, source);
        }
    }
    overrides
}

fn part_values(form: &FormData) -> BTreeMap<String, String> {
    Part::ALL
        .iter()
        .map(|p| (p.as_str().to_string(), form.raw(p.as_str())))
        .collect()
}

/// `POST /admin/settings/templates/preview`: the email as the edit would render it, nothing saved.
pub async fn preview(State(app): State<App>, posted: Posted<Vec<(String, String)>>) -> PageResult {
    let console = posted.console;
    let form = FormData::new(posted.form);
    let editing = choice(Some(&form.text("event")), Some(&form.text("language")));
    let (event, language) = (editing.event, editing.language.as_deref());
    let settings = app.store().settings(&console.program.id).await?;
    let draft = with_form(overrides_of(&settings), event, language, &form);
    let request = PreviewBody {
        event: event.name().to_string(),
        member: None,
        language: language.map(str::to_string),
    };
    let mut errors = BTreeMap::new();
    if let Err(problems) = patron_mail::validate_overrides(&draft) {
        for p in problems {
            if let Some(part) = p.part {
                errors
                    .entry(part.as_str().to_string())
                    .or_insert_with(|| plain(&p.to_string()));
            }
        }
    }
    let (preview, error) = if errors.is_empty() {
        match app
            .preview_mail(&console.program.id, &request, Some(&draft))
            .await
        {
            Ok(p) => (Some(p), None),
            Err(AppError::Invalid(problems)) => (None, problems.first().map(|p| plain(&p.message))),
            Err(e) => return Err(e.into()),
        }
    } else {
        (
            None,
            Some("The preview needs the problems marked below fixed first.".to_string()),
        )
    };
    let status = if preview.is_some() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let draft = Draft {
        values: part_values(&form),
        errors,
        error,
        preview,
    };
    render(&app, &console, status, editing, false, Some(draft)).await
}

/// `POST /admin/settings/templates`: saves the parts of one event (and language); an empty part goes
/// back to Patron's built-in template.
pub async fn save(State(app): State<App>, posted: Posted<Vec<(String, String)>>) -> PageResult {
    let console = posted.console;
    let form = FormData::new(posted.form);
    let editing = choice(Some(&form.text("event")), Some(&form.text("language")));
    let (event, language) = (editing.event, editing.language.as_deref());
    let settings = app.store().settings(&console.program.id).await?;
    let overrides = with_form(overrides_of(&settings), event, language, &form);
    let mut mail = serde_json::to_value(&settings.mail)
        .map_err(|e| PageError::from(AppError::invalid("mail", e.to_string())))?;
    mail["templates"] = serde_json::to_value(&overrides)
        .map_err(|e| PageError::from(AppError::invalid("mail", e.to_string())))?;
    let mut sections = serde_json::Map::new();
    sections.insert("mail".into(), mail);
    match app.update_settings(&console.program.id, sections).await {
        Ok(_) => {
            let mut to = format!(
                "/admin/settings/templates?event={}&saved=1",
                encode_component(event.name())
            );
            if let Some(l) = language {
                to.push_str(&format!("&language={l}"));
            }
            Ok(see_other(&to))
        }
        Err(AppError::Invalid(problems)) => {
            let mut errors = BTreeMap::new();
            let mut error = None;
            for p in problems {
                let part = p.field.rsplit('.').next().unwrap_or_default();
                if Part::ALL.iter().any(|x| x.as_str() == part) {
                    errors
                        .entry(part.to_string())
                        .or_insert_with(|| plain(&p.message));
                } else {
                    error.get_or_insert_with(|| plain(&p.message));
                }
            }
            let draft = Draft {
                values: part_values(&form),
                errors,
                error: error.or(Some(
                    "Nothing was saved: fix the problems marked below.".into(),
                )),
                preview: None,
            };
            render(
                &app,
                &console,
                StatusCode::UNPROCESSABLE_ENTITY,
                editing,
                false,
                Some(draft),
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}
