//! Backup and restore of a PostgreSQL tenant, in the same portable file the SQLite backend
//! writes: a tenant SQLite database. So a backup taken on either backend restores on
//! either, and an operator moves a tenant from the embedded SQLite backend to PostgreSQL
//! (or back) by a backup on one and a restore on the other.
//!
//! - **Backup** reads the tenant's event log and master data in one REPEATABLE READ,
//!   READ ONLY snapshot and writes them into a fresh SQLite tenant database (this build's
//!   SQLite schema, stamped with the tenant) beside the target, whose projection is then
//!   rebuilt from that log as a server's rules replay would; the file is renamed into place
//!   once complete. Before the rename the file's stock checksum of every warehouse must
//!   equal the PostgreSQL projection's in the snapshot, so a backup never silently differs
//!   from what devices were served.
//! - **Restore** runs every check of the SQLite restore on the file first
//!   ([`crate::backup::checked_backup`]: integrity, schema, tenant stamp and events,
//!   complete schema, projection equal to a rebuild of its log or `--repair`, the audited
//!   `--force-tenant`), on a scratch copy in the temp directory. Then, in one transaction on
//!   the tenant's database under its push lock ([`super::PUSH_LOCK`]; a database the server
//!   never opened is migrated and stamped first, one fenced by a tenant move, `tenant_meta`'s
//!   `move_fence`, is refused), it replaces the event log and master data with the checked
//!   copy's, rebuilds the projection from the log, and commits only when the event count,
//!   last seq and every warehouse's stock checksum equal the checked copy's. Pushes wait on
//!   the lock, and reads on the event table's exclusive lock (the log's append-only trigger
//!   is switched off for the restore's own delete, inside the transaction), and then see the
//!   restored tenant; nothing changes when any step fails.
//!
//! Tables are copied column by column by name ([`TABLES`]): ids are `uuid` on PostgreSQL and
//! 16-byte blobs in SQLite, booleans `BOOLEAN` and 0/1. `tenant_meta` is not copied (each
//! side keeps its own stamp; a move's fence stays where it is).

use super::placement::Placement;
use super::PUSH_LOCK;
use crate::backup::{self, LogSummary, RestoreOptions, Restored, Scratch};
use crate::error::ServerError;
use crate::migrate;
use crate::registry::Registry;
use aisle_core::ids::{ItemId, LocationId, TenantId, WarehouseId};
use aisle_core::stock::StockKey;
use aisle_pg::tokio_postgres::types::ToSql;
use aisle_pg::{deadpool_postgres, tokio_postgres, PgTx};
use rusqlite::types::Value;
use rusqlite::Connection;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use tokio::runtime::Handle;
use uuid::Uuid;

/// How a column is stored on each side.
#[derive(Clone, Copy, Debug)]
enum Kind {
    /// `uuid` / 16-byte BLOB.
    Id,
    /// `BIGINT` / INTEGER.
    Int,
    /// `INTEGER` (4 bytes) / INTEGER.
    Int4,
    /// `BOOLEAN` / 0 or 1.
    Bool,
    /// `TEXT` / TEXT, possibly NULL.
    Text,
}

/// A copied table: its name and columns (SQLite name, PostgreSQL name, kind).
struct Table {
    name: &'static str,
    columns: &'static [(&'static str, &'static str, Kind)],
}

