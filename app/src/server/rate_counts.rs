//! Requests counted in fixed windows that every server process shares (the public API's
//! limits), without a database write for each request.
//!
//! A process takes a *lease*: one upsert adds n to the window's shared count and hands the
//! process the n places it covers, which it then gives out one per request from memory.
//! No place is given out twice, so no more requests pass a limit than it allows however
//! many processes share it. A place a process leased and did not use is lost to the
//! others, so a lease is a sixteenth of what remains at most (and a single place near the
//! limit, where counting is then exact). A process that has seen the count pass the limit
//! refuses the rest of the window without writing: the count only grows in a window.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use chrono::{DateTime, Utc};
use sea_orm::{
    sea_query::{Expr, OnConflict, Query},
    ConnectionTrait, DbErr,
};

use super::entities::api_rate_window;

/// The most places one lease takes.
const MAX_LEASE: i32 = 256;
/// A lease is at most this part of what remains under the limit.
const LEASE_SHARE: i32 = 16;
/// Buckets kept before those of past windows are dropped.
const PRUNE_AT: usize = 4096;

/// The leases this process holds, one per bucket.
#[derive(Default)]
pub struct RateCounts {
    buckets: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Lease>>>>,
}

/// The places a process holds in one bucket's window: `next..=last` are still to give out;
/// `seen` is the shared count when it last looked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Lease {
    window: DateTime<Utc>,
    next: i32,
    last: i32,
    seen: i32,
}

impl Lease {
    fn empty(window: DateTime<Utc>) -> Self {
        Lease {
            window,
            next: 1,
            last: 0,
            seen: 0,
        }
    }

    /// A place from the lease, if one is left, or past the limit once the count has
    /// passed it.
    fn give(&mut self, limit: i32) -> Option<i32> {
        if self.next <= self.last {
            self.next += 1;
            return Some(self.next - 1);
        }
        if self.seen > limit {
            self.seen = self.seen.saturating_add(1);
            return Some(self.seen);
        }
        None
    }

    /// How many places to lease when the last known count is `seen`.
    fn size(&self, limit: i32) -> i32 {
        ((limit - self.seen) / LEASE_SHARE).clamp(1, MAX_LEASE)
    }

    /// Takes the places an upsert of `size` that brought the count to `count` covers.
    fn take(&mut self, size: i32, count: i32) -> i32 {
        self.seen = count;
        self.next = count - size + 2;
        self.last = count;
        count - size + 1
    }
}

impl RateCounts {
    /// The request's place in `bucket`'s count for `window`: above `limit` means refused.
    pub async fn count(
        &self,
        db: &impl ConnectionTrait,
        bucket: &str,
        window: DateTime<Utc>,
        limit: i32,
    ) -> Result<i32, DbErr> {
        let lease = self.lease_of(bucket, window);
        let mut lease = lease.lock().await;
        if lease.window != window {
            *lease = Lease::empty(window);
        }
        if let Some(place) = lease.give(limit) {
            return Ok(place);
        }
        let size = lease.size(limit);
        let count = add(db, bucket, window, size).await?;
        Ok(lease.take(size, count))
    }

    fn lease_of(&self, bucket: &str, window: DateTime<Utc>) -> Arc<tokio::sync::Mutex<Lease>> {
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(lease) = buckets.get(bucket) {
            return lease.clone();
        }
        if buckets.len() >= PRUNE_AT {
            // A lease held by a request right now is of this window or about to be.
            buckets.retain(|_, lease| lease.try_lock().map_or(true, |l| l.window == window));
        }
        let lease = Arc::new(tokio::sync::Mutex::new(Lease::empty(window)));
        buckets.insert(bucket.to_string(), lease.clone());
        lease
    }
}

/// Adds `n` to the bucket's count in the window; the count after.
async fn add(
    db: &impl ConnectionTrait,
    bucket: &str,
    window: DateTime<Utc>,
    n: i32,
) -> Result<i32, DbErr> {
    let upsert = Query::insert()
        .into_table(api_rate_window::Entity)
        .columns([
            api_rate_window::Column::Bucket,
            api_rate_window::Column::WindowStart,
            api_rate_window::Column::Requests,
        ])
        .values_panic([bucket.into(), window.into(), n.into()])
        .on_conflict(
            OnConflict::columns([
                api_rate_window::Column::Bucket,
                api_rate_window::Column::WindowStart,
            ])
            .value(
                api_rate_window::Column::Requests,
                Expr::col((api_rate_window::Entity, api_rate_window::Column::Requests)).add(n),
            )
            .to_owned(),
        )
        .returning_col(api_rate_window::Column::Requests)
        .to_owned();
    let row = db
        .query_one(db.get_database_backend().build(&upsert))
        .await?
        .ok_or(DbErr::RecordNotInserted)?;
    row.try_get::<i32>("", "requests")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    #[test]
    fn small_limits_are_counted_one_place_at_a_time() {
        let lease = Lease::empty(window());
        assert_eq!(lease.size(5), 1);
        assert_eq!(lease.size(16), 1);
        assert_eq!(lease.size(600), 37);
        assert_eq!(lease.size(1_000_000), MAX_LEASE);
    }

    #[test]
    fn a_lease_gives_out_each_of_its_places_once() {
        let mut lease = Lease::empty(window());
        assert_eq!(lease.give(600), None);
        // Another process took places 1..=10; this one leased 37, bringing the count to 47.
        let first = lease.take(37, 47);
        assert_eq!(first, 11);
        let rest: Vec<i32> = std::iter::from_fn(|| lease.give(600)).collect();
        assert_eq!(rest, (12..=47).collect::<Vec<_>>());
        // The next lease is a sixteenth of what remains.
        assert_eq!(lease.size(600), (600 - 47) / 16);
    }

    #[test]
    fn past_the_limit_the_window_is_refused_without_writing() {
        let mut lease = Lease::empty(window());
        lease.take(1, 6);
        assert_eq!(lease.give(5), Some(7));
        assert_eq!(lease.give(5), Some(8));
        // At the limit, not past it: the next request asks the database.
        let mut at_limit = Lease::empty(window());
        at_limit.take(1, 5);
        assert_eq!(at_limit.give(5), None);
    }
}
