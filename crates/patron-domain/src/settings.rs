//! A program's settings: earning rules, returns, tiers, expiry, win-back, referral, digest and mail.
//! Every section has defaults; `validate` names each offending field by its JSON path.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct ProgramSettings {
    pub earning: EarningRules,
    pub returns: ReturnsSettings,
    pub tiers: TierSettings,
    pub expiry: ExpirySettings,
    pub winback: WinbackSettings,
    pub referral: ReferralSettings,
    pub digest: DigestSettings,
    pub mail: MailSettings,
    pub dashboard: DashboardSettings,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixedRule {
    pub points: i64,
    pub display_name: String,
    #[serde(default)]
    pub approval_days: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Rounding {
    #[default]
    Floor,
    Nearest,
    Ceil,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PurchaseRule {
    /// Points per currency unit; may be fractional (0.5 = one point per two units).
    pub points_per_unit: f64,
    pub display_name: String,
    #[serde(default)]
    pub approval_days: u32,
    #[serde(default)]
    pub rounding: Rounding,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EarningRules {
    pub signup: FixedRule,
    pub purchase: PurchaseRule,
    pub review: FixedRule,
    pub birthday: FixedRule,
    pub referral_purchase: FixedRule,
    pub custom: BTreeMap<String, FixedRule>,
}

impl Default for EarningRules {
    fn default() -> Self {
        let fixed = |points, name: &str| FixedRule {
            points,
            display_name: name.into(),
            approval_days: 0,
        };
        EarningRules {
            signup: fixed(100, "Joined the program"),
            purchase: PurchaseRule {
                points_per_unit: 1.0,
                display_name: "Made a purchase".into(),
                approval_days: 0,
                rounding: Rounding::Floor,
            },
            review: fixed(50, "Wrote a review"),
            birthday: fixed(100, "Happy birthday"),
            referral_purchase: fixed(0, "Referred a friend"),
            custom: BTreeMap::new(),
        }
    }
}

/// How an activity of a given type earns, resolved from the rules.
#[derive(Debug, Clone, PartialEq)]
pub enum EarningRule<'a> {
    Fixed(&'a FixedRule),
    Purchase(&'a PurchaseRule),
}

impl EarningRule<'_> {
    pub fn display_name(&self) -> &str {
        match self {
            EarningRule::Fixed(r) => &r.display_name,
            EarningRule::Purchase(r) => &r.display_name,
        }
    }
    pub fn approval_days(&self) -> u32 {
        match self {
            EarningRule::Fixed(r) => r.approval_days,
            EarningRule::Purchase(r) => r.approval_days,
        }
    }
}

impl EarningRules {
    pub fn rule(&self, activity_type: &str) -> Option<EarningRule<'_>> {
        match activity_type {
            "signup" => Some(EarningRule::Fixed(&self.signup)),
            "purchase" => Some(EarningRule::Purchase(&self.purchase)),
            "review" => Some(EarningRule::Fixed(&self.review)),
            "birthday" => Some(EarningRule::Fixed(&self.birthday)),
            "referral_purchase" => Some(EarningRule::Fixed(&self.referral_purchase)),
            other => self.custom.get(other).map(EarningRule::Fixed),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ReturnPolicy {
    /// The balance may go negative; later earnings repay it and redemption waits.
    #[default]
    Negative,
    /// Stop at zero and record the shortfall.
    Clamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct ReturnsSettings {
    pub policy: ReturnPolicy,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TierLevel {
    pub name: String,
    pub threshold: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TierSettings {
    /// `None` counts lifetime qualifying points; `Some(n)` the last n days.
    pub window_days: Option<u32>,
    pub qualifying: Vec<String>,
    pub levels: Vec<TierLevel>,
}

impl Default for TierSettings {
    fn default() -> Self {
        TierSettings {
            window_days: None,
            qualifying: vec!["signup".into(), "purchase".into()],
            levels: vec![],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ExpiryMode {
    #[default]
    Never,
    Inactivity,
    PerLot,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExpirySettings {
    pub mode: ExpiryMode,
    pub days: u32,
    pub keeps_active: Vec<String>,
    pub reminder_days: Vec<u32>,
}

impl Default for ExpirySettings {
    fn default() -> Self {
        ExpirySettings {
            mode: ExpiryMode::Never,
            days: 365,
            keeps_active: vec!["purchase".into()],
            reminder_days: vec![30, 7],
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WinbackSettings {
    pub enabled: bool,
    pub inactive_days: u32,
    pub bonus_points: i64,
    pub validity_days: u32,
}

impl Default for WinbackSettings {
    fn default() -> Self {
        WinbackSettings {
            enabled: false,
            inactive_days: 180,
            bonus_points: 200,
            validity_days: 30,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CouponSpec {
    pub prefix: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReferralSettings {
    pub base_url: String,
    pub friend_coupon: CouponSpec,
    pub referrer_coupon: CouponSpec,
    pub min_purchase: f64,
    /// Most eligible (coupon-earning) claims per referrer; `None` is unlimited.
    pub claim_limit: Option<u32>,
}

impl Default for ReferralSettings {
    fn default() -> Self {
        ReferralSettings {
            base_url: "https://shop.example.com/".into(),
            friend_coupon: CouponSpec {
                prefix: "FRIEND-".into(),
            },
            referrer_coupon: CouponSpec {
                prefix: "THANKS-".into(),
            },
            min_purchase: 0.0,
            claim_limit: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DigestSettings {
    pub day_of_month: u32,
}

impl Default for DigestSettings {
    fn default() -> Self {
        DigestSettings { day_of_month: 1 }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MailSettings {
    pub from: String,
    pub reply_to: Option<String>,
    pub program_name: String,
    /// Per-event template overrides, validated by the mail crate before they are stored.
    pub templates: serde_json::Value,
}

impl Default for MailSettings {
    fn default() -> Self {
        MailSettings {
            from: "Loyalty <loyalty@shop.example.com>".into(),
            reply_to: None,
            program_name: "Our rewards program".into(),
            templates: serde_json::Value::Object(Default::default()),
        }
    }
}

/// The members' dashboard: the store pages allowed to embed the widget (their browser origins,
/// `scheme://host[:port]`). Without any, only Patron's own hosted page can show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct DashboardSettings {
    pub allowed_origins: Vec<String>,
}

/// Most origins one program may allow.
pub const MAX_ALLOWED_ORIGINS: usize = 50;

/// A browser origin in the form browsers send it in `Origin` (lower case, no default port), or why
/// the text is not one. Only `http` and `https` origins, without path, query, fragment or user.
pub fn normalize_origin(raw: &str) -> Result<String, &'static str> {
    const SHAPE: &str = "must be an origin like https://shop.example.com or http://localhost:3000 \
                         (scheme, host and optional port; no path, not even a trailing slash)";
    let lowered = raw.trim().to_ascii_lowercase();
    let (scheme, rest) = lowered.split_once("://").ok_or(SHAPE)?;
    let default_port = match scheme {
        "https" => 443,
        "http" => 80,
        _ => return Err(SHAPE),
    };
    let (host, port) = match rest.strip_prefix('[') {
        // An IPv6 literal: `[::1]` or `[::1]:8080`.
        Some(inner) => {
            let (address, after) = inner.split_once(']').ok_or(SHAPE)?;
            if address.is_empty()
                || !address
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
            {
                return Err(SHAPE);
            }
            let port = match after {
                "" => None,
                more => Some(more.strip_prefix(':').ok_or(SHAPE)?),
            };
            (&rest[..address.len() + 2], port)
        }
        None => {
            let (host, port) = match rest.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (rest, None),
            };
            let valid = !host.is_empty()
                && host.len() <= 253
                && host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
            if !valid {
                return Err(SHAPE);
            }
            (host, port)
        }
    };
    match port {
        None => Ok(format!("{scheme}://{host}")),
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 && p.bytes().all(|b| b.is_ascii_digit()) => Ok(if n == default_port {
                format!("{scheme}://{host}")
            } else {
                format!("{scheme}://{host}:{n}")
            }),
            _ => Err(SHAPE),
        },
    }
}

/// One invalid setting: the JSON path of the field and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldProblem {
    pub field: String,
    pub message: String,
}

fn problem(field: impl Into<String>, message: impl Into<String>) -> FieldProblem {
    FieldProblem {
        field: field.into(),
        message: message.into(),
    }
}

const BUILT_IN_TYPES: [&str; 5] = [
    "signup",
    "purchase",
    "review",
    "birthday",
    "referral_purchase",
];

impl ProgramSettings {
    pub fn validate(&self) -> Vec<FieldProblem> {
        let mut out = Vec::new();
        let e = &self.earning;
        for (name, rule) in [
            ("signup", &e.signup),
            ("review", &e.review),
            ("birthday", &e.birthday),
            ("referral_purchase", &e.referral_purchase),
        ] {
            check_fixed(&format!("earning.{name}"), rule, &mut out);
        }
        let p = &e.purchase;
        if !(p.points_per_unit.is_finite()
            && p.points_per_unit >= 0.0
            && p.points_per_unit <= 1_000_000.0)
        {
            out.push(problem(
                "earning.purchase.points_per_unit",
                "must be a number from 0 to 1000000",
            ));
        }
        if p.approval_days > 3650 {
            out.push(problem(
                "earning.purchase.approval_days",
                "must be at most 3650",
            ));
        }
        for (name, rule) in &e.custom {
            let valid_name = !name.is_empty()
                && name.len() <= 64
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if !valid_name || BUILT_IN_TYPES.contains(&name.as_str()) {
                out.push(problem(
                    format!("earning.custom.{name}"),
                    "custom type names use a-z, 0-9, _ and -, and differ from the built-in types",
                ));
            }
            check_fixed(&format!("earning.custom.{name}"), rule, &mut out);
        }
        let mut last: Option<i64> = None;
        let mut names = std::collections::BTreeSet::new();
        for (i, level) in self.tiers.levels.iter().enumerate() {
            if level.name.trim().is_empty() || level.name.len() > 100 {
                out.push(problem(
                    format!("tiers.levels[{i}].name"),
                    "must be 1 to 100 characters",
                ));
            }
            if !names.insert(level.name.clone()) {
                out.push(problem(
                    format!("tiers.levels[{i}].name"),
                    "tier names must be unique",
                ));
            }
            if level.threshold < 0 || last.is_some_and(|prev| level.threshold <= prev) {
                out.push(problem(
                    format!("tiers.levels[{i}].threshold"),
                    "thresholds must be non-negative and strictly increasing",
                ));
            }
            last = Some(level.threshold);
        }
        if self.tiers.window_days == Some(0) {
            out.push(problem(
                "tiers.window_days",
                "must be null (lifetime) or at least 1",
            ));
        }
        for (i, t) in self.tiers.qualifying.iter().enumerate() {
            if self.earning.rule(t).is_none() {
                out.push(problem(
                    format!("tiers.qualifying[{i}]"),
                    format!("unknown activity type `{t}`"),
                ));
            }
        }
        if self.expiry.mode != ExpiryMode::Never && !(1..=36500).contains(&self.expiry.days) {
            out.push(problem("expiry.days", "must be from 1 to 36500"));
        }
        for (i, d) in self.expiry.reminder_days.iter().enumerate() {
            if *d == 0 || *d > 3650 {
                out.push(problem(
                    format!("expiry.reminder_days[{i}]"),
                    "must be from 1 to 3650",
                ));
            }
        }
        let w = &self.winback;
        if w.inactive_days == 0 {
            out.push(problem("winback.inactive_days", "must be at least 1"));
        }
        if w.validity_days == 0 {
            out.push(problem("winback.validity_days", "must be at least 1"));
        }
        if w.bonus_points < 0 {
            out.push(problem("winback.bonus_points", "must not be negative"));
        }
        let r = &self.referral;
        if !(r.base_url.starts_with("https://") || r.base_url.starts_with("http://"))
            || r.base_url.len() > 400
        {
            out.push(problem(
                "referral.base_url",
                "must be an http(s) URL of at most 400 characters",
            ));
        }
        if !(r.min_purchase.is_finite() && r.min_purchase >= 0.0) {
            out.push(problem(
                "referral.min_purchase",
                "must be a non-negative number",
            ));
        }
        for (name, c) in [
            ("friend_coupon", &r.friend_coupon),
            ("referrer_coupon", &r.referrer_coupon),
        ] {
            if c.prefix.len() > 40 {
                out.push(problem(
                    format!("referral.{name}.prefix"),
                    "must be at most 40 characters",
                ));
            }
        }
        if !(1..=28).contains(&self.digest.day_of_month) {
            out.push(problem(
                "digest.day_of_month",
                "must be from 1 to 28 so that every month has it",
            ));
        }
        let origins = &self.dashboard.allowed_origins;
        if origins.len() > MAX_ALLOWED_ORIGINS {
            out.push(problem(
                "dashboard.allowed_origins",
                format!("at most {MAX_ALLOWED_ORIGINS} origins"),
            ));
        }
        for (i, origin) in origins.iter().enumerate() {
            if let Err(message) = normalize_origin(origin) {
                out.push(problem(format!("dashboard.allowed_origins[{i}]"), message));
            }
        }
        if !self.mail.templates.is_object() {
            out.push(problem(
                "mail.templates",
                "must be an object keyed by event name",
            ));
        }
        out
    }
}

fn check_fixed(path: &str, rule: &FixedRule, out: &mut Vec<FieldProblem>) {
    if !(0..=10_000_000).contains(&rule.points) {
        out.push(problem(
            format!("{path}.points"),
            "must be from 0 to 10000000",
        ));
    }
    if rule.display_name.trim().is_empty() || rule.display_name.len() > 200 {
        out.push(problem(
            format!("{path}.display_name"),
            "must be 1 to 200 characters",
        ));
    }
    if rule.approval_days > 3650 {
        out.push(problem(
            format!("{path}.approval_days"),
            "must be at most 3650",
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        assert!(ProgramSettings::default().validate().is_empty());
    }

    #[test]
    fn the_documented_example_parses_and_validates() {
        let json = r#"{"earning": {"signup": {"points": 100, "display_name": "Joined the program"},
            "purchase": {"points_per_unit": 1, "display_name": "Made a purchase", "approval_days": 0},
            "review": {"points": 50, "display_name": "Wrote a review"},
            "custom": {"share": {"points": 25, "display_name": "Shared on social media"}}},
            "returns": {"policy": "negative"},
            "tiers": {"window_days": null, "qualifying": ["signup", "purchase"],
              "levels": [{"name": "Bronze", "threshold": 0}, {"name": "Silver", "threshold": 500},
                         {"name": "Gold", "threshold": 2000}]},
            "expiry": {"mode": "inactivity", "days": 365, "keeps_active": ["purchase"], "reminder_days": [30, 7]},
            "winback": {"enabled": true, "inactive_days": 180, "bonus_points": 200, "validity_days": 30},
            "referral": {"base_url": "https://shop.example.com/", "friend_coupon": {"prefix": "FRIEND-"},
              "referrer_coupon": {"prefix": "THANKS-"}, "min_purchase": 50},
            "digest": {"day_of_month": 1}}"#;
        let s: ProgramSettings = serde_json::from_str(json).expect("parses");
        assert_eq!(s.validate(), vec![]);
        assert_eq!(
            s.earning
                .rule("share")
                .map(|r| r.display_name().to_string()),
            Some("Shared on social media".into())
        );
    }

    #[test]
    fn store_origins_are_compared_as_browsers_send_them() {
        assert_eq!(
            normalize_origin("HTTPS://Shop.Example.com:443"),
            Ok("https://shop.example.com".into())
        );
        assert_eq!(
            normalize_origin("http://localhost:3000"),
            Ok("http://localhost:3000".into())
        );
        assert_eq!(
            normalize_origin("http://[::1]:8080"),
            Ok("http://[::1]:8080".into())
        );
        assert_eq!(normalize_origin("http://[::1]"), Ok("http://[::1]".into()));
        for bad in [
            "https://shop.example.com/",
            "https://shop.example.com/loyalty",
            "shop.example.com",
            "ftp://shop.example.com",
            "https://*.example.com",
            "https://user@shop.example.com",
            "https://shop.example.com:0",
            "https://shop.example.com:99999",
            "https://",
        ] {
            assert!(normalize_origin(bad).is_err(), "{bad} is refused");
        }
    }

    #[test]
    fn settings_without_a_dashboard_section_still_parse_and_bad_origins_name_their_index() {
        let s: ProgramSettings =
            serde_json::from_str(r#"{"digest": {"day_of_month": 2}}"#).expect("parses");
        assert!(s.dashboard.allowed_origins.is_empty());
        let mut s = ProgramSettings::default();
        s.dashboard.allowed_origins =
            vec!["https://ok.example".into(), "https://bad.example/".into()];
        let problems = s.validate();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].field, "dashboard.allowed_origins[1]");
    }

    #[test]
    fn decreasing_tier_thresholds_are_refused_with_their_path() {
        let mut s = ProgramSettings::default();
        s.tiers.levels = vec![
            TierLevel {
                name: "Gold".into(),
                threshold: 100,
            },
            TierLevel {
                name: "Silver".into(),
                threshold: 50,
            },
        ];
        let problems = s.validate();
        assert_eq!(problems[0].field, "tiers.levels[1].threshold");
    }
}