/// The tables a backup carries, parents before children (restore deletes in reverse).
/// The projection is not among them: it is rebuilt from the log on the receiving side.
const TABLES: &[Table] = &[
    Table {
        name: "events",
        columns: &[
            ("seq", "seq", Kind::Int),
            ("id", "id", Kind::Id),
            ("warehouse", "warehouse", Kind::Id),
            ("device", "device", Kind::Id),
            ("hlc", "hlc", Kind::Int),
            ("kind", "kind", Kind::Text),
            ("received_ms", "received_ms", Kind::Int),
            ("payload", "payload", Kind::Text),
        ],
    },
    Table {
        name: "master_version",
        columns: &[("id", "id", Kind::Int4), ("version", "version", Kind::Int)],
    },
    Table {
        name: "items",
        columns: &[
            ("id", "id", Kind::Id),
            ("sku", "sku", Kind::Text),
            ("name", "name", Kind::Text),
            ("base_unit", "base_unit", Kind::Text),
            ("lot_tracked", "lot_tracked", Kind::Bool),
            ("version", "version", Kind::Int),
        ],
    },
    Table {
        name: "item_barcodes",
        columns: &[
            ("barcode", "barcode", Kind::Text),
            ("item", "item", Kind::Id),
            ("pack_qty", "pack_qty", Kind::Int),
        ],
    },
    Table {
        name: "locations",
        columns: &[
            ("id", "id", Kind::Id),
            ("warehouse", "warehouse", Kind::Id),
            ("code", "code", Kind::Text),
            ("name", "name", Kind::Text),
            ("walk_order", "walk_order", Kind::Int),
            ("version", "version", Kind::Int),
        ],
    },
    Table {
        name: "users",
        columns: &[
            ("id", "id", Kind::Id),
            ("badge", "badge", Kind::Text),
            ("name", "name", Kind::Text),
            ("role", "role", Kind::Text),
            ("pin_hash", "pin_hash", Kind::Text),
            ("active", "active", Kind::Bool),
            ("version", "version", Kind::Int),
        ],
    },
    Table {
        name: "user_warehouses",
        columns: &[
            ("user", "user_id", Kind::Id),
            ("warehouse", "warehouse", Kind::Id),
            ("member", "member", Kind::Bool),
        ],
    },
    Table {
        name: "pick_lists",
        columns: &[
            ("id", "id", Kind::Id),
            ("warehouse", "warehouse", Kind::Id),
            ("reference", "reference", Kind::Text),
            ("status", "status", Kind::Text),
            ("version", "version", Kind::Int),
        ],
    },
    Table {
        name: "pick_lines",
        columns: &[
            ("pick_list", "pick_list", Kind::Id),
            ("line", "line", Kind::Int),
            ("item", "item", Kind::Id),
            ("location", "location", Kind::Id),
            ("lot", "lot", Kind::Text),
            ("qty", "qty", Kind::Int),
        ],
    },
    Table {
        name: "expected_receipts",
        columns: &[
            ("id", "id", Kind::Id),
            ("warehouse", "warehouse", Kind::Id),
            ("reference", "reference", Kind::Text),
            ("supplier", "supplier", Kind::Text),
            ("status", "status", Kind::Text),
            ("version", "version", Kind::Int),
        ],
    },
    Table {
        name: "expected_lines",
        columns: &[
            ("receipt", "receipt", Kind::Id),
            ("line", "line", Kind::Int),
            ("item", "item", Kind::Id),
            ("lot", "lot", Kind::Text),
            ("qty", "qty", Kind::Int),
        ],
    },
    Table {
        name: "pin_policy",
        columns: &[
            ("id", "id", Kind::Int4),
            ("picker_min_digits", "picker_min_digits", Kind::Int4),
            ("manager_min_digits", "manager_min_digits", Kind::Int4),
        ],
    },
    Table {
        name: "erp_outbox",
        columns: &[
            ("position", "position", Kind::Int),
            ("id", "id", Kind::Id),
            ("tenant", "tenant", Kind::Id),
            ("warehouse", "warehouse", Kind::Id),
            ("type", "type", Kind::Text),
            ("version", "version", Kind::Int),
            ("occurred_ms", "occurred_ms", Kind::Int),
            ("cause_seq", "cause_seq", Kind::Int),
            ("body", "body", Kind::Text),
        ],
    },
    Table {
        name: "pick_line_shorts",
        columns: &[
            ("event_id", "event_id", Kind::Id),
            ("pick_list", "pick_list", Kind::Id),
            ("line", "line", Kind::Int),
            ("qty_short", "qty_short", Kind::Int),
            ("reason", "reason", Kind::Text),
        ],
    },
];

