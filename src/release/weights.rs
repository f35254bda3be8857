//! Route 53 weights for a DNS release step.
//!
//! Weights are relative (each 0–255): a record gets weight ÷ total of the
//! queries, and when every weight is 0 Route 53 splits equally (*Weighted
//! routing*, Route 53 Developer Guide). So a total of 0 cannot say which
//! colour is live and is refused; a small total cannot express the plan's
//! steps (with 1/0, 10 % rounds to all or nothing), so a total below 100 is
//! rescaled to 100 on the first move (1/0 routes exactly as 100/0 does);
//! any other total is kept as it was found.

/// The lowest total that expresses every step to the percent.
const MIN_TOTAL: i64 = 100;
/// The most one record may carry.
pub const MAX_WEIGHT: i64 = 255;

/// The total a release shifts within, given the total it found: at least
/// [`MIN_TOTAL`], at most [`MAX_WEIGHT`] (all of it sits on one record at
/// the start and at the end). `None` for a total of 0 (an equal split).
pub fn working_total(found: i64) -> Option<i64> {
    working_total_up_to(found, MAX_WEIGHT)
}

/// [`working_total`] for a router whose weights go up to `max` (a load
/// balancer's target groups: 999).
pub fn working_total_up_to(found: i64, max: i64) -> Option<i64> {
    (found > 0).then_some(found.clamp(MIN_TOTAL, max))
}

/// The weight on the new colour at step `percent` (1–99) of `total`: the
/// nearest whole weight, at least 1 and leaving at least 1 on the old
/// colour, so a step is never "all" or "nothing".
pub fn step_weight(total: i64, percent: u8) -> i64 {
    let exact = total * i64::from(percent);
    let rounded = (exact + 50) / 100;
    rounded.clamp(1, (total - 1).max(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::plan::Plan;
    use proptest::prelude::*;

    #[test]
    fn small_totals_are_rescaled_and_zero_refused() {
        assert_eq!(working_total(0), None);
        assert_eq!(working_total(1), Some(100));
        assert_eq!(working_total(99), Some(100));
        assert_eq!(working_total(100), Some(100));
        assert_eq!(working_total(200), Some(200));
        assert_eq!(working_total(255), Some(255));
        assert_eq!(step_weight(100, 10), 10);
        assert_eq!(step_weight(200, 10), 20);
        assert_eq!(step_weight(255, 50), 128);
        assert_eq!(step_weight(100, 99), 99);
    }

    proptest! {
        /// For any total a pair can be found with and any valid plan, every
        /// step puts the plan's share on the new colour (to half a percent),
        /// both records stay within Route 53's 0–255, neither is 0 until the
        /// end, and the end and a rollback put the whole total on one side.
        #[test]
        fn every_step_is_what_the_plan_says(
            found in 0i64..=510,
            raw in prop::collection::btree_set(1i64..=99, 0..12),
        ) {
            let steps = Plan::check_steps(&raw.into_iter().collect::<Vec<_>>()).expect("steps");
            let Some(total) = working_total(found) else {
                prop_assert_eq!(found, 0);
                return Ok(());
            };
            prop_assert!((MIN_TOTAL..=MAX_WEIGHT).contains(&total));
            if (MIN_TOTAL..=MAX_WEIGHT).contains(&found) {
                prop_assert_eq!(total, found, "a usable total is kept");
            }
            for percent in steps {
                let new = step_weight(total, percent);
                let old = total - new;
                prop_assert!((1..=MAX_WEIGHT).contains(&new), "new {} of {}", new, total);
                prop_assert!((1..=MAX_WEIGHT).contains(&old), "old {} of {}", old, total);
                let share = new as f64 * 100.0 / total as f64;
                prop_assert!(
                    (share - f64::from(percent)).abs() <= 0.5,
                    "{}% of {} gives {} ({:.2}%)", percent, total, new, share
                );
            }
        }
    }
}
