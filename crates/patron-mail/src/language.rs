//! Languages: turning a member's `Preferred Language` ("Spanish", "es-MX", "Español") into a language code,
//! and the few locale conventions the template filters need (digit grouping, month names, "point(s)").

/// The language code (`en`, `es`, …) for a `Preferred Language` value: a name in English or in the language
/// itself, or a language tag. `None` when the value is empty or not recognisable.
pub fn language_code(preferred: &str) -> Option<String> {
    let lowered = preferred.trim().to_lowercase();
    if lowered.is_empty() {
        return None;
    }
    if let Some(code) = NAMES
        .iter()
        .find(|(_, names)| names.contains(&lowered.as_str()))
        .map(|(code, _)| *code)
    {
        return Some(code.to_owned());
    }
    // A language tag such as `es`, `es-MX` or `pt_BR`: keep the primary subtag.
    let primary = lowered.split(['-', '_']).next().unwrap_or_default();
    let is_tag =
        (2..=3).contains(&primary.len()) && primary.chars().all(|c| c.is_ascii_lowercase());
    is_tag.then(|| primary.to_owned())
}

const NAMES: &[(&str, &[&str])] = &[
    ("en", &["english", "eng"]),
    (
        "es",
        &["spanish", "español", "espanol", "castellano", "spa"],
    ),
    ("fr", &["french", "français", "francais", "fra", "fre"]),
    ("de", &["german", "deutsch", "deu", "ger"]),
    ("it", &["italian", "italiano", "ita"]),
    ("pt", &["portuguese", "português", "portugues", "por"]),
    ("nl", &["dutch", "nederlands", "nld", "dut"]),
];

/// Formatting conventions of one language; unknown languages format like English.
pub(crate) struct Locale {
    group_separator: char,
    months: [&'static str; 12],
    point: &'static str,
    points: &'static str,
    date_pattern: DatePattern,
}

enum DatePattern {
    /// `July 31, 2026`
    MonthDayYear,
    /// `31 de julio de 2026`
    DayDeMonthDeYear,
}

const ENGLISH: Locale = Locale {
    group_separator: ',',
    months: [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
    point: "point",
    points: "points",
    date_pattern: DatePattern::MonthDayYear,
};

const SPANISH: Locale = Locale {
    group_separator: '.',
    months: [
        "enero",
        "febrero",
        "marzo",
        "abril",
        "mayo",
        "junio",
        "julio",
        "agosto",
        "septiembre",
        "octubre",
        "noviembre",
        "diciembre",
    ],
    point: "punto",
    points: "puntos",
    date_pattern: DatePattern::DayDeMonthDeYear,
};

impl Locale {
    pub(crate) fn for_code(code: &str) -> &'static Locale {
        match code {
            "es" => &SPANISH,
            _ => &ENGLISH,
        }
    }

    /// Groups the digits of an integer (`1250` → `1,250`); anything else is returned unchanged.
    pub(crate) fn number(&self, value: &str) -> String {
        let trimmed = value.trim();
        let (sign, digits) = match trimmed.strip_prefix('-') {
            Some(rest) => ("-", rest),
            None => ("", trimmed),
        };
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return value.to_owned();
        }
        let mut out = String::with_capacity(trimmed.len() + digits.len() / 3);
        out.push_str(sign);
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                out.push(self.group_separator);
            }
            out.push(c);
        }
        out
    }

    /// `1` → `1 point`, `1250` → `1,250 points`; an empty value stays empty.
    pub(crate) fn points(&self, value: &str) -> String {
        let trimmed = value.trim();
        if trimmed.is_empty() {
            return String::new();
        }
        let unit = if trimmed == "1" || trimmed == "-1" {
            self.point
        } else {
            self.points
        };
        format!("{} {unit}", self.number(trimmed))
    }

    /// A Listrak date (`MM/DD/YYYY`) in words (`July 31, 2026`); anything else is returned unchanged.
    pub(crate) fn date(&self, value: &str) -> String {
        let Ok(date) = chrono::NaiveDate::parse_from_str(value.trim(), "%m/%d/%Y") else {
            return value.to_owned();
        };
        use chrono::Datelike;
        let month = self.months[date.month0() as usize];
        match self.date_pattern {
            DatePattern::MonthDayYear => format!("{month} {}, {}", date.day(), date.year()),
            DatePattern::DayDeMonthDeYear => {
                format!("{} de {month} de {}", date.day(), date.year())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preferred_language_names_and_tags_map_to_codes() {
        assert_eq!(language_code("Spanish").as_deref(), Some("es"));
        assert_eq!(language_code(" Español ").as_deref(), Some("es"));
        assert_eq!(language_code("es-MX").as_deref(), Some("es"));
        assert_eq!(language_code("English").as_deref(), Some("en"));
        assert_eq!(language_code("pt_BR").as_deref(), Some("pt"));
        assert_eq!(language_code(""), None);
        assert_eq!(language_code("Klingon"), None);
    }

    #[test]
    fn numbers_are_grouped_per_language() {
        assert_eq!(ENGLISH.number("1250"), "1,250");
        assert_eq!(ENGLISH.number("-1234567"), "-1,234,567");
        assert_eq!(ENGLISH.number("999"), "999");
        assert_eq!(SPANISH.number("1250"), "1.250");
        assert_eq!(ENGLISH.number("12.5"), "12.5");
    }

    #[test]
    fn points_agree_in_number() {
        assert_eq!(ENGLISH.points("1"), "1 point");
        assert_eq!(ENGLISH.points("1500"), "1,500 points");
        assert_eq!(SPANISH.points("200"), "200 puntos");
        assert_eq!(ENGLISH.points(""), "");
    }

    #[test]
    fn listrak_dates_read_as_words() {
        assert_eq!(ENGLISH.date("07/31/2026"), "July 31, 2026");
        assert_eq!(SPANISH.date("07/01/2026"), "1 de julio de 2026");
        assert_eq!(ENGLISH.date("soon"), "soon");
    }
}