/// A short-lived pool of one connection to the tenant's database on its primary (the
/// admin commands' own, not the server's tenant pools).
pub(crate) fn tenant_pool(placement: &Placement) -> Result<deadpool_postgres::Pool, ServerError> {
    // The parser's error may quote the URL, password and all: say only that it is not one.
    let mut config: tokio_postgres::Config = placement.primary_url.parse().map_err(|_| {
        ServerError::Invalid(format!(
            "the url of cluster {} is not a valid postgres:// url",
            placement.cluster
        ))
    })?;
    config.dbname(&placement.database);
    config.connect_timeout(std::time::Duration::from_secs(10));
    let manager = deadpool_postgres::Manager::from_config(
        config,
        tokio_postgres::NoTls,
        deadpool_postgres::ManagerConfig {
            recycling_method: deadpool_postgres::RecyclingMethod::Fast,
        },
    );
    deadpool_postgres::Pool::builder(manager)
        .max_size(1)
        .runtime(deadpool_postgres::Runtime::Tokio1)
        .build()
        .map_err(|error| ServerError::Invalid(format!("the tenant's pool: {error}")))
}

/// Refuses a database stamped for another tenant (or not yet stamped: never opened).
fn check_stamp(tx: &PgTx<'_>, tenant: TenantId) -> Result<(), ServerError> {
    let stamp: Option<String> = tx
        .query_opt("SELECT value FROM tenant_meta WHERE name = 'tenant'", &[])?
        .map(|row| row.get(0));
    match stamp {
        Some(stamp) if stamp == tenant.to_string() => Ok(()),
        Some(stamp) => Err(ServerError::Invalid(format!(
            "the tenant's database is stamped for tenant {stamp}, not {tenant}"
        ))),
        None => Err(ServerError::Invalid(format!(
            "the database of tenant {tenant} is not stamped yet (never opened); run \
             `migrate --all` first"
        ))),
    }
}

fn pg_summary(tx: &PgTx<'_>) -> Result<LogSummary, ServerError> {
    let row = tx.query_one("SELECT count(*), COALESCE(MAX(seq), 0) FROM events", &[])?;
    Ok(LogSummary {
        n_events: row.get::<_, i64>(0) as u64,
        last_seq: row.get::<_, i64>(1) as u64,
    })
}

/// Writes a consistent copy of the PostgreSQL tenant `tenant` (at `placement`) to `out`, a
/// SQLite tenant database that must not exist yet. Call from a blocking thread.
pub fn backup_tenant(
    placement: &Placement,
    tenant: TenantId,
    out: &Path,
    runtime: &Handle,
) -> Result<LogSummary, ServerError> {
    if out.exists() {
        return Err(ServerError::Invalid(format!(
            "{} exists already; choose a new file",
            out.display()
        )));
    }
    let partial = partial_path(out);
    let _ = std::fs::remove_file(&partial);
    let written = write_backup(placement, tenant, &partial, runtime);
    match written {
        Ok(summary) => {
            std::fs::rename(&partial, out).map_err(ServerError::Io)?;
            Ok(summary)
        }
        Err(error) => {
            let _ = std::fs::remove_file(&partial);
            Err(error)
        }
    }
}

fn partial_path(out: &Path) -> std::path::PathBuf {
    let mut name = out.file_name().unwrap_or_default().to_owned();
    name.push(".partial");
    out.with_file_name(name)
}

