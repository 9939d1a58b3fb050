//! The security audit log: requests refused at a tenant, warehouse or device boundary, uses
//! of revoked credentials, and operators' forced actions. It is bounded and tamper-evident.
//!
//! - **Bounded fields.** A row's `detail` is at most [`AUDIT_TEXT_MAX_CHARS`] characters (a
//!   longer one is cut and ends in `…`); `detail_sha256` keeps the SHA-256 of the full text,
//!   so two long details can still be told apart. Reasons are at most 64 characters.
//! - **Coalesced repeats.** One row per (source, reason, minute): a repeat bumps the row's
//!   `count` and `last_seen_ms`, and the row keeps the minute's first detail. A client
//!   looping on a refused request therefore adds one row a minute, not one per request.
//! - **Capped.** When a write takes the log past its row cap (the server's
//!   `--audit-max-rows`, [`DEFAULT_AUDIT_MAX_ROWS`] by default) the oldest rows are pruned
//!   until 90% of the cap is left, and the prune is recorded as a row (`audit_capped`).
//!   Operators prune by date with `aisle-server audit prune --before DATE` (`audit_pruned`).
//!   Only a prefix is ever removed.
//! - **Hash-chained.** Each new row stores the previous row's hash (`prev_hash`) and its own
//!   (`row_hash`), a SHA-256 over `prev_hash` and every field except `count` and
//!   `last_seen_ms`, the two that coalescing updates: those are *not* covered. The chain's
//!   ends live in `security_audit_chain`: the anchor (the last pruned row's id and hash, or
//!   0 and zeros) and the head (the newest row's). [`super::Registry::verify_audit`] walks the rows
//!   from the anchor to the head and names the first that does not fit, so an edited field,
//!   a removed or inserted row, or a cut end is found. There is no secret: someone who can
//!   write the file and recompute every later hash and the head is not detected; an operator
//!   who keeps the printed head hash elsewhere detects that too.
//!
//! It must never hold a device token, an API key or a PIN, and never grow with the size or
//! the rate of what a client sends.

use super::{uuid, ApiKeyId, AuditRow, SqliteRegistry};
use crate::error::ServerError;
use aisle_core::ids::{DeviceId, TenantId, WarehouseId};
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior};
use sha2::{Digest as _, Sha256};
use std::fmt;

/// The most characters a stored `detail` has; longer ones are cut (ending in `…`).
pub const AUDIT_TEXT_MAX_CHARS: usize = 256;

/// The most characters a stored `reason` has.
pub(crate) const REASON_MAX_CHARS: usize = 64;

/// The default row cap. A row is at most about 1.3 KB (256 characters of detail, up to
/// 4 bytes each, and about 250 bytes of ids, times and hashes), so the log stays under
/// about 65 MB, and usually far less: details are short and repeats coalesce.
pub const DEFAULT_AUDIT_MAX_ROWS: u64 = 50_000;

/// What a prune or the cap leaves: this share of the cap, so the cap prunes in batches
/// rather than on every new row.
pub(crate) const CAP_KEEP_PERCENT: u64 = 90;

pub(crate) const GENESIS_HASH: [u8; 32] = [0; 32];

/// Whose requests an audit row counts: the key, with the reason and the minute, that
/// repeats coalesce under.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum AuditSource {
    Device(DeviceId),
    ApiKey(ApiKeyId),
    /// A tenant-level action with no device or key, e.g. an operator's forced restore.
    Tenant(TenantId),
    Server,
    /// The record of a prune that removed every row up to and including this id.
    Prune {
        through_id: i64,
    },
}

impl AuditSource {
    /// The source a row names on its own: its device, else its tenant, else the server.
    pub fn of(row: &AuditRow) -> Self {
        match (row.device, row.tenant) {
            (Some(device), _) => Self::Device(device),
            (None, Some(tenant)) => Self::Tenant(tenant),
            (None, None) => Self::Server,
        }
    }
}

impl fmt::Display for AuditSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Device(device) => write!(f, "device:{device}"),
            Self::ApiKey(key) => write!(f, "api_key:{key}"),
            Self::Tenant(tenant) => write!(f, "tenant:{tenant}"),
            Self::Server => f.write_str("server"),
            Self::Prune { through_id } => write!(f, "prune:{through_id}"),
        }
    }
}

