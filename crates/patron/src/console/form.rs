//! Console forms: fields are named by the JSON path of the setting they edit (`earning.signup.points`),
//! so a problem the domain reports for a path lands next to the field of that name. Reading typed
//! values collects plain-words problems instead of failing on the first.

use patron_domain::settings::FieldProblem;
use serde_json::Value;
use std::collections::BTreeMap;

/// A posted form as name/value pairs, in order (a name repeats for checkbox groups).
#[derive(Debug, Default, Clone)]
pub struct FormData {
    pairs: Vec<(String, String)>,
    pub problems: BTreeMap<String, String>,
}

impl FormData {
    pub fn new(pairs: Vec<(String, String)>) -> FormData {
        FormData {
            pairs,
            problems: BTreeMap::new(),
        }
    }

    /// The first value of a field, trimmed ("" when absent).
    pub fn text(&self, name: &str) -> String {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    }

    /// The first value of a field, untrimmed (for template sources).
    pub fn raw(&self, name: &str) -> String {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.replace("\r\n", "\n"))
            .unwrap_or_default()
    }

    pub fn has(&self, name: &str) -> bool {
        self.pairs.iter().any(|(k, _)| k == name)
    }

    /// Every value of a checkbox group.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_string())
            .collect()
    }

    pub fn checked(&self, name: &str) -> bool {
        self.has(name)
    }

    pub fn problem(&mut self, name: &str, message: impl Into<String>) {
        self.problems
            .entry(name.to_string())
            .or_insert_with(|| message.into());
    }

    /// A whole number; a problem when missing or not a number.
    pub fn int(&mut self, name: &str) -> i64 {
        let text = self.text(name);
        match text.replace([',', '_'], "").parse::<i64>() {
            Ok(n) => n,
            Err(_) => {
                self.problem(name, "Enter a whole number, like 100.");
                0
            }
        }
    }

    /// A whole number, or `None` when left empty.
    pub fn optional_int(&mut self, name: &str) -> Option<i64> {
        if self.text(name).is_empty() {
            None
        } else {
            Some(self.int(name))
        }
    }

    /// A count such as a number of days: a whole number, 0 or more.
    pub fn count(&mut self, name: &str) -> u32 {
        match self.text(name).replace([',', '_'], "").parse::<u32>() {
            Ok(n) => n,
            Err(_) => {
                self.problem(name, "Enter a whole number, 0 or more, like 30.");
                0
            }
        }
    }

    /// A count, or `None` when left empty.
    pub fn optional_count(&mut self, name: &str) -> Option<u32> {
        if self.text(name).is_empty() {
            None
        } else {
            Some(self.count(name))
        }
    }

    /// A decimal number such as `0.5`.
    pub fn number(&mut self, name: &str) -> f64 {
        match self.text(name).replace([',', '_'], "").parse::<f64>() {
            Ok(n) if n.is_finite() => n,
            _ => {
                self.problem(name, "Enter a number, like 1 or 0.5.");
                0.0
            }
        }
    }

    /// Counts separated by commas, like `30, 7`.
    pub fn count_list(&mut self, name: &str) -> Vec<u32> {
        let text = self.text(name);
        let mut out = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part.parse::<u32>() {
                Ok(n) => out.push(n),
                Err(_) => {
                    self.problem(name, "Enter whole numbers separated by commas, like 30, 7.");
                    return Vec::new();
                }
            }
        }
        out
    }

    pub fn is_valid(&self) -> bool {
        self.problems.is_empty()
    }

    /// What the form showed, to fill it in again after a problem: each field's first value, and each
    /// checkbox group's values.
    pub fn values(&self) -> (BTreeMap<String, String>, BTreeMap<String, Vec<String>>) {
        let mut values = BTreeMap::new();
        let mut lists: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (k, v) in &self.pairs {
            values.entry(k.clone()).or_insert_with(|| v.clone());
            lists.entry(k.clone()).or_default().push(v.clone());
        }
        (values, lists)
    }
}

/// A domain problem in the words a merchant reads next to the field.
pub fn plain(message: &str) -> String {
    let mut out = if message.starts_with("must") {
        format!("This {message}")
    } else {
        let mut chars = message.chars();
        match chars.next() {
            Some(first) => first.to_uppercase().chain(chars).collect(),
            None => String::new(),
        }
    };
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}

/// Problems by field path, in plain words.
pub fn by_field(problems: &[FieldProblem]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for p in problems {
        out.entry(p.field.clone())
            .or_insert_with(|| plain(&p.message));
    }
    out
}

/// Settings as form values: each scalar by its path (`tiers.levels[0].name`), lists of scalars joined
/// with `, ` (and also kept whole in `lists`, for checkbox groups).
pub fn flatten(
    value: &Value,
    path: &str,
    values: &mut BTreeMap<String, String>,
    lists: &mut BTreeMap<String, Vec<String>>,
) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                flatten(v, &p, values, lists);
            }
        }
        Value::Array(items) if items.iter().all(|i| !i.is_object() && !i.is_array()) => {
            let texts: Vec<String> = items.iter().map(scalar).collect();
            values.insert(path.to_string(), texts.join(", "));
            lists.insert(path.to_string(), texts);
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                flatten(v, &format!("{path}[{i}]"), values, lists);
            }
        }
        other => {
            values.insert(path.to_string(), scalar(other));
        }
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_read_with_problems_named_by_field() {
        let mut form = FormData::new(vec![
            ("a".into(), " 1,000 ".into()),
            ("b".into(), "ten".into()),
            ("c".into(), "30, 7".into()),
        ]);
        assert_eq!(form.int("a"), 1000);
        assert_eq!(form.int("b"), 0);
        assert_eq!(form.count_list("c"), vec![30, 7]);
        assert_eq!(form.optional_int("missing"), None);
        assert_eq!(
            form.problems.get("b").map(String::as_str),
            Some("Enter a whole number, like 100.")
        );
    }

    #[test]
    fn settings_flatten_to_paths() {
        let mut values = BTreeMap::new();
        let mut lists = BTreeMap::new();
        let json = serde_json::json!({"tiers": {"levels": [{"name": "Gold", "threshold": 5}],
            "qualifying": ["signup", "purchase"], "window_days": null}, "rate": 1.0});
        flatten(&json, "", &mut values, &mut lists);
        assert_eq!(values["tiers.levels[0].name"], "Gold");
        assert_eq!(values["tiers.qualifying"], "signup, purchase");
        assert_eq!(values["tiers.window_days"], "");
        assert_eq!(values["rate"], "1");
        assert_eq!(lists["tiers.qualifying"], vec!["signup", "purchase"]);
    }

    #[test]
    fn domain_messages_read_as_sentences() {
        assert_eq!(plain("must be at least 1"), "This must be at least 1.");
        assert_eq!(
            plain("unknown activity type `x`"),
            "Unknown activity type `x`."
        );
    }
}
