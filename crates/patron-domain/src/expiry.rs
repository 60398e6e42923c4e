//! Expiry: when points expire under each mode, what is due at an instant, and which reminders are
//! due before that. Expiry only ever takes what is left of a lot, so spent points are never touched.

use crate::ledger::{Draw, Lot};
use crate::settings::{ExpiryMode, ExpirySettings};
use crate::values::Points;
use chrono::{DateTime, Duration, NaiveDate, Utc};

/// When an inactive member's whole balance expires: `days` after the later of the last activity
/// that keeps the account active and the moment expiry was enabled (no retroactive expiry).
pub fn inactivity_deadline(
    settings: &ExpirySettings,
    last_active: DateTime<Utc>,
    enabled_at: Option<DateTime<Utc>>,
) -> Option<DateTime<Utc>> {
    if settings.mode != ExpiryMode::Inactivity {
        return None;
    }
    let start = enabled_at.map_or(last_active, |e| e.max(last_active));
    Some(start + Duration::days(i64::from(settings.days)))
}

/// Where the lots of a member stand for expiry: their own dates (`per_lot`) or one deadline for the
/// whole balance (`inactivity`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedule {
    PerLot,
    Deadline(DateTime<Utc>),
}

fn expiry_of(lot: &Lot, schedule: Schedule) -> Option<DateTime<Utc>> {
    match schedule {
        Schedule::PerLot => lot.expires_at,
        Schedule::Deadline(at) => Some(at),
    }
}

/// Whether a lot takes part in expiry at all: approved (pending points are not available) with
/// something left.
fn live(lot: &Lot, as_of: DateTime<Utc>) -> bool {
    !lot.is_pending(as_of) && lot.remaining.is_positive()
}

/// What expires at `as_of`: what remains of each due lot, soonest-expiring first.
pub fn plan_expiry(lots: &[Lot], schedule: Schedule, as_of: DateTime<Utc>) -> Vec<Draw> {
    let mut due: Vec<(&Lot, DateTime<Utc>)> = lots
        .iter()
        .filter(|l| live(l, as_of))
        .filter_map(|l| {
            expiry_of(l, schedule)
                .filter(|at| *at <= as_of)
                .map(|at| (l, at))
        })
        .collect();
    due.sort_by(|(a, at_a), (b, at_b)| {
        at_a.cmp(at_b)
            .then(a.earned_at.cmp(&b.earned_at))
            .then(a.id.cmp(&b.id))
    });
    due.into_iter()
        .map(|(l, _)| Draw {
            lot_id: l.id,
            points: l.remaining,
        })
        .collect()
}

/// A reminder due now: the points that will expire on `expires_on`, reminded `lead_days` before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reminder {
    pub expires_on: NaiveDate,
    pub expires_at: DateTime<Utc>,
    pub lead_days: u32,
    pub points: Points,
}

/// Points that will expire together, at the earliest instant of one UTC day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Upcoming {
    pub expires_at: DateTime<Utc>,
    pub points: Points,
}

/// What is still to expire, by UTC day, soonest first: live lots whose expiry is later than `after`
/// (or all of them, for `None`), less `debt` for an inactivity deadline's whole balance.
fn upcoming_by_day(
    lots: &[Lot],
    schedule: Schedule,
    debt: Points,
    as_of: DateTime<Utc>,
    after: Option<DateTime<Utc>>,
) -> Vec<(NaiveDate, Upcoming)> {
    let mut by_date: std::collections::BTreeMap<NaiveDate, (DateTime<Utc>, i64)> =
        Default::default();
    for lot in lots.iter().filter(|l| live(l, as_of)) {
        if let Some(at) = expiry_of(lot, schedule).filter(|at| after.is_none_or(|a| *at > a)) {
            let e = by_date.entry(at.date_naive()).or_insert((at, 0));
            e.0 = e.0.min(at);
            e.1 = e.1.saturating_add(lot.remaining.0);
        }
    }
    if let Schedule::Deadline(_) = schedule {
        for v in by_date.values_mut() {
            v.1 -= debt.0.max(0);
        }
    }
    by_date
        .into_iter()
        .filter(|(_, (_, points))| *points > 0)
        .map(|(date, (expires_at, points))| {
            (
                date,
                Upcoming {
                    expires_at,
                    points: Points(points),
                },
            )
        })
        .collect()
}

/// The member's next expiry at `as_of` — the same lots and dates the expiry job and the reminders
/// use. Points already due count too: the next run of the job takes them.
pub fn next_expiry(
    lots: &[Lot],
    schedule: Schedule,
    debt: Points,
    as_of: DateTime<Utc>,
) -> Option<Upcoming> {
    upcoming_by_day(lots, schedule, debt, as_of, None)
        .into_iter()
        .map(|(_, upcoming)| upcoming)
        .next()
}

