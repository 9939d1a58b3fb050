//! The PostgreSQL registry's security audit log: bounded, coalesced per (source, reason,
//! minute), capped with a recorded prune, and hash-chained, row for row as the SQLite
//! registry's (`crate::registry::audit`, whose doc explains the design). The row hash is that
//! module's own `ChainedFields::hash`, so a chain reads the same on either backend.
//!
//! What PostgreSQL adds: several server instances write to one log. Every writer (a new
//! row, a coalesced repeat, a prune) first takes the transaction-level advisory lock
//! [`AUDIT_LOCK`], so the chain's head moves one row at a time; [`PgRegistry::verify_audit`]
//! reads one REPEATABLE READ snapshot, so it never sees a half-written head.
//!
//! It must never hold a device token, an API key or a PIN, and never grow with the size or
//! the rate of what a client sends.

use super::PgRegistry;
use crate::error::ServerError;
use crate::registry::{
    bounded, AuditEntry, AuditRow, AuditSource, ChainBreak, ChainVerified, ChainedFields, Pruned,
    AUDIT_TEXT_MAX_CHARS, CAP_KEEP_PERCENT, GENESIS_HASH, REASON_MAX_CHARS,
};
use aisle_core::ids::{DeviceId, TenantId, WarehouseId};
use aisle_pg::PgTx;
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

/// The advisory lock every audit writer holds until it commits ("aisle-au").
const AUDIT_LOCK: i64 = 0x6169_736c_652d_6175;

struct ChainEnds {
    anchor_id: i64,
    anchor_hash: [u8; 32],
    head_id: i64,
    head_hash: [u8; 32],
}

/// A 32-byte column as an array; a stored value of another length reads as zeros, which
/// no chained row matches, so verification names the row.
fn hash32(row: &aisle_pg::Row, index: usize) -> [u8; 32] {
    let bytes: &[u8] = row.get(index);
    bytes.try_into().unwrap_or(GENESIS_HASH)
}

fn chain_ends(tx: &PgTx<'_>) -> Result<ChainEnds, ServerError> {
    let row = tx.query_one(
        "SELECT anchor_id, anchor_hash, head_id, head_hash FROM security_audit_chain",
        &[],
    )?;
    Ok(ChainEnds {
        anchor_id: row.get(0),
        anchor_hash: hash32(&row, 1),
        head_id: row.get(2),
        head_hash: hash32(&row, 3),
    })
}

/// Whether a write added a row or counted a repeat in one.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Written {
    Coalesced,
    New { id: i64 },
}

fn id_bytes(id: Option<Uuid>) -> Option<[u8; 16]> {
    id.map(|id| *id.as_bytes())
}

/// Writes one occurrence (the caller holds [`AUDIT_LOCK`]): a repeat of (source, reason)
/// in its minute is counted in that minute's row, anything else becomes a new row chained
/// onto the head.
fn write(
    tx: &PgTx<'_>,
    source: AuditSource,
    row: &AuditRow,
    now_ms: i64,
) -> Result<Written, ServerError> {
    let source = source.to_string();
    let reason = bounded(&row.reason, REASON_MAX_CHARS);
    let minute = now_ms.div_euclid(60_000);
    let n_coalesced = tx.execute(
        "UPDATE security_audit SET count = count + 1, last_seen_ms = GREATEST(last_seen_ms, $4)
         WHERE source = $1 AND reason = $2 AND minute = $3",
        &[&source, &reason, &minute, &now_ms],
    )?;
    if n_coalesced > 0 {
        return Ok(Written::Coalesced);
    }
    let ends = chain_ends(tx)?;
    let detail = bounded(&row.detail, AUDIT_TEXT_MAX_CHARS);
    let (tenant, warehouse, device) = (
        row.tenant.map(|id| *id.as_uuid()),
        row.warehouse.map(|id| *id.as_uuid()),
        row.device.map(|id| *id.as_uuid()),
    );
    let fields = ChainedFields {
        id: ends.head_id + 1,
        source: &source,
        reason: &reason,
        minute,
        first_seen_ms: now_ms,
        tenant: id_bytes(tenant),
        warehouse: id_bytes(warehouse),
        device: id_bytes(device),
        detail: &detail,
        detail_sha256: Sha256::digest(row.detail.as_bytes()).into(),
    };
    let row_hash = fields.hash(&ends.head_hash);
    tx.execute(
        "INSERT INTO security_audit (id, source, reason, minute, first_seen_ms, last_seen_ms,
             count, tenant, warehouse, device, detail, detail_sha256, prev_hash, row_hash)
         VALUES ($1, $2, $3, $4, $5, $5, 1, $6, $7, $8, $9, $10, $11, $12)",
        &[
            &fields.id,
            &fields.source,
            &fields.reason,
            &fields.minute,
            &fields.first_seen_ms,
            &tenant,
            &warehouse,
            &device,
            &fields.detail,
            &fields.detail_sha256.as_slice(),
            &ends.head_hash.as_slice(),
            &row_hash.as_slice(),
        ],
    )?;
    tx.execute(
        "UPDATE security_audit_chain SET head_id = $1, head_hash = $2",
        &[&fields.id, &row_hash.as_slice()],
    )?;
    Ok(Written::New { id: fields.id })
}