/// One stored row of the audit log, with its coalescing counters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    pub id: i64,
    pub source: String,
    pub tenant: Option<TenantId>,
    pub warehouse: Option<WarehouseId>,
    pub device: Option<DeviceId>,
    pub reason: String,
    /// The minute's first detail, at most [`AUDIT_TEXT_MAX_CHARS`] characters.
    pub detail: String,
    /// SHA-256 of that detail in full, before it was bounded.
    pub detail_sha256: [u8; 32],
    /// How many times (source, reason) happened in the row's minute.
    pub count: i64,
    pub first_seen_ms: i64,
    pub last_seen_ms: i64,
}

/// What a prune removed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pruned {
    pub n_rows: u64,
    /// The new anchor: the last removed row's id (unchanged when nothing was removed).
    pub through_id: i64,
    /// The id of the row that records the prune.
    pub record_id: i64,
}

/// An intact chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainVerified {
    pub n_rows: u64,
    pub anchor_id: i64,
    pub head_id: i64,
    pub head_hash: [u8; 32],
}

/// The first row that does not fit the chain, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainBreak {
    pub row_id: i64,
    pub why: String,
}

impl fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "row {}: {}", self.row_id, self.why)
    }
}

/// `text` cut to at most `max_chars` characters, the last being `…` when it was cut.
pub fn bounded(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        None => text.to_owned(),
        Some(_) => {
            let keep = max_chars.saturating_sub(1);
            let end = text
                .char_indices()
                .nth(keep)
                .map_or(text.len(), |(at, _)| at);
            format!("{}…", &text[..end])
        }
    }
}

/// The fields a row's hash covers.
pub(crate) struct ChainedFields<'a> {
    pub(crate) id: i64,
    pub(crate) source: &'a str,
    pub(crate) reason: &'a str,
    pub(crate) minute: i64,
    pub(crate) first_seen_ms: i64,
    pub(crate) tenant: Option<[u8; 16]>,
    pub(crate) warehouse: Option<[u8; 16]>,
    pub(crate) device: Option<[u8; 16]>,
    pub(crate) detail: &'a str,
    pub(crate) detail_sha256: [u8; 32],
}

impl ChainedFields<'_> {
    /// SHA-256 over a version tag, the previous row's hash and the fields, each text
    /// length-prefixed and each optional id tagged, so no two rows encode alike.
    pub(crate) fn hash(&self, prev_hash: &[u8; 32]) -> [u8; 32] {
        let mut hasher = Sha256::new();
        hasher.update(b"aisle security_audit v1\0");
        hasher.update(prev_hash);
        hasher.update(self.id.to_be_bytes());
        for text in [self.source, self.reason] {
            hasher.update((text.len() as u64).to_be_bytes());
            hasher.update(text.as_bytes());
        }
        hasher.update(self.minute.to_be_bytes());
        hasher.update(self.first_seen_ms.to_be_bytes());
        for id in [self.tenant, self.warehouse, self.device] {
            match id {
                Some(bytes) => {
                    hasher.update([1]);
                    hasher.update(bytes);
                }
                None => hasher.update([0]),
            }
        }
        hasher.update((self.detail.len() as u64).to_be_bytes());
        hasher.update(self.detail.as_bytes());
        hasher.update(self.detail_sha256);
        hasher.finalize().into()
    }
}

struct ChainEnds {
    anchor_id: i64,
    anchor_hash: [u8; 32],
    head_id: i64,
    head_hash: [u8; 32],
}

fn chain_ends(conn: &Connection) -> rusqlite::Result<ChainEnds> {
    conn.query_row(
        "SELECT anchor_id, anchor_hash, head_id, head_hash FROM security_audit_chain",
        [],
        |row| {
            Ok(ChainEnds {
                anchor_id: row.get(0)?,
                anchor_hash: row.get(1)?,
                head_id: row.get(2)?,
                head_hash: row.get(3)?,
            })
        },
    )
}

/// Whether a write added a row or counted a repeat in one.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Written {
    Coalesced,
    New { id: i64 },
}