fn write_backup(
    placement: &Placement,
    tenant: TenantId,
    path: &Path,
    runtime: &Handle,
) -> Result<LogSummary, ServerError> {
    let pool = tenant_pool(placement)?;
    let mut pg = aisle_pg::connect(&pool, runtime)?;
    let tx = pg.transaction()?;
    tx.batch_execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")?;
    check_stamp(&tx, tenant)?;
    let source = pg_summary(&tx)?;
    let source_checksums = pg_checksums(&tx)?;

    let mut file = Connection::open(path)?;
    migrate::migrate_tenant(&mut file)?;
    migrate::stamp_tenant(&file, tenant)?;
    let sqlite = file.transaction()?;
    for table in TABLES {
        sqlite.execute(&format!("DELETE FROM {}", table.name), [])?;
        let pg_columns: Vec<&str> = table.columns.iter().map(|c| c.1).collect();
        let sqlite_columns: Vec<String> = table
            .columns
            .iter()
            .map(|c| format!("\"{}\"", c.0))
            .collect();
        let placeholders: Vec<String> =
            (1..=table.columns.len()).map(|n| format!("?{n}")).collect();
        let mut insert = sqlite.prepare(&format!(
            "INSERT INTO {} ({}) VALUES ({})",
            table.name,
            sqlite_columns.join(", "),
            placeholders.join(", ")
        ))?;
        // The log is read in pages of seqs, so a large tenant is never all in memory; the
        // master tables are read whole.
        let paged = table.name == "events";
        let select = if paged {
            format!(
                "SELECT {} FROM events WHERE seq > $1 ORDER BY seq LIMIT {BATCH_ROWS}",
                pg_columns.join(", ")
            )
        } else {
            format!("SELECT {} FROM {}", pg_columns.join(", "), table.name)
        };
        let mut after_seq = 0_i64;
        loop {
            let rows = if paged {
                tx.query(&select, &[&after_seq])?
            } else {
                tx.query(&select, &[])?
            };
            for row in &rows {
                let values: Vec<Value> = table
                    .columns
                    .iter()
                    .enumerate()
                    .map(|(index, (_, _, kind))| pg_value(row, index, *kind))
                    .collect();
                insert.execute(rusqlite::params_from_iter(values))?;
            }
            match rows.last() {
                Some(last) if paged && rows.len() == BATCH_ROWS => after_seq = last.get(0),
                _ => break,
            }
        }
    }
    crate::rebuild::replay(&sqlite)?;
    aisle_projection::sqlite::rules::record_current(&sqlite)?;
    sqlite.commit()?;
    tx.rollback()?;

    let copied = backup::summary(&file)?;
    let copied_checksums = sqlite_checksums(&file)?;
    if copied != source || copied_checksums != source_checksums {
        return Err(ServerError::Invalid(format!(
            "the copy does not match the tenant's database (events {} / last seq {} copied, \
             {} / {} in PostgreSQL; stock checksums {}); nothing was written",
            copied.n_events,
            copied.last_seq,
            source.n_events,
            source.last_seq,
            if copied_checksums == source_checksums {
                "equal"
            } else {
                "differ"
            }
        )));
    }
    file.execute_batch("VACUUM")?;
    Ok(copied)
}

fn pg_value(row: &aisle_pg::Row, index: usize, kind: Kind) -> Value {
    match kind {
        Kind::Id => row
            .get::<_, Option<Uuid>>(index)
            .map_or(Value::Null, |id| Value::Blob(id.as_bytes().to_vec())),
        Kind::Int => row
            .get::<_, Option<i64>>(index)
            .map_or(Value::Null, Value::Integer),
        Kind::Int4 => row
            .get::<_, Option<i32>>(index)
            .map_or(Value::Null, |n| Value::Integer(i64::from(n))),
        Kind::Bool => row
            .get::<_, Option<bool>>(index)
            .map_or(Value::Null, |b| Value::Integer(i64::from(b))),
        Kind::Text => row
            .get::<_, Option<String>>(index)
            .map_or(Value::Null, Value::Text),
    }
}

/// Rows per statement (restore) and per page read (backup); 2 in this crate's tests, so
/// their few rows already take several pages and batches.
const BATCH_ROWS: usize = if cfg!(test) { 2 } else { 5_000 };

