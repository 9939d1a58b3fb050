//! The record of checksum repairs: one row per pulled page whose stock checksum differed
//! from the server's, written by the sync engine after it has tried to heal the difference.
//!
//! The engine re-fetches the events that touch the page's stock keys, applies the ones this
//! device lacked, compares the checksum again and, only if it still differs, rebuilds the
//! projection from the log (`docs/protocol.md`, "Pull checksum"). What it found is kept here
//! for good, so a manager's Sync screen can show when it happened, which keys it was about,
//! how many events were missing and whether the device then agreed with the server.

use crate::{Store, StoreError};
use aisle_core::stock::StockKey;
use serde::Serialize;

/// At most this many keys of one repair are stored (the count of all of them is kept).
pub const MAX_KEYS_KEPT: usize = 200;
/// At most this many lines of a rebuild's differences are stored.
pub const MAX_DIFFERENCES_KEPT: usize = 50;

/// How a checksum repair ended.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RepairOutcome {
    /// The re-fetched events made the checksum match (or it matched on its own by then).
    Refetched,
    /// It still differed after the re-fetch; a rebuild of the projection from the log made
    /// it match.
    Rebuilt,
    /// It still differed after the re-fetch and the rebuild.
    Unresolved,
    /// Local events were recorded while the repair ran, so the projection no longer
    /// describes only the server's events and the checksum could not be compared again.
    Undecided,
}

impl RepairOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Refetched => "refetched",
            Self::Rebuilt => "rebuilt",
            Self::Unresolved => "unresolved",
            Self::Undecided => "undecided",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            Self::Refetched,
            Self::Rebuilt,
            Self::Unresolved,
            Self::Undecided,
        ]
        .into_iter()
        .find(|outcome| outcome.as_str() == text)
    }
}

/// One checksum repair.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ChecksumRepair {
    /// Device time when the repair finished.
    pub at_ms: i64,
    /// The pulled page: events after `after_seq`, checked as of `checksum_seq`.
    pub after_seq: u64,
    pub checksum_seq: u64,
    /// How many stock keys the page touched.
    pub n_keys: u64,
    /// The keys; read back, at most [`MAX_KEYS_KEPT`] of them.
    pub keys: Vec<StockKey>,
    /// Events the server returned for the keys, and how many were new here.
    pub n_fetched: u64,
    pub n_missing: u64,
    pub outcome: RepairOutcome,
    /// What a rebuild of the projection changed, when one ran.
    pub differences: Vec<String>,
}

/// How many repairs are recorded, and how many of them stayed unresolved.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct RepairCounts {
    pub n_repairs: u64,
    pub n_unresolved: u64,
}