/// Writes one occurrence: a repeat of (source, reason) in its minute is counted in that
/// minute's row, anything else becomes a new row chained onto the head.
fn write(
    tx: &Transaction<'_>,
    source: AuditSource,
    row: &AuditRow,
    now_ms: i64,
) -> rusqlite::Result<Written> {
    let source = source.to_string();
    let reason = bounded(&row.reason, REASON_MAX_CHARS);
    let minute = now_ms.div_euclid(60_000);
    let n_coalesced = tx.execute(
        "UPDATE security_audit SET count = count + 1, last_seen_ms = max(last_seen_ms, ?4)
         WHERE source = ?1 AND reason = ?2 AND minute = ?3",
        (&source, &reason, minute, now_ms),
    )?;
    if n_coalesced > 0 {
        return Ok(Written::Coalesced);
    }
    let ends = chain_ends(tx)?;
    let detail = bounded(&row.detail, AUDIT_TEXT_MAX_CHARS);
    let fields = ChainedFields {
        id: ends.head_id + 1,
        source: &source,
        reason: &reason,
        minute,
        first_seen_ms: now_ms,
        tenant: row.tenant.map(|id| *id.as_bytes()),
        warehouse: row.warehouse.map(|id| *id.as_bytes()),
        device: row.device.map(|id| *id.as_bytes()),
        detail: &detail,
        detail_sha256: Sha256::digest(row.detail.as_bytes()).into(),
    };
    let row_hash = fields.hash(&ends.head_hash);
    tx.execute(
        "INSERT INTO security_audit (id, source, reason, minute, first_seen_ms, last_seen_ms,
             count, tenant, warehouse, device, detail, detail_sha256, prev_hash, row_hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5, 1, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        rusqlite::params![
            fields.id,
            fields.source,
            fields.reason,
            fields.minute,
            fields.first_seen_ms,
            fields.tenant,
            fields.warehouse,
            fields.device,
            fields.detail,
            fields.detail_sha256,
            ends.head_hash,
            row_hash,
        ],
    )?;
    tx.execute(
        "UPDATE security_audit_chain SET head_id = ?1, head_hash = ?2",
        (fields.id, row_hash),
    )?;
    Ok(Written::New { id: fields.id })
}

/// Removes every row up to and including `through_id` (a prefix) and makes the last one
/// the anchor, then records the prune as a new row. Returns what was removed.
fn prune_through(
    tx: &Transaction<'_>,
    through_id: i64,
    reason: &str,
    why: &str,
    now_ms: i64,
) -> rusqlite::Result<Pruned> {
    let ends = chain_ends(tx)?;
    let through_id = through_id.clamp(ends.anchor_id, ends.head_id);
    let (n_rows, first_seen, last_seen): (i64, Option<i64>, Option<i64>) = tx.query_row(
        "SELECT count(*), min(first_seen_ms), max(last_seen_ms) FROM security_audit
         WHERE id <= ?1",
        [through_id],
        |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
    )?;
    if through_id > ends.anchor_id {
        let anchor_hash: [u8; 32] = tx
            .query_row(
                "SELECT row_hash FROM security_audit WHERE id = ?1",
                [through_id],
                |row| row.get(0),
            )
            .optional()?
            // A missing row is a broken chain; keep the anchor verifiable from the head's
            // side rather than refusing to prune (verify names the break).
            .unwrap_or(GENESIS_HASH);
        tx.execute("DELETE FROM security_audit WHERE id <= ?1", [through_id])?;
        tx.execute(
            "UPDATE security_audit_chain SET anchor_id = ?1, anchor_hash = ?2",
            (through_id, anchor_hash),
        )?;
    }
    let span = match (first_seen, last_seen) {
        (Some(first), Some(last)) => format!(
            "ids {}..={through_id}, seen {} to {}",
            ends.anchor_id + 1,
            iso(tx, first)?,
            iso(tx, last)?
        ),
        _ => "nothing".to_owned(),
    };
    let record = AuditRow {
        tenant: None,
        warehouse: None,
        device: None,
        reason: reason.to_owned(),
        detail: format!("removed {n_rows} rows ({span}); {why}"),
    };
    let record_id = match write(tx, AuditSource::Prune { through_id }, &record, now_ms)? {
        Written::New { id } => id,
        Written::Coalesced => chain_ends(tx)?.head_id,
    };
    Ok(Pruned {
        n_rows: n_rows as u64,
        through_id,
        record_id,
    })
}