impl Kind {
    /// The PostgreSQL type of the column's array parameter.
    fn sql_type(self) -> &'static str {
        match self {
            Self::Id => "uuid",
            Self::Int => "int8",
            Self::Int4 => "int4",
            Self::Bool => "bool",
            Self::Text => "text",
        }
    }
}

/// One column of a batch of rows on their way into PostgreSQL.
#[derive(Debug)]
enum Column {
    Id(Vec<Option<Uuid>>),
    Int(Vec<Option<i64>>),
    Int4(Vec<Option<i32>>),
    Bool(Vec<Option<bool>>),
    Text(Vec<Option<String>>),
}

impl Column {
    fn new(kind: Kind) -> Self {
        match kind {
            Kind::Id => Self::Id(Vec::new()),
            Kind::Int => Self::Int(Vec::new()),
            Kind::Int4 => Self::Int4(Vec::new()),
            Kind::Bool => Self::Bool(Vec::new()),
            Kind::Text => Self::Text(Vec::new()),
        }
    }

    /// Adds a SQLite value, refusing one of the wrong type (the checks passed, so only a
    /// file with a column of another type than this build's schema gets here).
    fn push(&mut self, value: Value) -> Result<(), ServerError> {
        let wrong = |value: &Value, kind: &str| {
            ServerError::Invalid(format!(
                "refusing the backup: a value of type {} where {kind} belongs",
                value.data_type()
            ))
        };
        match (self, value) {
            (Self::Id(ids), Value::Blob(bytes)) => ids.push(Some(
                Uuid::from_slice(&bytes).map_err(|_| wrong(&Value::Blob(bytes), "an id"))?,
            )),
            (Self::Id(ids), Value::Null) => ids.push(None),
            (Self::Int(ints), Value::Integer(n)) => ints.push(Some(n)),
            (Self::Int(ints), Value::Null) => ints.push(None),
            (Self::Int4(ints), Value::Integer(n)) => ints.push(Some(
                i32::try_from(n).map_err(|_| wrong(&Value::Integer(n), "a small integer"))?,
            )),
            (Self::Int4(ints), Value::Null) => ints.push(None),
            (Self::Bool(bools), Value::Integer(n)) => bools.push(Some(n != 0)),
            (Self::Bool(bools), Value::Null) => bools.push(None),
            (Self::Text(texts), Value::Text(text)) => texts.push(Some(text)),
            (Self::Text(texts), Value::Null) => texts.push(None),
            (column, value) => return Err(wrong(&value, column.kind_name())),
        }
        Ok(())
    }

    fn kind_name(&self) -> &'static str {
        match self {
            Self::Id(_) => "an id",
            Self::Int(_) | Self::Int4(_) => "an integer",
            Self::Bool(_) => "a boolean",
            Self::Text(_) => "text",
        }
    }

    fn as_param(&self) -> &(dyn ToSql + Sync) {
        match self {
            Self::Id(values) => values,
            Self::Int(values) => values,
            Self::Int4(values) => values,
            Self::Bool(values) => values,
            Self::Text(values) => values,
        }
    }
}