/// Reminders due at `as_of`: for each upcoming expiry date, the shortest lead whose window
/// `[date − lead, date)` contains `as_of` (so a job that missed the 30-day mark still says it once,
/// and the 7-day one follows). `debt` is subtracted from an inactivity deadline's balance.
pub fn reminders_due(
    lots: &[Lot],
    schedule: Schedule,
    lead_days: &[u32],
    debt: Points,
    as_of: DateTime<Utc>,
) -> Vec<Reminder> {
    upcoming_by_day(lots, schedule, debt, as_of, Some(as_of))
        .into_iter()
        .filter_map(
            |(
                date,
                Upcoming {
                    expires_at: at,
                    points,
                },
            )| {
                lead_days
                    .iter()
                    .copied()
                    .filter(|lead| at - Duration::days(i64::from(*lead)) <= as_of)
                    .min()
                    .map(|lead_days| Reminder {
                        expires_on: date,
                        expires_at: at,
                        lead_days,
                        points,
                    })
            },
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::plan_spend;
    use crate::ledger::tests::{lot, t};
    use proptest::prelude::*;

    #[test]
    fn enabling_inactivity_expiry_starts_the_clock_then() {
        let s = ExpirySettings {
            mode: ExpiryMode::Inactivity,
            days: 365,
            ..Default::default()
        };
        assert_eq!(inactivity_deadline(&s, t(0), Some(t(100))), Some(t(465)));
        assert_eq!(inactivity_deadline(&s, t(200), Some(t(100))), Some(t(565)));
        let never = ExpirySettings::default();
        assert_eq!(inactivity_deadline(&never, t(0), None), None);
    }

    #[test]
    fn the_shortest_open_lead_is_the_one_reminded() {
        let lots = vec![lot(1, 100, 0, Some(60)), lot(2, 40, 1, Some(60))];
        let due = |d| reminders_due(&lots, Schedule::PerLot, &[30, 7], Points(0), t(d));
        assert!(due(29).is_empty());
        assert_eq!(due(30)[0].lead_days, 30);
        assert_eq!(due(30)[0].points, Points(140));
        assert_eq!(due(53)[0].lead_days, 7);
        assert!(
            due(60).is_empty(),
            "on the day itself the points expire instead"
        );
    }

    #[test]
    fn the_next_expiry_is_the_soonest_day_with_points_left_including_points_already_due() {
        let mut spent = lot(3, 50, 0, Some(20));
        spent.remaining = Points(0);
        let lots = vec![
            lot(1, 100, 0, Some(60)),
            lot(2, 40, 1, Some(60)),
            spent,
            lot(4, 10, 5, Some(90)),
        ];
        let next = next_expiry(&lots, Schedule::PerLot, Points(0), t(10));
        assert_eq!(
            next,
            Some(Upcoming {
                expires_at: t(60),
                points: Points(140)
            })
        );
        let due_not_yet_taken = next_expiry(&lots, Schedule::PerLot, Points(0), t(61));
        assert_eq!(due_not_yet_taken.map(|u| u.points), Some(Points(140)));
        let whole_balance = next_expiry(&lots, Schedule::Deadline(t(400)), Points(30), t(10));
        assert_eq!(
            whole_balance,
            Some(Upcoming {
                expires_at: t(400),
                points: Points(120)
            }),
            "an inactivity deadline takes the whole balance, less what is owed"
        );
        assert_eq!(next_expiry(&[], Schedule::PerLot, Points(0), t(10)), None);
    }

    #[test]
    fn pending_points_neither_expire_nor_are_reminded() {
        let mut pending = lot(1, 100, 0, Some(10));
        pending.available_at = t(50);
        assert!(plan_expiry(&[pending.clone()], Schedule::PerLot, t(20)).is_empty());
        assert!(reminders_due(&[pending], Schedule::PerLot, &[30], Points(0), t(5)).is_empty());
    }

    proptest! {
        #[test]
        fn expiry_never_touches_spent_points(
            earnings in proptest::collection::vec((1..500i64, 0..100i64, 1..200i64), 1..20),
            spends in proptest::collection::vec((1..400i64, 0..300i64), 0..20),
            as_of in 0..400i64,
        ) {
            let mut lots: Vec<Lot> = earnings
                .iter()
                .enumerate()
                .map(|(i, (p, earned, life))| lot(i as i64 + 1, *p, *earned, Some(earned + life)))
                .collect();
            let mut spent = 0i64;
            let mut spends = spends;
            spends.sort_by_key(|(_, day)| *day);
            for (amount, day) in spends {
                if let Ok(draws) = plan_spend(&lots, Points(amount), Points(0), t(day)) {
                    for d in draws {
                        if let Some(l) = lots.iter_mut().find(|l| l.id == d.lot_id) {
                            l.remaining = Points(l.remaining.0 - d.points.0);
                        }
                    }
                    spent += amount;
                }
            }
            let draws = plan_expiry(&lots, Schedule::PerLot, t(as_of));
            for d in &draws {
                let l = lots.iter().find(|l| l.id == d.lot_id).expect("a drawn lot exists");
                prop_assert!(d.points <= l.remaining, "never more than what is left of a lot");
                prop_assert!(l.is_expired(t(as_of)));
            }
            let expired: i64 = draws.iter().map(|d| d.points.0).sum();
            let earned: i64 = lots.iter().map(|l| l.amount.0).sum();
            let left: i64 = lots.iter().map(|l| l.remaining.0).sum();
            prop_assert_eq!(earned - left, spent, "spent points are exactly what lots lost");
            prop_assert!(expired <= left, "expiry takes only unspent points");
        }
    }
}