/// Milliseconds since the epoch as an ISO 8601 UTC time, by SQLite's date functions.
fn iso(conn: &Connection, ms: i64) -> rusqlite::Result<String> {
    conn.query_row(
        "SELECT strftime('%Y-%m-%dT%H:%M:%SZ', ?1 / 1000, 'unixepoch')",
        [ms],
        |row| row.get(0),
    )
}

/// Prunes the oldest rows when the log holds more than `max_rows`, leaving 90% of it
/// (and at least one row free for the record of the prune).
fn enforce_cap(tx: &Transaction<'_>, max_rows: u64, now_ms: i64) -> rusqlite::Result<()> {
    let ends = chain_ends(tx)?;
    // Only prefixes are removed, so the rows present are exactly the ids after the anchor.
    let n_rows = (ends.head_id - ends.anchor_id).max(0) as u64;
    let max_rows = max_rows.max(1);
    if n_rows <= max_rows {
        return Ok(());
    }
    let keep = (max_rows * CAP_KEEP_PERCENT / 100).min(max_rows - 1);
    let through_id = ends.head_id - keep as i64;
    let why = format!("the log passed its cap of {max_rows} rows");
    prune_through(tx, through_id, "audit_capped", &why, now_ms)?;
    Ok(())
}

/// The rows of schema 1's `security_audit` (renamed `security_audit_schema1` by migration
/// 0003), written in id order through [`write`]: bounded, hashed, coalesced and chained at
/// their own time. The migration's hook; it drops the old table when done.
pub(crate) fn chain_schema1_rows(tx: &Transaction<'_>) -> rusqlite_migration::HookResult {
    {
        let mut statement = tx.prepare(
            "SELECT at_ms, tenant, warehouse, device, reason, detail
             FROM security_audit_schema1 ORDER BY id",
        )?;
        let mut rows = statement.query([])?;
        while let Some(row) = rows.next()? {
            let id = |index: usize| -> rusqlite::Result<Option<uuid::Uuid>> {
                Ok(row.get::<_, Option<[u8; 16]>>(index)?.map(uuid))
            };
            let at_ms: i64 = row.get(0)?;
            let audit_row = AuditRow {
                tenant: id(1)?.map(TenantId::from_uuid),
                warehouse: id(2)?.map(WarehouseId::from_uuid),
                device: id(3)?.map(DeviceId::from_uuid),
                reason: row.get(4)?,
                detail: row.get(5)?,
            };
            // Schema 1 wrote an API key's id at the start of the detail.
            let api_key = audit_row
                .detail
                .strip_prefix("api key ")
                .and_then(|rest| rest.get(..36))
                .and_then(|id| id.parse::<ApiKeyId>().ok());
            let source = match api_key {
                Some(key) if audit_row.device.is_none() => AuditSource::ApiKey(key),
                _ => AuditSource::of(&audit_row),
            };
            write(tx, source, &audit_row, at_ms)?;
        }
    }
    tx.execute_batch("DROP TABLE security_audit_schema1")?;
    Ok(())
}

fn entry_at(row: &rusqlite::Row<'_>) -> rusqlite::Result<AuditEntry> {
    let id = |index: usize| -> rusqlite::Result<Option<uuid::Uuid>> {
        Ok(row.get::<_, Option<[u8; 16]>>(index)?.map(uuid))
    };
    Ok(AuditEntry {
        id: row.get(0)?,
        source: row.get(1)?,
        tenant: id(2)?.map(TenantId::from_uuid),
        warehouse: id(3)?.map(WarehouseId::from_uuid),
        device: id(4)?.map(DeviceId::from_uuid),
        reason: row.get(5)?,
        detail: row.get(6)?,
        detail_sha256: row.get(7)?,
        count: row.get(8)?,
        first_seen_ms: row.get(9)?,
        last_seen_ms: row.get(10)?,
    })
}

const ENTRY_COLUMNS: &str = "id, source, tenant, warehouse, device, reason, detail, \
     detail_sha256, count, first_seen_ms, last_seen_ms";

impl SqliteRegistry {
    /// Sets the row cap the server holds the audit log to (at least 1).
    pub fn with_audit_max_rows(mut self, max_rows: u64) -> Self {
        self.audit_max_rows = max_rows.max(1);
        self
    }

