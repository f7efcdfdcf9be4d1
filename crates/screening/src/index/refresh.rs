//! The refresh guard: a new index replaces the current one only if it does not look broken.

use super::IndexStats;
use crate::source::ListId;

/// How much a list may shrink between two refreshes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RefreshPolicy {
    max_drop: f64,
}

/// A shrink fraction outside 0..=1.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("maximum drop {0} is not a fraction between 0 and 1")]
pub struct InvalidMaxDrop(pub f64);

impl RefreshPolicy {
    /// Allows each list to lose at most `max_drop` (a fraction, 0.1 = 10 %) of its entries.
    pub fn new(max_drop: f64) -> Result<Self, InvalidMaxDrop> {
        if (0.0..=1.0).contains(&max_drop) {
            Ok(RefreshPolicy { max_drop })
        } else {
            Err(InvalidMaxDrop(max_drop))
        }
    }
}

/// 10 %: the official lists change by a few entries a day, never by a tenth.
impl Default for RefreshPolicy {
    fn default() -> Self {
        RefreshPolicy { max_drop: 0.1 }
    }
}

/// Why a new index was refused; the current one stays in service.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RefreshRefused {
    #[error("the new index has no entries")]
    Empty,
    #[error(
        "{list} shrank from {previous} to {next} entries ({:.1} % fewer, at most {:.1} % allowed)",
        drop * 100.0,
        allowed * 100.0
    )]
    Shrank { list: ListId, previous: usize, next: usize, drop: f64, allowed: f64 },
}

/// Accepts a new index unless it is empty or a list of the previous one lost more than the
/// policy allows (a list missing from the new index lost everything).
pub fn check_refresh(
    previous: Option<&IndexStats>,
    next: &IndexStats,
    policy: RefreshPolicy,
) -> Result<(), RefreshRefused> {
    if next.total() == 0 {
        return Err(RefreshRefused::Empty);
    }
    for (&list, &before) in previous.map(|p| &p.counts).into_iter().flatten() {
        let after = next.counts.get(&list).copied().unwrap_or(0);
        if before == 0 || after >= before {
            continue;
        }
        let drop = (before - after) as f64 / before as f64;
        if drop > policy.max_drop {
            return Err(RefreshRefused::Shrank {
                list,
                previous: before,
                next: after,
                drop,
                allowed: policy.max_drop,
            });
        }
    }
    Ok(())
}
