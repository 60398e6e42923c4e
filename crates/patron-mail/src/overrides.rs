//! A program's template overrides, stored as JSON by the settings API, and their validation on save: each
//! override must compile and render against realistic sample fields, or it is refused with the event, the part,
//! the line and the reason.

use crate::fields::sample_fields;
use crate::language::language_code;
use crate::render::{MailContext, override_name, render_override, template_context, tidy};
use crate::templates::{DEFAULT_LANGUAGE, Part};
use patron_domain::catalog::EventKind;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// Longest template source accepted for one part.
pub const MAX_TEMPLATE_BYTES: usize = 100_000;

/// Overrides by exact event name (`"Points Earned"`), e.g.
/// `{"Points Earned": {"subject": "…", "languages": {"es": {"subject": "…"}}}}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TemplateOverrides {
    events: BTreeMap<String, EventOverride>,
}

/// One event's overrides: language-neutral parts, and parts per language (`"es"`, `"Spanish"`…).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventOverride {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub languages: BTreeMap<String, PartOverrides>,
}

/// The parts overridden for one language.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartOverrides {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

impl PartOverrides {
    pub fn get(&self, part: Part) -> Option<&str> {
        match part {
            Part::Subject => self.subject.as_deref(),
            Part::Html => self.html.as_deref(),
            Part::Text => self.text.as_deref(),
        }
    }

    fn slot(&mut self, part: Part) -> &mut Option<String> {
        match part {
            Part::Subject => &mut self.subject,
            Part::Html => &mut self.html,
            Part::Text => &mut self.text,
        }
    }

    fn is_empty(&self) -> bool {
        Part::ALL.iter().all(|part| self.get(*part).is_none())
    }
}

impl EventOverride {
    fn base(&self) -> PartOverrides {
        PartOverrides {
            subject: self.subject.clone(),
            html: self.html.clone(),
            text: self.text.clone(),
        }
    }

    fn base_get(&self, part: Part) -> Option<&str> {
        match part {
            Part::Subject => self.subject.as_deref(),
            Part::Html => self.html.as_deref(),
            Part::Text => self.text.as_deref(),
        }
    }

    fn in_language(&self, code: &str) -> Option<&PartOverrides> {
        self.languages
            .iter()
            .find(|(key, _)| language_code(key).as_deref() == Some(code))
            .map(|(_, parts)| parts)
    }
}

impl TemplateOverrides {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// The override source of a part: language-neutral with `None`, else only that language's own override.
    pub fn get(&self, event: EventKind, language: Option<&str>, part: Part) -> Option<&str> {
        let overrides = self.events.get(event.name())?;
        match language {
            None => overrides.base_get(part),
            Some(language) => {
                let code = language_code(language)?;
                overrides.in_language(&code)?.get(part)
            }
        }
    }

    /// Sets a part's override (`language: None` for the language-neutral one).
    pub fn set(
        &mut self,
        event: EventKind,
        language: Option<&str>,
        part: Part,
        source: impl Into<String>,
    ) {
        let overrides = self.events.entry(event.name().to_owned()).or_default();
        let source = Some(source.into());
        match language {
            None => match part {
                Part::Subject => overrides.subject = source,
                Part::Html => overrides.html = source,
                Part::Text => overrides.text = source,
            },
            Some(language) => {
                *overrides
                    .languages
                    .entry(language.to_owned())
                    .or_default()
                    .slot(part) = source
            }
        }
    }

    /// Removes a part's override, and the event's entry once nothing is left in it.
    pub fn remove(&mut self, event: EventKind, language: Option<&str>, part: Part) {
        let Some(overrides) = self.events.get_mut(event.name()) else {
            return;
        };
        match language {
            None => match part {
                Part::Subject => overrides.subject = None,
                Part::Html => overrides.html = None,
                Part::Text => overrides.text = None,
            },
            Some(language) => {
                if let Some(parts) = overrides.languages.get_mut(language) {
                    *parts.slot(part) = None;
                    if parts.is_empty() {
                        overrides.languages.remove(language);
                    }
                }
            }
        }
        if overrides.base().is_empty() && overrides.languages.is_empty() {
            self.events.remove(event.name());
        }
    }

    /// Overrides by event name as stored, including names validation would refuse.
    pub fn events(&self) -> impl Iterator<Item = (&str, &EventOverride)> {
        self.events
            .iter()
            .map(|(name, overrides)| (name.as_str(), overrides))
    }

