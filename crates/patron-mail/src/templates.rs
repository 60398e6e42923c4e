//! The default templates, embedded in the binary: `templates/<lang>/<event-slug>.{subject,html,txt}`, plus
//! each language's `layout.html`/`layout.txt` and the shared `shell.html` and `components.html` macros.

use patron_domain::catalog::EventKind;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::fmt;

/// The language every event has a template in, and the fallback for all others.
pub const DEFAULT_LANGUAGE: &str = "en";

/// One of the three parts of an email.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Part {
    Subject,
    Html,
    Text,
}

impl Part {
    pub const ALL: [Part; 3] = [Part::Subject, Part::Html, Part::Text];

    /// The name used in overrides and problems: `subject`, `html` or `text`.
    pub fn as_str(self) -> &'static str {
        match self {
            Part::Subject => "subject",
            Part::Html => "html",
            Part::Text => "text",
        }
    }

    /// The template file extension; it also decides auto-escaping (only `.html` escapes).
    pub(crate) fn extension(self) -> &'static str {
        match self {
            Part::Subject => "subject",
            Part::Html => "html",
            Part::Text => "txt",
        }
    }
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The file stem of an event's templates: `Points Earned` → `points-earned`.
pub(crate) fn slug(event: EventKind) -> String {
    let mut out = String::new();
    for word in event.name().split(|c: char| !c.is_ascii_alphanumeric()) {
        if word.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push('-');
        }
        out.push_str(&word.to_ascii_lowercase());
    }
    out
}

/// The template name of a part of an event's default template in a language.
pub(crate) fn default_name(language: &str, event: EventKind, part: Part) -> String {
    format!("{language}/{}.{}", slug(event), part.extension())
}

macro_rules! embed {
    ($name:expr) => {
        ($name, include_str!(concat!("../templates/", $name)))
    };
}

macro_rules! embed_language {
    ($lang:literal: $($slug:literal),* $(,)?) => {
        &[
            embed!(concat!($lang, "/layout.html")),
            embed!(concat!($lang, "/layout.txt")),
            $(
                embed!(concat!($lang, "/", $slug, ".subject")),
                embed!(concat!($lang, "/", $slug, ".html")),
                embed!(concat!($lang, "/", $slug, ".txt")),
            )*
        ]
    };
}

macro_rules! embed_events {
    ($lang:literal) => {
        embed_language!($lang:
            "points-earned",
            "points-expiration",
            "winback-award",
            "tier-upgrade",
            "default-coupon-reward",
            "eligible-rewards",
            "referral-friend-invitation",
            "referred-friend-incentive",
            "not-eligible-for-referred-friend-incentive",
            "referral-coupon-award",
        )
    };
}

type Embedded = &'static [(&'static str, &'static str)];

static SHARED: Embedded = &[embed!("shell.html"), embed!("components.html")];
static LANGUAGES: [(&str, Embedded); 2] =
    [("en", embed_events!("en")), ("es", embed_events!("es"))];

/// The languages Patron ships default templates in.
pub fn shipped_languages() -> impl Iterator<Item = &'static str> {
    LANGUAGES.iter().map(|(code, _)| *code)
}

/// The source of an embedded template by name (`es/points-earned.html`, `shell.html`, …).
pub(crate) fn default_source(name: &str) -> Option<&'static str> {
    SHARED
        .iter()
        .chain(LANGUAGES.iter().flat_map(|(_, templates)| templates.iter()))
        .find(|(candidate, _)| *candidate == name)
        .map(|(_, source)| *source)
}

/// Resolves `{% extends "layout.html" %}` and friends relative to the including template's language
/// (`es/points-earned.html` → `es/layout.html`), falling back to English, then to the shared templates.
pub(crate) fn join_path<'s>(name: &'s str, parent: &'s str) -> Cow<'s, str> {
    if name.contains('/') {
        return Cow::Borrowed(name);
    }
    let language = parent
        .split_once('/')
        .map_or(DEFAULT_LANGUAGE, |(lang, _)| lang);
    for candidate in [language, DEFAULT_LANGUAGE] {
        let joined = format!("{candidate}/{name}");
        if default_source(&joined).is_some() {
            return Cow::Owned(joined);
        }
    }
    Cow::Borrowed(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_has_a_default_template_in_every_shipped_language() {
        for language in shipped_languages() {
            for event in EventKind::ALL {
                for part in Part::ALL {
                    let name = default_name(language, event, part);
                    assert!(default_source(&name).is_some(), "missing {name}");
                }
            }
        }
    }

    #[test]
    fn every_template_file_is_embedded() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        let mut stack = vec![root.clone()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).expect("templates dir") {
                let path = entry.expect("dir entry").path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                let rel = path
                    .strip_prefix(&root)
                    .expect("under root")
                    .to_string_lossy()
                    .replace('\\', "/");
                assert!(default_source(&rel).is_some(), "{rel} is not embedded");
            }
        }
    }

    #[test]
    fn relative_names_resolve_in_the_parents_language_then_english() {
        assert_eq!(
            join_path("layout.html", "es/points-earned.html"),
            "es/layout.html"
        );
        assert_eq!(
            join_path("layout.html", "de/override/points-earned.html"),
            "en/layout.html"
        );
        assert_eq!(join_path("shell.html", "es/layout.html"), "shell.html");
        assert_eq!(join_path("en/layout.txt", "es/x.txt"), "en/layout.txt");
    }

    #[test]
    fn slugs_are_kebab_case_event_names() {
        assert_eq!(
            slug(EventKind::NotEligibleForReferredFriendIncentive),
            "not-eligible-for-referred-friend-incentive"
        );
    }
}
