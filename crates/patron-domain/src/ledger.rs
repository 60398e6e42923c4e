//! The points ledger's arithmetic: how many points an activity earns, which lots a spend draws from,
//! how a return is reversed, and how debt from a negative balance is repaid by later earnings.
//! Entries are append-only; a lot's `remaining` is the only thing a later entry reduces.

use crate::settings::{EarningRule, Rounding};
use crate::values::Points;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Kinds of ledger entries. Balances are sums of entries by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    Earn,
    Bonus,
    Redeem,
    Expire,
    Reverse,
    Adjust,
}

impl EntryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Earn => "earn",
            EntryKind::Bonus => "bonus",
            EntryKind::Redeem => "redeem",
            EntryKind::Expire => "expire",
            EntryKind::Reverse => "reverse",
            EntryKind::Adjust => "adjust",
        }
    }
    pub fn parse(s: &str) -> Option<EntryKind> {
        [
            EntryKind::Earn,
            EntryKind::Bonus,
            EntryKind::Redeem,
            EntryKind::Expire,
            EntryKind::Reverse,
            EntryKind::Adjust,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// A lot: the points of one earning, with what is left of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lot {
    pub id: i64,
    pub amount: Points,
    pub remaining: Points,
    pub earned_at: DateTime<Utc>,
    /// When the points become spendable (after an approval delay); pending before.
    pub available_at: DateTime<Utc>,
    /// When what remains expires; `None` never.
    pub expires_at: Option<DateTime<Utc>>,
}

impl Lot {
    pub fn is_pending(&self, now: DateTime<Utc>) -> bool {
        self.available_at > now
    }
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }
    pub fn is_spendable(&self, now: DateTime<Utc>) -> bool {
        !self.is_pending(now) && !self.is_expired(now) && self.remaining.is_positive()
    }
}

/// Points drawn from one lot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Draw {
    pub lot_id: i64,
    pub points: Points,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    #[error("not enough available points: {available} available, {needed} needed")]
    InsufficientPoints { available: Points, needed: Points },
    #[error("the amount must be a non-negative, finite number")]
    InvalidAmount,
    #[error("purchases need an amount")]
    AmountRequired,
    #[error("points arithmetic overflowed")]
    Overflow,
}

impl From<crate::values::Overflow> for LedgerError {
    fn from(_: crate::values::Overflow) -> Self {
        LedgerError::Overflow
    }
}

/// Points an activity earns under its rule. Purchases multiply the amount; other types are fixed.
pub fn points_for(rule: &EarningRule<'_>, amount: Option<f64>) -> Result<Points, LedgerError> {
    match rule {
        EarningRule::Fixed(r) => Ok(Points(r.points)),
        EarningRule::Purchase(r) => {
            let amount = amount.ok_or(LedgerError::AmountRequired)?;
            if !amount.is_finite() || !(0.0..=1e12).contains(&amount) {
                return Err(LedgerError::InvalidAmount);
            }
            // Work in hundredths so 19.99 × 1 never becomes 19.989999 → 19.
            let raw = (amount * r.points_per_unit * 100.0).round() / 100.0;
            let rounded = match r.rounding {
                Rounding::Floor => raw.floor(),
                Rounding::Nearest => raw.round(),
                Rounding::Ceil => raw.ceil(),
            };
            Ok(Points(rounded as i64))
        }
    }
}

/// Spending order: soonest-expiring first (never-expiring last), oldest earned on ties.
fn spend_order(a: &Lot, b: &Lot) -> std::cmp::Ordering {
    let expiry = |l: &Lot| (l.expires_at.is_none(), l.expires_at);
    expiry(a)
        .cmp(&expiry(b))
        .then(a.earned_at.cmp(&b.earned_at))
        .then(a.id.cmp(&b.id))
}

/// Plans a spend of `amount` from the spendable lots at `now`, or refuses if they do not cover it
/// after `debt` (points owed from an earlier negative balance) is taken into account.
pub fn plan_spend(
    lots: &[Lot],
    amount: Points,
    debt: Points,
    now: DateTime<Utc>,
) -> Result<Vec<Draw>, LedgerError> {
    let available = spendable_total(lots, now)?.checked_sub(debt)?;
    if amount > available {
        return Err(LedgerError::InsufficientPoints {
            available: available.max(Points::ZERO),
            needed: amount,
        });
    }
    Ok(draw_in_order(lots, amount, now, None).0)
}

pub fn spendable_total(lots: &[Lot], now: DateTime<Utc>) -> Result<Points, LedgerError> {
    lots.iter()
        .filter(|l| l.is_spendable(now))
        .try_fold(Points::ZERO, |acc, l| acc.checked_add(l.remaining))
        .map_err(Into::into)
}