/// Milliseconds since the epoch as an ISO 8601 UTC time, as the SQLite registry writes it.
fn iso(tx: &PgTx<'_>, ms: i64) -> Result<String, ServerError> {
    Ok(tx
        .query_one(
            "SELECT to_char(to_timestamp(($1::BIGINT / 1000)::DOUBLE PRECISION)
                 AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')",
            &[&ms],
        )?
        .get(0))
}

/// Removes every row up to and including `through_id` (a prefix) and makes the last one
/// the anchor, then records the prune as a new row (the caller holds [`AUDIT_LOCK`]).
fn prune_through(
    tx: &PgTx<'_>,
    through_id: i64,
    reason: &str,
    why: &str,
    now_ms: i64,
) -> Result<Pruned, ServerError> {
    let ends = chain_ends(tx)?;
    let through_id = through_id.clamp(ends.anchor_id, ends.head_id);
    let span = tx.query_one(
        "SELECT count(*), min(first_seen_ms), max(last_seen_ms) FROM security_audit
         WHERE id <= $1",
        &[&through_id],
    )?;
    let (n_rows, first_seen, last_seen): (i64, Option<i64>, Option<i64>) =
        (span.get(0), span.get(1), span.get(2));
    if through_id > ends.anchor_id {
        let anchor_hash = tx
            .query_opt(
                "SELECT row_hash FROM security_audit WHERE id = $1",
                &[&through_id],
            )?
            .map(|row| hash32(&row, 0))
            // A missing row is a broken chain; keep the anchor verifiable from the head's
            // side rather than refusing to prune (verify names the break).
            .unwrap_or(GENESIS_HASH);
        tx.execute("DELETE FROM security_audit WHERE id <= $1", &[&through_id])?;
        tx.execute(
            "UPDATE security_audit_chain SET anchor_id = $1, anchor_hash = $2",
            &[&through_id, &anchor_hash.as_slice()],
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

/// Prunes the oldest rows when the log holds more than `max_rows`, leaving 90% of it
/// (and at least one row free for the record of the prune).
fn enforce_cap(tx: &PgTx<'_>, max_rows: u64, now_ms: i64) -> Result<(), ServerError> {
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

fn entry_at(row: &aisle_pg::Row) -> AuditEntry {
    AuditEntry {
        id: row.get(0),
        source: row.get(1),
        tenant: row.get::<_, Option<Uuid>>(2).map(TenantId::from_uuid),
        warehouse: row.get::<_, Option<Uuid>>(3).map(WarehouseId::from_uuid),
        device: row.get::<_, Option<Uuid>>(4).map(DeviceId::from_uuid),
        reason: row.get(5),
        detail: row.get(6),
        detail_sha256: hash32(row, 7),
        count: row.get(8),
        first_seen_ms: row.get(9),
        last_seen_ms: row.get(10),
    }
}

const ENTRY_COLUMNS: &str = "id, source, tenant, warehouse, device, reason, detail, \
     detail_sha256, count, first_seen_ms, last_seen_ms";

impl PgRegistry {
    /// Sets the row cap the server holds the audit log to (at least 1).
    pub fn with_audit_max_rows(mut self, max_rows: u64) -> Self {
        self.audit_max_rows = max_rows.max(1);
        self
    }

    /// Records a refusal under the source the row names ([`AuditSource::of`]).
    pub fn audit(&self, row: &AuditRow, now_ms: i64) -> Result<(), ServerError> {
        self.audit_as(AuditSource::of(row), row, now_ms)
    }

    /// Records a refusal of `source`: counted in its minute's row if (source, reason)
    /// already has one, else a new chained row, pruning the oldest rows past the cap.
    pub fn audit_as(
        &self,
        source: AuditSource,
        row: &AuditRow,
        now_ms: i64,
    ) -> Result<(), ServerError> {
        self.with_tx(|tx| {
            tx.advisory_lock(AUDIT_LOCK)?;
            if let Written::New { .. } = write(tx, source, row, now_ms)? {
                enforce_cap(tx, self.audit_max_rows, now_ms)?;
            }
            Ok(())
        })
    }

    /// The whole audit log, oldest first, one [`AuditRow`] per stored row (a row may count
    /// many repeats; see [`PgRegistry::audit_entries`]).
    pub fn audit_log(&self) -> Result<Vec<AuditRow>, ServerError> {
        Ok(self
            .audit_entries(None)?
            .into_iter()
            .map(|entry| AuditRow {
                tenant: entry.tenant,
                warehouse: entry.warehouse,
                device: entry.device,
                reason: entry.reason,
                detail: entry.detail,
            })
            .collect())
    }

    /// The stored rows, oldest first: all of them, or the newest `limit`.
    pub fn audit_entries(&self, limit: Option<u64>) -> Result<Vec<AuditEntry>, ServerError> {
        // LIMIT NULL is no limit.
        let limit = limit.map(|limit| i64::try_from(limit).unwrap_or(i64::MAX));
        self.with_tx(|tx| {
            let rows = tx.query(
                &format!(
                    "SELECT * FROM (SELECT {ENTRY_COLUMNS} FROM security_audit
                     ORDER BY id DESC LIMIT $1) AS newest ORDER BY id"
                ),
                &[&limit],
            )?;
            Ok(rows.iter().map(entry_at).collect())
        })
    }

    /// Removes the oldest rows, up to the first one last seen at or after `before_ms`, and
    /// records what it removed (`audit_pruned`) in the chain.
    pub fn prune_audit_before(&self, before_ms: i64, now_ms: i64) -> Result<Pruned, ServerError> {
        self.with_tx(|tx| {
            tx.advisory_lock(AUDIT_LOCK)?;
            let first_kept: Option<i64> = tx
                .query_one(
                    "SELECT min(id) FROM security_audit WHERE last_seen_ms >= $1",
                    &[&before_ms],
                )?
                .get(0);
            let through_id = match first_kept {
                Some(id) => id - 1,
                None => chain_ends(tx)?.head_id,
            };
            let why = format!(
                "operator pruned rows last seen before {}",
                iso(tx, before_ms)?
            );
            prune_through(tx, through_id, "audit_pruned", &why, now_ms)
        })
    }

    /// Walks the chain from its anchor to its head: the first row whose hash does not match
    /// its fields, or that does not follow the row before it, breaks it.
    pub fn verify_audit(&self) -> Result<Result<ChainVerified, ChainBreak>, ServerError> {
        self.with_tx(|tx| {
            // One snapshot for the ends and the rows, while other instances keep writing.
            tx.batch_execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")?;
            let ends = chain_ends(tx)?;
            let rows = tx.query(
                "SELECT id, source, reason, minute, first_seen_ms, tenant, warehouse, device,
                        detail, detail_sha256, prev_hash, row_hash
                 FROM security_audit ORDER BY id",
                &[],
            )?;
            let (mut last_id, mut last_hash, mut n_rows) = (ends.anchor_id, ends.anchor_hash, 0u64);
            for row in &rows {
                let (source, reason, detail): (String, String, String) =
                    (row.get(1), row.get(2), row.get(8));
                let fields = ChainedFields {
                    id: row.get(0),
                    source: &source,
                    reason: &reason,
                    minute: row.get(3),
                    first_seen_ms: row.get(4),
                    tenant: id_bytes(row.get(5)),
                    warehouse: id_bytes(row.get(6)),
                    device: id_bytes(row.get(7)),
                    detail: &detail,
                    detail_sha256: hash32(row, 9),
                };
                let (prev_hash, row_hash) = (hash32(row, 10), hash32(row, 11));
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
                        "the chain ends at row {last_id} but its head is row {}: rows were \
                         removed from the end, or the head was changed",
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
        })
    }
}