    /// Records a refusal of `source`: counted in its minute's row if (source, reason)
    /// already has one, else a new chained row, pruning the oldest rows past the cap.
    pub(super) fn audit_as(
        &self,
        source: AuditSource,
        row: &AuditRow,
        now_ms: i64,
    ) -> Result<(), ServerError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if let Written::New { .. } = write(&tx, source, row, now_ms)? {
            enforce_cap(&tx, self.audit_max_rows, now_ms)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The stored rows, oldest first: all of them, or the newest `limit`.
    pub(super) fn audit_entries(&self, limit: Option<u64>) -> Result<Vec<AuditEntry>, ServerError> {
        let conn = self.conn();
        let limit = limit.map_or(-1, |limit| i64::try_from(limit).unwrap_or(i64::MAX));
        let mut statement = conn.prepare(&format!(
            "SELECT * FROM (SELECT {ENTRY_COLUMNS} FROM security_audit ORDER BY id DESC LIMIT ?1)
             ORDER BY id"
        ))?;
        let rows = statement.query_map([limit], entry_at)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Removes the oldest rows, up to the first one last seen at or after `before_ms`, and
    /// records what it removed (`audit_pruned`) in the chain.
    pub(super) fn prune_audit_before(
        &self,
        before_ms: i64,
        now_ms: i64,
    ) -> Result<Pruned, ServerError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let first_kept: Option<i64> = tx.query_row(
            "SELECT min(id) FROM security_audit WHERE last_seen_ms >= ?1",
            [before_ms],
            |row| row.get(0),
        )?;
        let through_id = match first_kept {
            Some(id) => id - 1,
            None => chain_ends(&tx)?.head_id,
        };
        let why = format!(
            "operator pruned rows last seen before {}",
            iso(&tx, before_ms)?
        );
        let pruned = prune_through(&tx, through_id, "audit_pruned", &why, now_ms)?;
        tx.commit()?;
        Ok(pruned)
    }

    /// Walks the chain from its anchor to its head: the first row whose hash does not match
    /// its fields, or that does not follow the row before it, breaks it.
    pub(super) fn verify_audit(&self) -> Result<Result<ChainVerified, ChainBreak>, ServerError> {
        let mut conn = self.conn();
        // One read transaction: a consistent snapshot while the server keeps writing.
        let tx = conn.transaction()?;
        let ends = chain_ends(&tx)?;
        let mut statement = tx.prepare(
            "SELECT id, source, reason, minute, first_seen_ms, tenant, warehouse, device,
                    detail, detail_sha256, prev_hash, row_hash
             FROM security_audit ORDER BY id",
        )?;
        let mut rows = statement.query([])?;
        let (mut last_id, mut last_hash, mut n_rows) = (ends.anchor_id, ends.anchor_hash, 0u64);
        while let Some(row) = rows.next()? {
            let (source, reason, detail): (String, String, String) =
                (row.get(1)?, row.get(2)?, row.get(8)?);
            let fields = ChainedFields {
                id: row.get(0)?,
                source: &source,
                reason: &reason,
                minute: row.get(3)?,
                first_seen_ms: row.get(4)?,
                tenant: row.get(5)?,
                warehouse: row.get(6)?,
                device: row.get(7)?,
                detail: &detail,
                detail_sha256: row.get(9)?,
            };
            let (prev_hash, row_hash): ([u8; 32], [u8; 32]) = (row.get(10)?, row.get(11)?);
            let row_id = fields.id;
            let broken = |why: String| Ok(Err(ChainBreak { row_id, why }));
            if row_id <= ends.anchor_id {
                return broken(format!(
                    "it is at or before the prune anchor (row {})",
                    ends.anchor_id
                ));
            }
            if prev_hash != last_hash || row_id != last_id + 1 {
                return broken(format!(
                    "it does not follow row {last_id}: a row between them was removed, \
                     inserted or rewritten"
                ));
            }
            if fields.hash(&prev_hash) != row_hash {
                return broken("its fields do not match its hash: it was changed".to_owned());
            }
            (last_id, last_hash, n_rows) = (row_id, row_hash, n_rows + 1);
        }
        if last_id != ends.head_id || last_hash != ends.head_hash {
            return Ok(Err(ChainBreak {
                row_id: last_id + 1,
                why: format!(
                    "the chain ends at row {last_id} but its head is row {}: rows were removed \
                     from the end, or the head was changed",
                    ends.head_id
                ),
            }));
        }
        Ok(Ok(ChainVerified {
            n_rows,
            anchor_id: ends.anchor_id,
            head_id: ends.head_id,
            head_hash: ends.head_hash,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::Registry;
    use rusqlite_migration::{Migrations, M};

    fn refusal(device: DeviceId, detail: String) -> AuditRow {
        AuditRow {
            tenant: None,
            warehouse: None,
            device: Some(device),
            reason: "tenant_mismatch".to_owned(),
            detail,
        }
    }

    #[test]
    fn bounded_cuts_at_a_character_and_marks_the_cut() {
        assert_eq!(bounded("short", 8), "short");
        assert_eq!(bounded("exactly8", 8), "exactly8");
        assert_eq!(bounded("ninechars", 8), "ninecha…");
        let cut = bounded(&"é".repeat(300), AUDIT_TEXT_MAX_CHARS);
        assert_eq!(cut.chars().count(), AUDIT_TEXT_MAX_CHARS, "{cut}");
        assert!(cut.ends_with('…'), "a cut detail says so");
    }

    /// Schema 1 kept one unbounded row per request; migration 0003 carries each over,
    /// bounded and chained, and coalesces the flood in it.
    #[test]
    fn schema_1_rows_survive_the_migration_bounded_coalesced_and_chained() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("registry.sqlite3");
        let device = DeviceId::new_v7(1, [7; 10]);
        {
            let mut conn = Connection::open(&path).expect("open");
            Migrations::new(vec![
                M::up(include_str!(
                    "../../../../migrations/cloud/registry/0001_init.sql"
                )),
                M::up(include_str!(
                    "../../../../migrations/cloud/registry/0002_api_keys.sql"
                )),
            ])
            .to_latest(&mut conn)
            .expect("schema 2");
            let insert =
                "INSERT INTO security_audit (at_ms, tenant, warehouse, device, reason, detail)
                          VALUES (?1, NULL, NULL, ?2, ?3, ?4)";
            let long = format!("path tenant {:?}", "x".repeat(30_000));
            for at_ms in [60_000, 60_001, 60_002] {
                conn.execute(insert, (at_ms, device.as_bytes(), "tenant_mismatch", &long))
                    .expect("old row");
            }
            conn.execute(
                insert,
                (200_000, device.as_bytes(), "revoked_token", "GET /x"),
            )
            .expect("old row");
        }
        let registry = SqliteRegistry::open(&path).expect("migrates");
        let entries = registry.audit_entries(None).expect("entries");
        let summary: Vec<(&str, i64, usize)> = entries
            .iter()
            .map(|entry| {
                (
                    entry.reason.as_str(),
                    entry.count,
                    entry.detail.chars().count(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("tenant_mismatch", 3, AUDIT_TEXT_MAX_CHARS),
                ("revoked_token", 1, 6)
            ],
            "three repeats in one minute are one row, cut to the bound"
        );
        assert_eq!(entries[0].source, format!("device:{device}"));
        assert_eq!(entries[0].first_seen_ms, 60_000, "old rows keep their time");
        assert_eq!(entries[0].last_seen_ms, 60_002);
        let verified = registry.verify_audit().expect("db").expect("intact");
        assert_eq!(verified.n_rows, 2);
    }

    #[test]
    fn the_cap_prunes_a_prefix_and_records_it_in_the_chain() {
        let dir = tempfile::tempdir().expect("tempdir");
        let registry = SqliteRegistry::open(&dir.path().join("r.sqlite3"))
            .expect("open")
            .with_audit_max_rows(10);
        let device = DeviceId::new_v7(1, [1; 10]);
        for minute in 0..25 {
            registry
                .audit(&refusal(device, format!("n{minute}")), minute * 60_000)
                .expect("audit");
            let n_rows = registry.audit_entries(None).expect("entries").len();
            assert!(n_rows <= 10, "never more than the cap: {n_rows} rows");
        }
        let entries = registry.audit_entries(None).expect("entries");
        assert!(
            entries.iter().any(|entry| entry.reason == "audit_capped"),
            "the prune is recorded: {entries:?}"
        );
        assert_eq!(
            entries
                .iter()
                .rev()
                .find(|entry| entry.reason == "tenant_mismatch")
                .map(|entry| entry.detail.as_str()),
            Some("n24"),
            "the newest refusal is kept: {entries:?}"
        );
        registry
            .verify_audit()
            .expect("db")
            .expect("the chain holds after pruning");
    }
}