impl Store {
    /// Records a repair in its own transaction; returns its row id.
    pub fn record_checksum_repair(&self, repair: &ChecksumRepair) -> Result<i64, StoreError> {
        let keys = &repair.keys[..repair.keys.len().min(MAX_KEYS_KEPT)];
        let differences = &repair.differences[..repair.differences.len().min(MAX_DIFFERENCES_KEPT)];
        self.conn.execute(
            "INSERT INTO checksum_repairs
               (at_ms, after_seq, checksum_seq, n_keys, keys, n_fetched, n_missing, outcome, differences)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            (
                repair.at_ms,
                to_sql_count(repair.after_seq),
                to_sql_count(repair.checksum_seq),
                to_sql_count(repair.n_keys),
                serde_json::to_string(keys)?,
                to_sql_count(repair.n_fetched),
                to_sql_count(repair.n_missing),
                repair.outcome.as_str(),
                serde_json::to_string(differences)?,
            ),
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// The latest `limit` repairs, newest first.
    pub fn checksum_repairs(&self, limit: u32) -> Result<Vec<ChecksumRepair>, StoreError> {
        let mut statement = self.conn.prepare_cached(
            "SELECT at_ms, after_seq, checksum_seq, n_keys, keys, n_fetched, n_missing, outcome, differences
             FROM checksum_repairs ORDER BY id DESC LIMIT ?1",
        )?;
        let rows = statement.query_map([limit], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                [
                    row.get::<_, i64>(1)?,
                    row.get::<_, i64>(2)?,
                    row.get::<_, i64>(3)?,
                    row.get::<_, i64>(5)?,
                    row.get::<_, i64>(6)?,
                ],
                row.get::<_, String>(4)?,
                row.get::<_, String>(7)?,
                row.get::<_, String>(8)?,
            ))
        })?;
        let mut repairs = Vec::new();
        for row in rows {
            let (
                at_ms,
                [after_seq, checksum_seq, n_keys, n_fetched, n_missing],
                keys,
                outcome,
                differences,
            ) = row?;
            repairs.push(ChecksumRepair {
                at_ms,
                after_seq: after_seq as u64,
                checksum_seq: checksum_seq as u64,
                n_keys: n_keys as u64,
                keys: serde_json::from_str(&keys)?,
                n_fetched: n_fetched as u64,
                n_missing: n_missing as u64,
                outcome: RepairOutcome::parse(&outcome).ok_or_else(|| {
                    StoreError::Corrupt(format!("unknown checksum repair outcome {outcome:?}"))
                })?,
                differences: serde_json::from_str(&differences)?,
            });
        }
        Ok(repairs)
    }

    /// How many repairs are recorded, and how many stayed unresolved.
    pub fn checksum_repair_counts(&self) -> Result<RepairCounts, StoreError> {
        let (n_repairs, n_unresolved): (i64, i64) = self.conn.query_row(
            "SELECT count(*), count(*) FILTER (WHERE outcome = 'unresolved') FROM checksum_repairs",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )?;
        Ok(RepairCounts {
            n_repairs: n_repairs as u64,
            n_unresolved: n_unresolved as u64,
        })
    }
}

fn to_sql_count(count: u64) -> i64 {
    i64::try_from(count).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aisle_core::testkit;

    #[test]
    fn a_repair_is_kept_with_its_keys_and_read_back_newest_first() {
        let dir = tempfile::tempdir().expect("tempdir");
        let profile = crate::Profile {
            tenant: testkit::tenant(),
            warehouse: testkit::warehouse(),
        };
        let store = Store::open(
            &dir.path().join("device.sqlite3"),
            profile,
            &crate::StoreKey::from_bytes([1; 32]),
        )
        .expect("open");
        assert_eq!(
            store.checksum_repair_counts().expect("counts"),
            RepairCounts::default()
        );
        let keys: Vec<StockKey> = (1..=(MAX_KEYS_KEPT as u16 + 5))
            .map(|n| testkit::key(n, 1, Some("L-1")))
            .collect();
        let first = ChecksumRepair {
            at_ms: 1_000,
            after_seq: 40,
            checksum_seq: 57,
            n_keys: keys.len() as u64,
            keys: keys.clone(),
            n_fetched: 12,
            n_missing: 3,
            outcome: RepairOutcome::Refetched,
            differences: Vec::new(),
        };
        let second = ChecksumRepair {
            at_ms: 2_000,
            outcome: RepairOutcome::Unresolved,
            n_keys: 1,
            keys: keys[..1].to_vec(),
            differences: vec!["on hand of a key: 4 -> 5".into()],
            ..first.clone()
        };
        store.record_checksum_repair(&first).expect("first");
        store.record_checksum_repair(&second).expect("second");

        let read = store.checksum_repairs(10).expect("read");
        assert_eq!(read.len(), 2);
        assert_eq!(read[0], second, "newest first, read back whole");
        assert_eq!(
            read[1].keys,
            keys[..MAX_KEYS_KEPT].to_vec(),
            "only the first keys are kept"
        );
        assert_eq!(
            read[1].n_keys,
            keys.len() as u64,
            "but the count of all of them is"
        );
        assert_eq!(
            store.checksum_repair_counts().expect("counts"),
            RepairCounts {
                n_repairs: 2,
                n_unresolved: 1
            }
        );
    }
}