fn draw_in_order(
    lots: &[Lot],
    amount: Points,
    now: DateTime<Utc>,
    skip: Option<i64>,
) -> (Vec<Draw>, Points) {
    let mut usable: Vec<&Lot> = lots
        .iter()
        .filter(|l| l.is_spendable(now) && Some(l.id) != skip)
        .collect();
    usable.sort_by(|a, b| spend_order(a, b));
    let mut left = amount.0;
    let mut draws = Vec::new();
    for lot in usable {
        if left == 0 {
            break;
        }
        let take = lot.remaining.0.min(left);
        draws.push(Draw {
            lot_id: lot.id,
            points: Points(take),
        });
        left -= take;
    }
    (draws, Points(left))
}

/// How a return is taken back: first from the purchase's own lot (pending or not), then from other
/// spendable lots, and what is still missing becomes debt (`negative`) or a recorded shortfall (`clamp`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReversalPlan {
    pub draws: Vec<Draw>,
    /// Of the draws, points taken from a lot that was still pending.
    pub from_pending: Points,
    pub uncovered: Points,
}

/// Points to reverse for returning `returned_amount` of a purchase of `original_amount` that earned `original_points`.
pub fn reversal_points(
    original_points: Points,
    original_amount: f64,
    returned_amount: f64,
) -> Result<Points, LedgerError> {
    if !returned_amount.is_finite()
        || returned_amount < 0.0
        || returned_amount > original_amount + 1e-9
    {
        return Err(LedgerError::InvalidAmount);
    }
    if original_amount <= 0.0 {
        return Ok(original_points);
    }
    Ok(Points(
        (original_points.0 as f64 * returned_amount / original_amount).round() as i64,
    ))
}

pub fn plan_reversal(
    lots: &[Lot],
    origin_lot: Option<i64>,
    points: Points,
    now: DateTime<Utc>,
) -> ReversalPlan {
    let mut draws = Vec::new();
    let mut left = points;
    let mut from_pending = Points::ZERO;
    if let Some(origin) = origin_lot
        .and_then(|id| lots.iter().find(|l| l.id == id))
        .filter(|o| !o.is_expired(now) && o.remaining.is_positive())
    {
        {
            let take = origin.remaining.min(left);
            draws.push(Draw {
                lot_id: origin.id,
                points: take,
            });
            if origin.is_pending(now) {
                from_pending = take;
            }
            left = Points(left.0 - take.0);
        }
    }
    let (more, uncovered) = draw_in_order(lots, left, now, origin_lot);
    draws.extend(more);
    ReversalPlan {
        draws,
        from_pending,
        uncovered,
    }
}