    pub(crate) fn has_language(&self, event: EventKind, code: &str) -> bool {
        self.events
            .get(event.name())
            .and_then(|overrides| overrides.in_language(code))
            .is_some()
    }
}

/// Why an override was refused: which event, language and part, on which line, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TemplateProblem {
    /// The event name as given in the overrides.
    pub event: String,
    /// The language key as given, for language-specific overrides.
    pub language: Option<String>,
    pub part: Option<Part>,
    /// 1-based line in the override's source, when the problem is on a line of it.
    pub line: Option<usize>,
    pub reason: String,
}

impl TemplateProblem {
    /// The JSON path of the offending value inside the overrides, e.g. `Points Earned.languages.es.html`.
    pub fn path(&self) -> String {
        let mut path = self.event.clone();
        if let Some(language) = &self.language {
            path.push_str(".languages.");
            path.push_str(language);
        }
        if let Some(part) = self.part {
            path.push('.');
            path.push_str(part.as_str());
        }
        path
    }
}

impl fmt::Display for TemplateProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.event)?;
        if let Some(part) = self.part {
            write!(f, ", {part}")?;
        }
        if let Some(language) = &self.language {
            write!(f, " ({language})")?;
        }
        if let Some(line) = self.line {
            write!(f, ", line {line}")?;
        }
        write!(f, ": {}", self.reason)
    }
}

/// Checks every override: a known event, a recognisable language, and each part compiling and rendering
/// against [`crate::sample_fields`] (undefined variables are errors) to something non-empty.
pub fn validate_overrides(overrides: &TemplateOverrides) -> Result<(), Vec<TemplateProblem>> {
    let mut problems = Vec::new();
    for (name, event_override) in overrides.events() {
        let problem =
            |language: Option<&str>, part: Option<Part>, line, reason: String| TemplateProblem {
                event: name.to_owned(),
                language: language.map(str::to_owned),
                part,
                line,
                reason,
            };
        let Some(event) = EventKind::from_name(name) else {
            let known: Vec<&str> = EventKind::ALL.iter().map(|e| e.name()).collect();
            let reason = format!("unknown event; expected one of: {}", known.join(", "));
            problems.push(problem(None, None, None, reason));
            continue;
        };
        let mut sets = vec![(None, DEFAULT_LANGUAGE.to_owned(), event_override.base())];
        for (key, parts) in &event_override.languages {
            match language_code(key) {
                Some(code) => sets.push((Some(key.as_str()), code, parts.clone())),
                None => problems.push(problem(
                    Some(key),
                    None,
                    None,
                    "unrecognised language: use a language name (Spanish) or code (es)".to_owned(),
                )),
            }
        }
        for (key, code, parts) in sets {
            for part in Part::ALL {
                let Some(source) = parts.get(part) else {
                    continue;
                };
                if let Err((line, reason)) = check_part(event, &code, part, source) {
                    problems.push(problem(key, Some(part), line, reason));
                }
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

fn check_part(
    event: EventKind,
    language: &str,
    part: Part,
    source: &str,
) -> Result<(), (Option<usize>, String)> {
    if source.len() > MAX_TEMPLATE_BYTES {
        return Err((None, format!("longer than {MAX_TEMPLATE_BYTES} bytes")));
    }
    let ctx = MailContext {
        program_name: "Acme Rewards".to_owned(),
        unsubscribe_url: Some("https://shop.example.com/unsubscribe/sample".to_owned()),
    };
    let context = template_context(event, language, &sample_fields(event), &ctx);
    let name = override_name(language, event, part);
    match render_override(&name, source, &context) {
        Ok(output) if tidy(part, &output).is_some() => Ok(()),
        Ok(_) => Err((None, "renders to nothing".to_owned())),
        Err(err) => Err(describe(&name, &err)),
    }
}

/// The line (when it is in the override itself) and a reason without minijinja's internal template names.
fn describe(name: &str, err: &minijinja::Error) -> (Option<usize>, String) {
    let mut reason = match err.detail() {
        None if err.kind() == minijinja::ErrorKind::OutOfFuel => {
            "the template does too much work (a loop that is too long?)".to_owned()
        }
        Some(detail) => format!("{}: {detail}", err.kind()),
        None => err.kind().to_string(),
    };
    let in_override = err.name().is_none_or(|n| n == name);
    if !in_override && let Some(other) = err.name() {
        reason.push_str(&format!(
            " (in {other}, line {})",
            err.line().unwrap_or_default()
        ));
    }
    (err.line().filter(|_| in_override), reason)
}