/// Replaces the PostgreSQL tenant `tenant` (at `placement`) with the backup at `from`, once
/// the backup passed every check of the SQLite restore. Call from a blocking thread.
pub fn restore_tenant(
    placement: &Placement,
    registry: &dyn Registry,
    tenant: TenantId,
    from: &Path,
    options: RestoreOptions,
    runtime: &Handle,
) -> Result<Restored, ServerError> {
    // The scratch copy is checked in the temp directory (removed when dropped): a
    // PostgreSQL tenant has no data directory.
    let scratch = Scratch::beside(&std::env::temp_dir().join(format!("aisle-{tenant}.sqlite3")));
    let checked = backup::checked_backup(registry, tenant, from, options, scratch)?;
    let file = &checked.conn;
    let expected = backup::summary(file)?;
    let expected_checksums = sqlite_checksums(file)?;

    let pool = tenant_pool(placement)?;
    let mut pg = aisle_pg::connect(&pool, runtime)?;
    let tx = pg.transaction()?;
    tx.advisory_lock(PUSH_LOCK)?;
    // A database the server never opened (a tenant just added on PostgreSQL, the usual
    // target of a move from SQLite) is migrated and stamped here, in this transaction.
    let schema = aisle_pg::migrate(&tx, super::tenant_schema::MIGRATIONS)?;
    tx.execute(
        "INSERT INTO tenant_meta (name, value) VALUES ('tenant', $1) ON CONFLICT (name) DO NOTHING",
        &[&tenant.to_string()],
    )?;
    // A tenant move fences the database it copies from (its `move_fence` row, written under
    // the same lock): a restore there would be lost at the switch, so it is refused.
    if tx
        .query_opt(
            "SELECT value FROM tenant_meta WHERE name = 'move_fence'",
            &[],
        )?
        .is_some()
    {
        return Err(ServerError::Invalid(
            "the tenant is being moved to another cluster (or has moved away from this \
             database); restore once the move has finished, on its new placement"
                .to_owned(),
        ));
    }
    check_stamp(&tx, tenant)?;
    let before = pg_summary(&tx)?;
    // Children first; the projection goes with the replay below.
    tx.batch_execute(
        "DELETE FROM stock_deltas; DELETE FROM counts; DELETE FROM count_reviews;
         DELETE FROM pick_line_progress; DELETE FROM pick_claims; DELETE FROM tasks;
         DELETE FROM discrepancies; DELETE FROM key_states; DELETE FROM stock_keys;",
    )?;
    // The log is append-only by trigger: a restore is the one writer allowed to replace it,
    // with the trigger off inside this transaction only (DDL is transactional; the ALTER
    // holds the table's exclusive lock until the commit, so no reader sees it off, and a
    // failed restore rolls both back).
    tx.batch_execute("ALTER TABLE events DISABLE TRIGGER events_are_append_only_delete")?;
    for table in TABLES.iter().rev() {
        tx.execute(&format!("DELETE FROM {}", table.name), &[])?;
    }
    tx.batch_execute("ALTER TABLE events ENABLE TRIGGER events_are_append_only_delete")?;
    for table in TABLES {
        let sqlite_columns: Vec<String> = table
            .columns
            .iter()
            .map(|c| format!("\"{}\"", c.0))
            .collect();
        let pg_columns: Vec<&str> = table.columns.iter().map(|c| c.1).collect();
        // Rows go in batches, one statement each: every column as an array, unnested.
        let arrays: Vec<String> = table
            .columns
            .iter()
            .enumerate()
            .map(|(index, (_, _, kind))| format!("${}::{}[]", index + 1, kind.sql_type()))
            .collect();
        let insert = format!(
            "INSERT INTO {} ({}) SELECT * FROM unnest({})",
            table.name,
            pg_columns.join(", "),
            arrays.join(", ")
        );
        let mut select = file.prepare(&format!(
            "SELECT {} FROM {}",
            sqlite_columns.join(", "),
            table.name
        ))?;
        let mut rows = select.query([])?;
        let mut batch: Vec<Column> = table.columns.iter().map(|c| Column::new(c.2)).collect();
        let mut n_batched = 0;
        loop {
            let row = rows.next()?;
            if let Some(row) = row {
                for (index, column) in batch.iter_mut().enumerate() {
                    column.push(row.get::<_, Value>(index)?)?;
                }
                n_batched += 1;
            }
            if n_batched > 0 && (row.is_none() || n_batched == BATCH_ROWS) {
                let params: Vec<&(dyn ToSql + Sync)> = batch.iter().map(Column::as_param).collect();
                tx.execute(&insert, &params)?;
                batch = table.columns.iter().map(|c| Column::new(c.2)).collect();
                n_batched = 0;
            }
            if row.is_none() {
                break;
            }
        }
    }
    let mut lot_tracking = crate::storage::push::LotTracking::default();
    aisle_projection::pg::rules::replay(&tx, |ledger, event| {
        if let Some(discrepancy) =
            lot_tracking.missing_lot(event, |item| super::storage::lot_tracked(&tx, item))?
        {
            aisle_core::stock::Ledger::open_discrepancy(ledger, &discrepancy)?;
        }
        Ok::<(), ServerError>(())
    })?;
    aisle_projection::pg::rules::record_current(&tx)?;
    let after = pg_summary(&tx)?;
    let after_checksums = pg_checksums(&tx)?;
    if after != expected || after_checksums != expected_checksums {
        return Err(ServerError::Invalid(format!(
            "the restored database does not match the checked backup (events {} / last seq \
             {} restored, {} / {} in the backup; stock checksums {}); nothing was restored",
            after.n_events,
            after.last_seq,
            expected.n_events,
            expected.last_seq,
            if after_checksums == expected_checksums {
                "equal"
            } else {
                "differ"
            }
        )));
    }
    tx.commit()?;
    registry.record_tenant_version(tenant, i64::from(schema.to))?;
    Ok(Restored {
        before,
        after,
        forced_tenant: !checked.stamped,
        rebuilt_for_rules: checked.verified.rebuilt_for_rules,
        n_repaired: checked.verified.n_repaired,
    })
}

