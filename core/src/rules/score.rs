//! The 100-point score and the forced A/B/C/D distribution (seed 001 客户分级管理制度).

use std::cmp::Reverse;

use crate::model::Grade;
use crate::policy::{Policy, ScoreFactor, factor_points};

use super::RuleError;

factor_points!(
    /// A customer's points per factor, each within `0..=` the policy's maximum for that
    /// factor ([`FactorMaxPoints`](crate::policy::FactorMaxPoints)). Default: all zero.
    #[derive(Default)]
    ScoreInputs
);

/// The total score, or an error naming the first factor (in [`ScoreFactor::ALL`] order)
/// given more than its maximum.
pub fn score(inputs: &ScoreInputs, policy: &Policy) -> Result<u32, RuleError> {
    let max = &policy.scoring.factor_max_points;
    for factor in ScoreFactor::ALL {
        let (points, max) = (inputs.get(factor), max.get(factor));
        if points > max {
            return Err(RuleError::FactorOverMax { factor, points, max });
        }
    }
    Ok(inputs.total())
}

/// `round_half_up(n × pct / 100)` in integers, so the cut-offs are exact.
fn cutoff(n: usize, cumulative_pct: u32) -> usize {
    let n = n as u128;
    let scaled = (n * u128::from(cumulative_pct) + 50) / 100;
    usize::try_from(scaled).unwrap_or(usize::MAX)
}

/// The grade for a 0-based position in the ranking, before ties are considered.
fn grade_at(position: usize, cuts: [usize; 3]) -> Grade {
    if position < cuts[0] {
        Grade::A
    } else if position < cuts[1] {
        Grade::B
    } else if position < cuts[2] {
        Grade::C
    } else {
        Grade::D
    }
}

/// Grades a population by the forced distribution.
///
/// Customers are ranked by score, highest first, ties broken by key so the result is
/// deterministic. With `n` customers the cumulative cut-offs are `round_half_up(n × 20%)`,
/// `round_half_up(n × 50%)` and `round_half_up(n × 90%)` (with the default shares): positions
/// before the first cut are A, before the second B, before the third C, the rest D. So ten
/// customers grade 2/3/4/1, and a single customer grades B (`round_half_up(0.5) = 1`).
///
/// **Ties:** customers with equal scores always share a grade, and it is the *better* grade
/// the first of them reached. A tie across a cut-off therefore enlarges the better grade
/// and shrinks the grades below it; nobody is graded down for a tie.
///
/// The output is in ranking order (score descending, then key), which is also the priority
/// order within a grade.
pub fn distribute_grades<K: Clone + Ord>(scores: &[(K, u32)], policy: &Policy) -> Vec<(K, Grade)> {
    let mut ranked: Vec<&(K, u32)> = scores.iter().collect();
    ranked.sort_by(|x, y| (Reverse(x.1), &x.0).cmp(&(Reverse(y.1), &y.0)));
    let s = &policy.scoring.grade_share_pct;
    let n = ranked.len();
    // Saturating: an unvalidated policy must not panic here.
    let (ab, abc) = (s.a.saturating_add(s.b), s.a.saturating_add(s.b).saturating_add(s.c));
    let cuts = [cutoff(n, s.a), cutoff(n, ab), cutoff(n, abc)];

    let mut out = Vec::with_capacity(n);
    let mut previous: Option<(u32, Grade)> = None;
    for (position, (key, points)) in ranked.into_iter().enumerate() {
        let grade = match previous {
            Some((prev_points, prev_grade)) if prev_points == *points => prev_grade,
            _ => grade_at(position, cuts),
        };
        previous = Some((*points, grade));
        out.push((key.clone(), grade));
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn counts(graded: &[(u32, Grade)]) -> [usize; 4] {
        let mut c = [0; 4];
        for (_, g) in graded {
            c[*g as usize] += 1;
        }
        c
    }

    #[test]
    fn cutoffs_round_half_up() {
        assert_eq!(cutoff(10, 20), 2);
        assert_eq!(cutoff(1, 50), 1);
        assert_eq!(cutoff(1, 20), 0);
        assert_eq!(cutoff(3, 50), 2); // 1.5 → 2
        assert_eq!(cutoff(0, 90), 0);
    }

    #[test]
    fn distribution_for_small_populations() {
        let p = Policy::default();
        let graded = |n: u32| {
            let scores: Vec<(u32, u32)> = (0..n).map(|i| (i, 100 - i)).collect();
            counts(&distribute_grades(&scores, &p))
        };
        assert_eq!(graded(2), [0, 1, 1, 0]); // 0.4→0, 1.0→1, 1.8→2
        assert_eq!(graded(5), [1, 2, 2, 0]); // 1.0, 2.5→3, 4.5→5
        assert_eq!(graded(20), [4, 6, 8, 2]);
    }

    #[test]
    fn a_tie_at_the_top_makes_everyone_a() {
        let scores: Vec<(u32, u32)> = (0..10).map(|i| (i, 77)).collect();
        let graded = distribute_grades(&scores, &Policy::default());
        assert!(graded.iter().all(|(_, g)| *g == Grade::A));
    }

    #[test]
    fn score_rejects_points_over_the_maximum() {
        let inputs = ScoreInputs { product_margin: 16, ..ScoreInputs::default() };
        let err = score(&inputs, &Policy::default()).unwrap_err();
        assert_eq!(
            err,
            RuleError::FactorOverMax { factor: ScoreFactor::ProductMargin, points: 16, max: 15 }
        );
        assert!(err.to_string().contains("产品利润率"));
    }
}
