//! Rendering a notification: picks each part's template (the program's override or Patron's default, in the
//! member's language when one exists), builds the template context from the Listrak fields, and tidies the
//! output (one-line subject, plain text without runs of blank lines).

use crate::fields::{event_fields, variable_name};
use crate::language::{Locale, language_code};
use crate::overrides::TemplateOverrides;
use crate::templates::{DEFAULT_LANGUAGE, Part, default_name, default_source, join_path, slug};
use minijinja::value::Value;
use minijinja::{AutoEscape, Environment, State, UndefinedBehavior};
use patron_domain::catalog::{EventKind, field};
use std::collections::BTreeMap;
use std::sync::LazyLock;

/// Upper bound on the work one template render may do, so a careless override cannot stall the worker.
const FUEL: u64 = 200_000;

/// What a template knows besides the notification's fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MailContext {
    /// The loyalty program's display name, e.g. `Acme Rewards`.
    pub program_name: String,
    /// The one-click unsubscribe link for this recipient, if the program has one.
    pub unsubscribe_url: Option<String>,
}

/// A rendered email, ready for [`crate::build_message`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedMail {
    /// One line, whitespace collapsed.
    pub subject: String,
    pub html: String,
    /// Ends with a newline.
    pub text: String,
    /// The language the templates were chosen for (`en`, `es`, …).
    pub language: String,
}

/// A template that could not be rendered. Overrides are validated on save, so at send time this means a bug
/// or fields that make a template fail; the delivery should be dead-lettered with this reason.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("the {part} template of {event} ({template}) did not render: {source}")]
    Template {
        event: EventKind,
        part: Part,
        template: String,
        #[source]
        source: minijinja::Error,
    },
    #[error("the {part} template of {event} rendered nothing")]
    Empty { event: EventKind, part: Part },
}

/// Renders real notifications: without debug info, which would copy the member's field values into error
/// messages and logs.
static ENVIRONMENT: LazyLock<Environment<'static>> = LazyLock::new(|| environment(false));
/// Validates overrides against sample fields: debug info names the undefined variable for the merchant.
static VALIDATION_ENVIRONMENT: LazyLock<Environment<'static>> = LazyLock::new(|| environment(true));

fn environment(debug: bool) -> Environment<'static> {
    let mut env = Environment::new();
    env.set_loader(|name| Ok(default_source(name)));
    env.set_path_join_callback(join_path);
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".html") {
            AutoEscape::Html
        } else {
            AutoEscape::None
        }
    });
    match minijinja::syntax::SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .build()
    {
        Ok(syntax) => env.set_syntax(syntax),
        Err(err) => {
            tracing::error!(error = %err, "default template syntax rejected; using minijinja's")
        }
    }
    env.set_fuel(Some(FUEL));
    env.set_debug(debug);
    env.set_formatter(|out, state, value| {
        if *state.auto_escape() == AutoEscape::Html
            && !value.is_safe()
            && let Some(text) = value.as_str()
        {
            return out
                .write_str(&escape_html(text))
                .map_err(minijinja::Error::from);
        }
        minijinja::escape_formatter(out, state, value)
    });
    env.add_filter("number", |state: &State, value: Value| {
        locale(state).number(&text_of(&value))
    });
    env.add_filter("points", |state: &State, value: Value| {
        locale(state).points(&text_of(&value))
    });
    env.add_filter("date", |state: &State, value: Value| {
        locale(state).date(&text_of(&value))
    });
    env
}

/// Like minijinja's HTML escaping but leaves `/` alone: `https:&#x2f;&#x2f;…` links are valid yet look
/// obfuscated to spam filters.
fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

fn locale(state: &State) -> &'static Locale {
    let code = state.lookup("language");
    Locale::for_code(
        code.as_ref()
            .and_then(Value::as_str)
            .unwrap_or(DEFAULT_LANGUAGE),
    )
}

fn text_of(value: &Value) -> String {
    value
        .as_str()
        .map_or_else(|| value.to_string(), str::to_owned)
}

/// Renders the email for `event` from the notification's `fields` (keyed by exact Listrak field names).
///
/// `language` is the member's `Preferred Language` (`Spanish`, `es`, `es-MX`…); `None` reads it from
/// `fields`. For each part, the first that exists wins: the program's override for that language, Patron's
/// default in that language, the program's language-neutral override, Patron's English default.
pub fn render(
    event: EventKind,
    language: Option<&str>,
    fields: &BTreeMap<String, String>,
    overrides: &TemplateOverrides,
    ctx: &MailContext,
) -> Result<RenderedMail, MailError> {
    let preferred = language.or_else(|| fields.get(field::PREFERRED_LANGUAGE).map(String::as_str));
    let language = effective_language(event, preferred, overrides);
    let context = template_context(event, &language, fields, ctx);
    let [subject, html, text] = Part::ALL.map(|part| {
        let output = render_part(event, part, &language, overrides, &context)?;
        tidy(part, &output).ok_or(MailError::Empty { event, part })
    });
    Ok(RenderedMail {
        subject: subject?,
        html: html?,
        text: text?,
        language,
    })
}