/// Each warehouse's stock checksum over every key of the PostgreSQL projection in `tx`.
pub(crate) fn pg_checksums(tx: &PgTx<'_>) -> Result<BTreeMap<Uuid, String>, ServerError> {
    let mut keys: BTreeMap<Uuid, BTreeSet<StockKey>> = BTreeMap::new();
    for row in tx.query("SELECT warehouse, location, item, lot FROM stock_keys", &[])? {
        let warehouse: Uuid = row.get(0);
        keys.entry(warehouse).or_default().insert(StockKey {
            warehouse: WarehouseId::from_uuid(warehouse),
            location: LocationId::from_uuid(row.get(1)),
            item: ItemId::from_uuid(row.get(2)),
            lot: aisle_projection::columns::lot_from_sql(row.get(3)),
        });
    }
    let mut checksums = BTreeMap::new();
    for (warehouse, keys) in keys {
        let rows = aisle_projection::pg::checksum::projection_rows(tx, &keys)?;
        checksums.insert(warehouse, aisle_projection::checksum::stock_checksum(&rows));
    }
    Ok(checksums)
}

/// Each warehouse's stock checksum over every key of the SQLite projection behind `conn`.
pub(crate) fn sqlite_checksums(conn: &Connection) -> Result<BTreeMap<Uuid, String>, ServerError> {
    let id = |bytes: Vec<u8>| Uuid::from_slice(&bytes).unwrap_or_default();
    let mut keys: BTreeMap<Uuid, BTreeSet<StockKey>> = BTreeMap::new();
    let mut statement = conn.prepare("SELECT warehouse, location, item, lot FROM stock_keys")?;
    let mut rows = statement.query([])?;
    while let Some(row) = rows.next()? {
        let warehouse = id(row.get(0)?);
        keys.entry(warehouse).or_default().insert(StockKey {
            warehouse: WarehouseId::from_uuid(warehouse),
            location: LocationId::from_uuid(id(row.get(1)?)),
            item: ItemId::from_uuid(id(row.get(2)?)),
            lot: aisle_projection::columns::lot_from_sql(row.get(3)?),
        });
    }
    let mut checksums = BTreeMap::new();
    for (warehouse, keys) in keys {
        let rows = aisle_projection::sqlite::checksum::projection_rows(conn, &keys)?;
        checksums.insert(warehouse, aisle_projection::checksum::stock_checksum(&rows));
    }
    Ok(checksums)
}

#[cfg(test)]
mod tests;