/// Splits a newly available lot's points between repaying debt and the lot's remaining balance.
pub fn repay_debt(lot_points: Points, debt: Points) -> (Points, Points) {
    let repaid = lot_points.min(debt.max(Points::ZERO));
    (repaid, Points(lot_points.0 - repaid.0))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};
    use proptest::prelude::*;

    /// Day `day` of 2026 (day 0 is January 1st), at midnight UTC.
    pub(crate) fn t(day: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
            .single()
            .expect("valid")
            + Duration::days(day)
    }

    /// An untouched lot earned on day `earned`, expiring on day `expires`.
    pub(crate) fn lot(id: i64, pts: i64, earned: i64, expires: Option<i64>) -> Lot {
        Lot {
            id,
            amount: Points(pts),
            remaining: Points(pts),
            earned_at: t(earned),
            available_at: t(earned),
            expires_at: expires.map(t),
        }
    }

    #[test]
    fn a_spend_draws_from_the_soonest_expiring_lot_first() {
        let lots = vec![
            lot(1, 100, 0, None),
            lot(2, 50, 5, Some(40)),
            lot(3, 70, 3, Some(30)),
        ];
        let draws = plan_spend(&lots, Points(100), Points::ZERO, t(10)).expect("covered");
        assert_eq!(
            draws,
            vec![
                Draw {
                    lot_id: 3,
                    points: Points(70)
                },
                Draw {
                    lot_id: 2,
                    points: Points(30)
                }
            ]
        );
    }

    #[test]
    fn pending_and_expired_lots_cannot_be_spent() {
        let mut pending = lot(1, 100, 0, None);
        pending.available_at = t(30);
        let lots = vec![pending, lot(2, 50, 0, Some(5))];
        assert_eq!(
            plan_spend(&lots, Points(10), Points::ZERO, t(10)),
            Err(LedgerError::InsufficientPoints {
                available: Points(0),
                needed: Points(10)
            })
        );
    }

    #[test]
    fn purchase_points_are_rounded_by_the_rule() {
        let mut rule = crate::settings::EarningRules::default().purchase;
        rule.points_per_unit = 1.0;
        assert_eq!(
            points_for(&EarningRule::Purchase(&rule), Some(19.99)),
            Ok(Points(19))
        );
        rule.rounding = Rounding::Nearest;
        assert_eq!(
            points_for(&EarningRule::Purchase(&rule), Some(19.99)),
            Ok(Points(20))
        );
        assert_eq!(
            points_for(&EarningRule::Purchase(&rule), Some(-1.0)),
            Err(LedgerError::InvalidAmount)
        );
        assert_eq!(
            points_for(&EarningRule::Purchase(&rule), None),
            Err(LedgerError::AmountRequired)
        );
    }

    #[test]
    fn a_return_takes_pending_points_of_its_own_purchase_first() {
        let mut own = lot(2, 80, 5, None);
        own.available_at = t(20);
        let lots = vec![lot(1, 100, 0, None), own];
        let plan = plan_reversal(&lots, Some(2), Points(100), t(10));
        assert_eq!(plan.from_pending, Points(80));
        assert_eq!(
            plan.draws,
            vec![
                Draw {
                    lot_id: 2,
                    points: Points(80)
                },
                Draw {
                    lot_id: 1,
                    points: Points(20)
                }
            ]
        );
        assert_eq!(plan.uncovered, Points(0));
    }

    #[test]
    fn reversal_is_proportional_to_the_returned_amount() {
        assert_eq!(reversal_points(Points(100), 100.0, 25.0), Ok(Points(25)));
        assert_eq!(
            reversal_points(Points(100), 100.0, 101.0),
            Err(LedgerError::InvalidAmount)
        );
    }

    /// A tiny model ledger to check invariants over arbitrary sequences of operations.
    #[derive(Debug, Clone)]
    enum Op {
        Earn(i64, Option<i64>),
        Spend(i64),
        Reverse(usize, i64),
        Expire,
        Advance(i64),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (1..500i64, proptest::option::of(1..60i64)).prop_map(|(p, e)| Op::Earn(p, e)),
            (1..400i64).prop_map(Op::Spend),
            (0..10usize, 1..300i64).prop_map(|(i, p)| Op::Reverse(i, p)),
            Just(Op::Expire),
            (1..20i64).prop_map(Op::Advance),
        ]
    }

    proptest! {
        #[test]
        fn ledger_invariants_hold_for_any_sequence(ops in proptest::collection::vec(op(), 1..60)) {
            let mut lots: Vec<Lot> = vec![];
            let mut debt = Points::ZERO;
            let mut entries_sum = 0i64; // sum of all signed entries
            let mut day = 0i64;
            for op in ops {
                let now = t(day);
                match op {
                    Op::Earn(p, exp) => {
                        let (repaid, rest) = repay_debt(Points(p), debt);
                        debt = Points(debt.0 - repaid.0);
                        let mut l = lot(lots.len() as i64 + 1, p, day, exp.map(|d| day + d));
                        l.remaining = rest;
                        lots.push(l);
                        entries_sum += p;
                    }
                    Op::Spend(p) => {
                        if let Ok(draws) = plan_spend(&lots, Points(p), debt, now) {
                            for d in &draws {
                                let l = lots.iter_mut().find(|l| l.id == d.lot_id).expect("drawn lot exists");
                                prop_assert!(!l.is_expired(now), "a spend never draws from an expired lot");
                                l.remaining = Points(l.remaining.0 - d.points.0);
                            }
                            prop_assert_eq!(draws.iter().map(|d| d.points.0).sum::<i64>(), p);
                            entries_sum -= p;
                        }
                    }
                    Op::Reverse(i, p) => {
                        let origin = lots.get(i).map(|l| l.id);
                        let plan = plan_reversal(&lots, origin, Points(p), now);
                        for d in &plan.draws {
                            let l = lots.iter_mut().find(|l| l.id == d.lot_id).expect("drawn lot exists");
                            l.remaining = Points(l.remaining.0 - d.points.0);
                        }
                        debt = Points(debt.0 + plan.uncovered.0);
                        entries_sum -= p;
                    }
                    Op::Expire => {
                        for l in lots.iter_mut().filter(|l| l.is_expired(now) && l.remaining.is_positive()) {
                            entries_sum -= l.remaining.0;
                            l.remaining = Points::ZERO;
                        }
                    }
                    Op::Advance(d) => day += d,
                }
                for l in &lots {
                    prop_assert!(l.remaining.0 >= 0, "no lot goes below zero");
                    prop_assert!(l.remaining <= l.amount);
                }
                // balance = sum of entries = what lots hold minus what is owed
                let held: i64 = lots.iter().map(|l| l.remaining.0).sum();
                prop_assert_eq!(held - debt.0, entries_sum);
            }
        }
    }
}