/// The member's language when Patron ships it or the program overrides this event in it; else English.
fn effective_language(
    event: EventKind,
    preferred: Option<&str>,
    overrides: &TemplateOverrides,
) -> String {
    let Some(code) = preferred.and_then(language_code) else {
        return DEFAULT_LANGUAGE.to_owned();
    };
    let shipped = crate::templates::shipped_languages().any(|l| l == code);
    if shipped || overrides.has_language(event, &code) {
        code
    } else {
        DEFAULT_LANGUAGE.to_owned()
    }
}

fn render_part(
    event: EventKind,
    part: Part,
    language: &str,
    overrides: &TemplateOverrides,
    context: &Value,
) -> Result<String, MailError> {
    let in_language = overrides.get(event, Some(language), part);
    let default_in_language = default_name(language, event, part);
    let source = match in_language {
        Some(source) => Some(source),
        None if language != DEFAULT_LANGUAGE && default_source(&default_in_language).is_some() => {
            None
        }
        None => overrides.get(event, None, part),
    };
    let result = match source {
        Some(source) => {
            let name = override_name(language, event, part);
            ENVIRONMENT
                .render_named_str(&name, source, context)
                .map_err(|source| (name, source))
        }
        None => {
            let name = if default_source(&default_in_language).is_some() {
                default_in_language
            } else {
                default_name(DEFAULT_LANGUAGE, event, part)
            };
            ENVIRONMENT
                .get_template(&name)
                .and_then(|template| template.render(context))
                .map_err(|source| (name, source))
        }
    };
    result.map_err(|(template, source)| MailError::Template {
        event,
        part,
        template,
        source,
    })
}

/// The template name an override renders under: its extension picks auto-escaping, its language prefix
/// makes `{% extends "layout.html" %}` find the right layout.
pub(crate) fn override_name(language: &str, event: EventKind, part: Part) -> String {
    format!("{language}/override/{}.{}", slug(event), part.extension())
}

/// Renders one override source against a context; used by validation.
pub(crate) fn render_override(
    name: &str,
    source: &str,
    context: &Value,
) -> Result<String, minijinja::Error> {
    VALIDATION_ENVIRONMENT.render_named_str(name, source, context)
}

/// The variables a template sees: each field by snake_case name and under `fields["Exact Name"]`, every field
/// the event may carry defined (empty when absent), plus `program_name`, `unsubscribe_url`, `event`,
/// `language` and `first_name`.
pub(crate) fn template_context(
    event: EventKind,
    language: &str,
    fields: &BTreeMap<String, String>,
    ctx: &MailContext,
) -> Value {
    let mut all_fields: BTreeMap<String, String> = event_fields(event)
        .into_iter()
        .map(|name| (name.to_owned(), String::new()))
        .collect();
    all_fields.extend(fields.iter().map(|(k, v)| (k.clone(), v.clone())));

    let mut vars: BTreeMap<String, Value> = all_fields
        .iter()
        .map(|(name, value)| (variable_name(name), Value::from(value.as_str())))
        .filter(|(var, _)| !var.is_empty())
        .collect();
    let first_name = all_fields
        .get(field::USER_NAME)
        .and_then(|name| name.split_whitespace().next())
        .unwrap_or_default()
        .to_owned();
    vars.insert("first_name".into(), Value::from(first_name));
    vars.insert("fields".into(), Value::from(all_fields));
    vars.insert(
        "program_name".into(),
        Value::from(ctx.program_name.as_str()),
    );
    let unsubscribe = ctx.unsubscribe_url.as_deref().unwrap_or_default();
    vars.insert("unsubscribe_url".into(), Value::from(unsubscribe));
    vars.insert("event".into(), Value::from(event.name()));
    vars.insert("language".into(), Value::from(language));
    Value::from(vars)
}

/// Normalises a rendered part; `None` when nothing is left.
pub(crate) fn tidy(part: Part, output: &str) -> Option<String> {
    let tidied = match part {
        Part::Subject => output.split_whitespace().collect::<Vec<_>>().join(" "),
        Part::Html => output.trim().to_owned(),
        Part::Text => tidy_text(output),
    };
    (!tidied.trim().is_empty()).then_some(tidied)
}

fn tidy_text(output: &str) -> String {
    let mut out = String::with_capacity(output.len());
    let mut blank_run = 0;
    for line in output.trim().lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank_run += 1;
            if blank_run > 1 {
                continue;
            }
        } else {
            blank_run = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_keeps_single_blank_lines_and_ends_with_a_newline() {
        assert_eq!(tidy_text("\n\nHi  \n\n\n\nBye"), "Hi\n\nBye\n");
    }

    #[test]
    fn subjects_are_one_line() {
        assert_eq!(tidy(Part::Subject, " A\n  B ").as_deref(), Some("A B"));
        assert_eq!(tidy(Part::Subject, " \n "), None);
    }
}
