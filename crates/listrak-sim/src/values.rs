//! Profile field values: a compact per-contact store (one allocation per contact, so a million imported
//! members stay affordable), the update strategies (`Update`/`Append`/`Overwrite`) and Listrak's value
//! formats (Date `MM/DD/YYYY`, Numeric with up to two decimals, CheckBox `on`/`off`, `maxLength`).

use chrono::NaiveDate;

use crate::state::{DataType, Field};

/// Field id → value pairs, encoded as `[id: u32 LE][len: u32 LE][utf-8 bytes]…`, ascending by id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldValues {
    buf: Box<[u8]>,
}

/// How submitted values combine with stored ones (Listrak's `updateType` / `segmentationImportType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateType {
    /// Submitted fields replace their stored value; others are kept.
    Update,
    /// Submitted fields only fill fields that are empty (our reading of "append"; Listrak does not say more).
    Append,
    /// Every stored value is cleared, then the submitted ones are stored.
    Overwrite,
}

impl UpdateType {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "Update" => Some(Self::Update),
            "Append" => Some(Self::Append),
            "Overwrite" => Some(Self::Overwrite),
            _ => None,
        }
    }
}

impl FieldValues {
    pub fn iter(&self) -> impl Iterator<Item = (u32, &str)> {
        let mut rest: &[u8] = &self.buf;
        std::iter::from_fn(move || {
            if rest.len() < 8 {
                return None;
            }
            let id = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]);
            let len = u32::from_le_bytes([rest[4], rest[5], rest[6], rest[7]]) as usize;
            let end = (8 + len).min(rest.len());
            // Written only by `from_sorted`, which copies whole `&str`s: always valid UTF-8.
            let value = std::str::from_utf8(&rest[8..end]).unwrap_or("");
            rest = &rest[end..];
            Some((id, value))
        })
    }

    pub fn get(&self, id: u32) -> Option<&str> {
        self.iter().find(|(k, _)| *k == id).map(|(_, v)| v)
    }

    /// Combines `incoming` (already validated) into the stored values. Empty strings clear a value.
    pub fn apply(&mut self, incoming: &[(u32, String)], how: UpdateType) {
        if incoming.is_empty() && how != UpdateType::Overwrite {
            return;
        }
        let mut merged: Vec<(u32, String)> = match how {
            UpdateType::Overwrite => Vec::new(),
            _ => self.iter().map(|(k, v)| (k, v.to_owned())).collect(),
        };
        for (id, value) in incoming {
            match merged.iter_mut().find(|(k, _)| k == id) {
                Some(slot) if how == UpdateType::Append && !slot.1.is_empty() => {}
                Some(slot) => slot.1.clone_from(value),
                None => merged.push((*id, value.clone())),
            }
        }
        merged.retain(|(_, v)| !v.is_empty());
        merged.sort_by_key(|(k, _)| *k);
        *self = Self::from_sorted(&merged);
    }

    fn from_sorted(pairs: &[(u32, String)]) -> Self {
        let mut buf = Vec::with_capacity(pairs.iter().map(|(_, v)| 8 + v.len()).sum());
        for (id, value) in pairs {
            buf.extend_from_slice(&id.to_le_bytes());
            buf.extend_from_slice(&(value.len() as u32).to_le_bytes());
            buf.extend_from_slice(value.as_bytes());
        }
        Self {
            buf: buf.into_boxed_slice(),
        }
    }
}

/// Why a value does not fit its field.
pub fn check_value(field: &Field, value: &str) -> Result<(), String> {
    if value.chars().count() > field.max_length as usize {
        return Err(format!(
            "value of field {} is longer than its maxLength {}",
            field.id, field.max_length
        ));
    }
    if value.is_empty() {
        return Ok(());
    }
    match field.data_type {
        DataType::Date if parse_mdy(value).is_none() => Err(format!(
            "field {} is a Date field: MM/DD/YYYY expected, got {value:?}",
            field.id
        )),
        DataType::Numeric if !is_numeric(value) => Err(format!(
            "field {} is a Numeric field: digits with up to 2 decimals expected, got {value:?}",
            field.id
        )),
        DataType::CheckBox if value != "on" && value != "off" => Err(format!(
            "field {} is a CheckBox field: on or off expected, got {value:?}",
            field.id
        )),
        _ => Ok(()),
    }
}

/// `MM/DD/YYYY`, a real calendar date.
pub fn parse_mdy(value: &str) -> Option<NaiveDate> {
    let b = value.as_bytes();
    if b.len() != 10 || b[2] != b'/' || b[5] != b'/' {
        return None;
    }
    let digits = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = value.get(r)?;
        if part.bytes().all(|c| c.is_ascii_digit()) {
            part.parse().ok()
        } else {
            None
        }
    };
    let (m, d, y) = (digits(0..2)?, digits(3..5)?, digits(6..10)?);
    NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, m, d)
}

/// Digits, an optional leading minus, and at most two decimals; no separators.
pub fn is_numeric(value: &str) -> bool {
    let unsigned = value.strip_prefix('-').unwrap_or(value);
    let (int, frac) = match unsigned.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (unsigned, None),
    };
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    all_digits(int) && frac.is_none_or(|f| all_digits(f) && f.len() <= 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_and_merge_by_update_type() {
        let mut v = FieldValues::default();
        v.apply(&[(5, "b".into()), (2, "a".into())], UpdateType::Update);
        assert_eq!(v.iter().collect::<Vec<_>>(), vec![(2, "a"), (5, "b")]);
        v.apply(&[(2, "x".into()), (7, "c".into())], UpdateType::Append);
        assert_eq!(v.get(2), Some("a"));
        assert_eq!(v.get(7), Some("c"));
        v.apply(&[(5, String::new())], UpdateType::Update);
        assert_eq!(v.get(5), None);
        v.apply(&[(9, "z".into())], UpdateType::Overwrite);
        assert_eq!(v.iter().collect::<Vec<_>>(), vec![(9, "z")]);
    }

    #[test]
    fn dates_must_be_real_calendar_days_in_listrak_format() {
        assert!(parse_mdy("02/29/2024").is_some());
        assert!(parse_mdy("02/29/2023").is_none());
        assert!(parse_mdy("2024-02-01").is_none());
        assert!(parse_mdy("2/1/2024").is_none());
    }

    #[test]
    fn numbers_have_at_most_two_decimals_and_no_separators() {
        for ok in ["0", "12", "-3", "1.5", "10.25"] {
            assert!(is_numeric(ok), "{ok}");
        }
        for bad in ["", "1,000", "1.234", "abc", "1.", ".5", "1e3"] {
            assert!(!is_numeric(bad), "{bad}");
        }
    }
}
