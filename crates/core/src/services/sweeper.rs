//! The expiry sweeper: persists `expired` for open sessions whose time ran out, with a
//! `session.expired` event. Read paths already treat such sessions as expired; the sweeper makes
//! the store (listings by status, the outbox) say so too.
//!
//! It reads the expiry index (GSI1 `OPEN#shard`, soonest first, only what is due), never the
//! table. Each expiry is an ordinary conditional change, so two sweepers running at once expire
//! each session exactly once.

use super::changes::SessionChange;
use super::Services;
use crate::codec::{self, keys, OpenMarker, OPEN_SHARDS};
use crate::domain::history::{Actor, AuditAction, EventType};
use crate::domain::session::{SessionEvent, SessionStatus};
use crate::error::{Error, Result};
use crate::ports::table::{Condition, Query, WriteOp};
use serde::de::DeserializeOwned;

/// Markers read per index query.
const PAGE: usize = 100;

/// What one sweep did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Sessions this sweep moved to `expired`.
    pub expired: usize,
    /// Due markers it left alone: another request changed the session first (a concurrent
    /// sweeper, a last-second completion), or the marker was stale and is now gone.
    pub skipped: usize,
    /// Whether due sessions remain (the sweep stopped at its limit); the next run continues.
    pub more: bool,
}

impl Services {
    /// Expires up to `limit` open sessions that are past their expiry.
    pub async fn sweep_expired(&self, limit: usize) -> Result<SweepReport> {
        let (markers, more) =
            self.due_markers::<OpenMarker>(keys::open_sessions_index, self.now().unix(), limit).await?;
        let mut report = SweepReport { more, ..SweepReport::default() };
        for marker in markers {
            if self.expire(&marker).await? {
                report.expired += 1;
            } else {
                report.skipped += 1;
            }
        }
        Ok(report)
    }

    /// Up to `limit` markers of a sharded time index (expiry, retention) due at `now`, soonest
    /// first within each shard, and whether more are due. All are read before any is handled.
    pub(crate) async fn due_markers<T: DeserializeOwned>(
        &self,
        index: fn(u8) -> String,
        now: i64,
        limit: usize,
    ) -> Result<(Vec<T>, bool)> {
        let mut markers = Vec::new();
        for shard in 0..OPEN_SHARDS {
            let (low, high) = codec::due_range(now);
            let due = Query::gsi1(index(shard)).between(low, high).limit(PAGE);
            let mut cursor = None;
            loop {
                let page = self.table.query(due.clone().after(cursor)).await?;
                for item in page.items {
                    if markers.len() >= limit {
                        return Ok((markers, true));
                    }
                    markers.push(codec::decode(item)?);
                }
                match page.next {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
        }
        Ok((markers, false))
    }

    /// Expires the session behind one due marker; `false` when there was nothing to do.
    async fn expire(&self, marker: &OpenMarker) -> Result<bool> {
        let Some(items) = self.load_session(&marker.session_id).await? else {
            self.table.delete(&keys::open_marker(&marker.session_id), Condition::Always).await?;
            return Ok(false);
        };
        let session = &items.session;
        let status = session.status;
        if !status.accepts_end_user_input() {
            // A marker left by a session that closed without one (it predates markers): drop it,
            // unless the session changed meanwhile (it may have reopened with a fresh marker).
            let ops = vec![
                WriteOp::Check {
                    key: keys::session(&session.session_id),
                    condition: Condition::VersionIs(session.version),
                },
                WriteOp::Delete { key: keys::open_marker(&session.session_id), condition: Condition::Always },
            ];
            return match self.table.transact(ops).await {
                Ok(()) | Err(crate::ports::table::StoreError::ConditionFailed { .. }) => Ok(false),
                Err(other) => Err(other.into()),
            };
        }
        if self.now().unix() < session.expires_at {
            return Ok(false);
        }
        let next = status.on(SessionEvent::Expire).map_err(|illegal| Error::Unexpected(illegal.into()))?;
        let mut change = SessionChange::new(self, session, Actor::System);
        change.set_status(next);
        change.emit(EventType::SessionExpired, None);
        change.audit(AuditAction::SessionExpired, None, Vec::new());
        match change.commit(self).await {
            Ok(_) => {
                tracing::info!(session_id = %session.session_id, "session expired");
                Ok(next == SessionStatus::Expired)
            }
            Err(Error::Conflict(_)) => Ok(false),
            Err(other) => Err(other),
        }
    }
}
