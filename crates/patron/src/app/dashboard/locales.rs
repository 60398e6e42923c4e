//! The dashboard's words in each language: English and Spanish built in, more (or replacements)
//! dropped into `<locales_dir>/dashboard/<language>.json` and read at start. A member sees the
//! language of their Preferred Language (mapped as native mail maps it), English for any missing key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub type Messages = BTreeMap<String, String>;

pub const FALLBACK: &str = "en";

const BUILT_IN: &[(&str, &str)] = &[
    ("en", include_str!("../../../locales/dashboard/en.json")),
    ("es", include_str!("../../../locales/dashboard/es.json")),
];

#[derive(Debug, thiserror::Error)]
pub enum LocaleError {
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: not a JSON object of text by key: {source}", path.display())]
    Parse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{}: name translation files by language code, like fr.json or pt.json", path.display())]
    Name { path: PathBuf },
    #[error("{}: `{key}` uses {{{placeholder}}}, which the English text does not have", path.display())]
    Placeholder {
        path: PathBuf,
        key: String,
        placeholder: String,
    },
}

#[derive(Debug, Clone)]
pub struct Translations {
    by_language: BTreeMap<String, Messages>,
}

/// The `{name}` placeholders of a text.
fn placeholders(text: &str) -> impl Iterator<Item = &str> {
    text.split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
        .filter(|name| {
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
}

impl Translations {
    /// English and Spanish, as shipped.
    pub fn built_in() -> Translations {
        let by_language = BUILT_IN
            .iter()
            .map(|(code, text)| {
                let messages: Messages = serde_json::from_str(text).unwrap_or_default();
                (code.to_string(), messages)
            })
            .collect();
        Translations { by_language }
    }

    /// Adds the files of `<dir>/dashboard/` (a missing folder adds nothing); a file for a language
    /// already known replaces the keys it has.
    pub fn with_folder(mut self, dir: &Path) -> Result<Translations, LocaleError> {
        let folder = dir.join("dashboard");
        let entries = match std::fs::read_dir(&folder) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(self),
            Err(source) => {
                return Err(LocaleError::Read {
                    path: folder,
                    source,
                });
            }
        };
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        paths.sort();
        for path in paths {
            let code = path
                .file_stem()
                .and_then(|s| s.to_str())
                .map(str::to_ascii_lowercase)
                .filter(|c| {
                    (2..=3).contains(&c.len()) && c.chars().all(|ch| ch.is_ascii_lowercase())
                });
            let Some(code) = code else {
                return Err(LocaleError::Name { path });
            };
            let text = std::fs::read_to_string(&path).map_err(|source| LocaleError::Read {
                path: path.clone(),
                source,
            })?;
            let messages: Messages =
                serde_json::from_str(&text).map_err(|source| LocaleError::Parse {
                    path: path.clone(),
                    source,
                })?;
            self.check_placeholders(&path, &messages)?;
            self.by_language.entry(code).or_default().extend(messages);
        }
        Ok(self)
    }

    /// Every placeholder of a translation must be one the English text fills in.
    fn check_placeholders(&self, path: &Path, messages: &Messages) -> Result<(), LocaleError> {
        let english = self.by_language.get(FALLBACK);
        for (key, text) in messages {
            let Some(original) = english.and_then(|e| e.get(key)) else {
                continue;
            };
            if let Some(unknown) =
                placeholders(text).find(|p| !placeholders(original).any(|o| o == *p))
            {
                return Err(LocaleError::Placeholder {
                    path: path.to_path_buf(),
                    key: key.clone(),
                    placeholder: unknown.to_string(),
                });
            }
        }
        Ok(())
    }

    /// The language shown for a Preferred Language, and its words with English filling the gaps.
    pub fn for_member(&self, preferred_language: Option<&str>) -> (String, Messages) {
        let code = preferred_language
            .and_then(patron_mail::language_code)
            .filter(|code| self.by_language.contains_key(code))
            .unwrap_or_else(|| FALLBACK.to_string());
        let mut messages = self.by_language.get(FALLBACK).cloned().unwrap_or_default();
        if code != FALLBACK
            && let Some(own) = self.by_language.get(&code)
        {
            messages.extend(own.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        (code, messages)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_translations_have_every_english_key_and_only_its_placeholders() {
        let t = Translations::built_in();
        let english = &t.by_language[FALLBACK];
        assert!(english.len() > 30, "the English file parses");
        for (code, messages) in &t.by_language {
            let missing: Vec<&String> = english
                .keys()
                .filter(|k| !messages.contains_key(*k))
                .collect();
            assert!(missing.is_empty(), "{code} lacks {missing:?}");
            let extra: Vec<&String> = messages
                .keys()
                .filter(|k| !english.contains_key(*k))
                .collect();
            assert!(extra.is_empty(), "{code} has unknown keys {extra:?}");
            for (key, text) in messages {
                let mut theirs: Vec<&str> = placeholders(text).collect();
                let mut ours: Vec<&str> = placeholders(&english[key]).collect();
                theirs.sort();
                ours.sort();
                theirs.dedup();
                ours.dedup();
                assert_eq!(theirs, ours, "{code}: {key}");
            }
        }
    }

    #[test]
    fn preferred_languages_map_like_native_mail_and_fall_back_to_english() {
        let t = Translations::built_in();
        assert_eq!(t.for_member(Some("Spanish")).0, "es");
        assert_eq!(t.for_member(Some("es-MX")).0, "es");
        assert_eq!(t.for_member(Some("Klingon")).0, "en");
        assert_eq!(t.for_member(None).0, "en");
        let (_, spanish) = t.for_member(Some("Español"));
        assert_eq!(
            spanish.get("rewards.title").map(String::as_str),
            Some("Recompensas")
        );
    }

    #[test]
    fn a_dropped_in_file_adds_a_language_and_falls_back_per_key() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join("dashboard")).expect("folder");
        std::fs::write(
            dir.path().join("dashboard/fr.json"),
            r#"{"rewards.title": "Récompenses"}"#,
        )
        .expect("write");
        let t = Translations::built_in()
            .with_folder(dir.path())
            .expect("loads");
        let (code, french) = t.for_member(Some("French"));
        assert_eq!(code, "fr");
        assert_eq!(french["rewards.title"], "Récompenses");
        assert_eq!(
            french["referral.copy"],
            t.for_member(None).1["referral.copy"]
        );

        std::fs::write(
            dir.path().join("dashboard/de.json"),
            r#"{"balance.expiry": "{punkte} verfallen am {date}"}"#,
        )
        .expect("write");
        let err = Translations::built_in()
            .with_folder(dir.path())
            .expect_err("an unknown placeholder is refused");
        assert!(err.to_string().contains("{punkte}"), "{err}");
    }
}
