//! How a move reads and writes the two tenant databases: binary `COPY` piped from the source
//! into the target (the event log by seq range; the tables that change in place whole), and
//! the comparison of both copies that must hold before the switch.
//!
//! The move runs as an administrator's command, not behind PgBouncer, so it uses direct
//! connections: a pool of one for statements in a [`PgTx`], and a plain client for `COPY`.

use super::{Comparison, FENCE};
use crate::error::ServerError;
use aisle_core::ids::{ItemId, LocationId, WarehouseId};
use aisle_core::stock::StockKey;
use aisle_pg::deadpool_postgres::{self, Pool};
use aisle_pg::tokio_postgres::{self, NoTls};
use aisle_pg::{PgError, PgTx};
use futures_util::{SinkExt, StreamExt};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use tokio::runtime::Handle;
use uuid::Uuid;

/// The tables of a tenant database that change in place, in an order where every table
/// comes after those it references, each with the columns its rows are ordered by. The
/// final catch-up replaces them whole; the event log (`events`, append-only) is copied by
/// seq range instead, and `aisle_migrations` belongs to each database.
pub(super) const TABLES: &[(&str, &str)] = &[
    // Master data (migrations/cloud/pg/tenant/0002_master_data.sql).
    ("master_version", "id"),
    ("pin_policy", "id"),
    ("items", "id"),
    ("item_barcodes", "barcode"),
    ("locations", "id"),
    ("users", "id"),
    ("user_warehouses", "warehouse, user_id"),
    ("pick_lists", "id"),
    ("pick_lines", "pick_list, line"),
    ("expected_receipts", "id"),
    ("expected_lines", "receipt, line"),
    // The stock projection (migrations/projection/pg/0001_init.sql).
    ("stock_keys", "key_id"),
    ("key_states", "key_id"),
    ("stock_deltas", "key_id, hlc, event_seq"),
    ("counts", "event_id"),
    ("count_reviews", "event_id"),
    ("pick_line_progress", "pick_list, line"),
    ("pick_claims", "event_id"),
    ("tasks", "id"),
    ("discrepancies", "id"),
    ("projection_rules", "id"),
    // The stamp naming the tenant (without the move's own fence).
    ("tenant_meta", "name"),
    // The ERP outbox (migrations/cloud/pg/tenant/0003_erp_outbox.sql): append-only, and
    // small next to the log, so it is replaced whole too.
    ("erp_outbox", "position"),
    // Short picks kept for pick_list.completed (0004_pick_line_shorts.sql).
    ("pick_line_shorts", "event_id"),
];

/// Tables a move knows and does not copy through [`TABLES`]. `projection_marker` belongs to
/// each database: the copy's writes to the projection clear the target's, as they should.
const NOT_IN_TABLES: &[&str] = &["events", "aisle_migrations", "projection_marker"];

/// One tenant database the move reads or writes.
pub(super) struct Db {
    config: tokio_postgres::Config,
    pool: Pool,
    runtime: Handle,
}

impl Db {
    pub(super) fn new(
        cluster_url: &str,
        database: &str,
        runtime: Handle,
    ) -> Result<Self, ServerError> {
        let config = crate::pg::registry::cluster_config(cluster_url, Some(database))?;
        let manager = deadpool_postgres::Manager::from_config(
            config.clone(),
            NoTls,
            deadpool_postgres::ManagerConfig {
                recycling_method: deadpool_postgres::RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(1)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|error| ServerError::Invalid(format!("tenant move pool: {error}")))?;
        Ok(Self {
            config,
            pool,
            runtime,
        })
    }

    /// Runs `work` in one transaction, committed when it returns `Ok`.
    pub(super) fn with_tx<T>(
        &self,
        work: impl FnOnce(&PgTx<'_>) -> Result<T, ServerError>,
    ) -> Result<T, ServerError> {
        let mut conn = aisle_pg::connect(&self.pool, &self.runtime)?;
        let tx = conn.transaction()?;
        let value = work(&tx)?;
        tx.commit()?;
        Ok(value)
    }

    /// A plain client for `COPY`, driven on the runtime until dropped.
    async fn client(&self) -> Result<tokio_postgres::Client, PgError> {
        let (client, connection) = self.config.connect(NoTls).await?;
        tokio::spawn(connection);
        Ok(client)
    }

    pub(super) fn last_seq(&self) -> Result<i64, ServerError> {
        self.with_tx(|tx| {
            Ok(tx
                .query_one("SELECT COALESCE(MAX(seq), 0)::BIGINT FROM events", &[])?
                .get(0))
        })
    }

    /// Closes the pool's connection, so the database can be dropped.
    pub(super) fn close(&self) {
        self.pool.close();
    }
}

/// Pipes `copy_out` on `from` into `copy_in` inside `into`'s transaction; answers the rows.
async fn pipe(
    from: &tokio_postgres::Transaction<'_>,
    copy_out: &str,
    into: &tokio_postgres::Transaction<'_>,
    copy_in: &str,
) -> Result<u64, PgError> {
    let stream = from.copy_out(copy_out).await?;
    let sink = into.copy_in(copy_in).await?;
    futures_util::pin_mut!(stream, sink);
    while let Some(chunk) = stream.next().await {
        sink.feed(chunk?).await?;
    }
    Ok(sink.as_mut().finish().await?)
}

/// Copies the source's events with `after < seq <= upto` into the target, in one target
/// transaction that first checks the target's log ends at `after` (so a copy never leaves a
/// gap or a duplicate, whatever ran before it). Answers the rows copied.
pub(super) fn copy_events(
    source: &Db,
    target: &Db,
    after: i64,
    upto: i64,
) -> Result<u64, ServerError> {
    let runtime = source.runtime.clone();
    let copied = runtime.block_on(async {
        let mut from = source.client().await?;
        let from = from.transaction().await?;
        let mut into = target.client().await?;
        let tx = into.transaction().await?;
        let last: i64 = tx
            .query_one("SELECT COALESCE(MAX(seq), 0)::BIGINT FROM events", &[])
            .await?
            .get(0);
        if last != after {
            return Ok(Err(last));
        }
        let n = pipe(
            &from,
            &format!(
                "COPY (SELECT * FROM events WHERE seq > {after} AND seq <= {upto} ORDER BY seq) \
                 TO STDOUT (FORMAT binary)"
            ),
            &tx,
            "COPY events FROM STDIN (FORMAT binary)",
        )
        .await?;
        tx.commit().await?;
        from.commit().await?;
        Ok::<_, PgError>(Ok(n))
    })?;
    copied.map_err(|last| {
        ServerError::Invalid(format!(
            "the target's event log ends at seq {last}, not {after}: another move of this \
             tenant is running"
        ))
    })
}

/// The tables of the database in `db` that a move would not copy.
pub(super) fn unknown_tables(db: &Db) -> Result<Vec<String>, ServerError> {
    let names: Vec<String> = db.with_tx(|tx| {
        Ok(tx
            .query(
                "SELECT tablename::TEXT FROM pg_tables WHERE schemaname = current_schema()
                 ORDER BY tablename",
                &[],
            )?
            .iter()
            .map(|row| row.get(0))
            .collect())
    })?;
    Ok(names
        .into_iter()
        .filter(|name| {
            !NOT_IN_TABLES.contains(&name.as_str())
                && !TABLES.iter().any(|(table, _)| table == name)
        })
        .collect())
}

/// The final catch-up, with the source fenced: the events the target lacks, then every
/// table of [`TABLES`] replaced whole, in one target transaction. Answers the events copied.
pub(super) fn catch_up(source: &Db, target: &Db) -> Result<u64, ServerError> {
    let unknown = unknown_tables(source)?;
    if !unknown.is_empty() {
        return Err(ServerError::Invalid(format!(
            "the tenant database has tables a move does not know how to copy: {}",
            unknown.join(", ")
        )));
    }
    let runtime = source.runtime.clone();
    let copied = runtime.block_on(async {
        let mut from = source.client().await?;
        // One snapshot of the source for everything copied.
        let snapshot = from
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await?;
        let mut into = target.client().await?;
        let tx = into.transaction().await?;
        let after: i64 = tx
            .query_one("SELECT COALESCE(MAX(seq), 0)::BIGINT FROM events", &[])
            .await?
            .get(0);
        let n_events = pipe(
            &snapshot,
            &format!(
                "COPY (SELECT * FROM events WHERE seq > {after} ORDER BY seq) \
                 TO STDOUT (FORMAT binary)"
            ),
            &tx,
            "COPY events FROM STDIN (FORMAT binary)",
        )
        .await?;
        let all: Vec<&str> = TABLES.iter().map(|(table, _)| *table).collect();
        tx.batch_execute(&format!("TRUNCATE {}", all.join(", ")))
            .await?;
        for (table, _) in TABLES {
            let filter = if *table == "tenant_meta" {
                format!(" WHERE name <> '{FENCE}'")
            } else {
                String::new()
            };
            pipe(
                &snapshot,
                &format!("COPY (SELECT * FROM {table}{filter}) TO STDOUT (FORMAT binary)"),
                &tx,
                &format!("COPY {table} FROM STDIN (FORMAT binary)"),
            )
            .await?;
        }
        // The key ids were copied as they are: the identity continues after the largest.
        tx.batch_execute(
            "SELECT setval(pg_get_serial_sequence('stock_keys', 'key_id'),
                           COALESCE((SELECT MAX(key_id) FROM stock_keys), 0) + 1, false)",
        )
        .await?;
        tx.commit().await?;
        snapshot.commit().await?;
        Ok::<_, PgError>(n_events)
    })?;
    Ok(copied)
}

/// What is compared of one copy: the log's size and end, each table's digest, and each
/// warehouse's stock checksum.
#[derive(Debug, PartialEq, Eq)]
struct Summary {
    n_events: i64,
    last_seq: i64,
    tables: BTreeMap<String, String>,
    stock: BTreeMap<Uuid, String>,
}

/// SHA-256 of the rows of `sql`'s binary COPY.
async fn digest(client: &tokio_postgres::Transaction<'_>, sql: &str) -> Result<String, PgError> {
    let stream = client
        .copy_out(&format!("COPY ({sql}) TO STDOUT (FORMAT binary)"))
        .await?;
    futures_util::pin_mut!(stream);
    let mut hasher = Sha256::new();
    while let Some(chunk) = stream.next().await {
        hasher.update(chunk?);
    }
    Ok(hex::encode(hasher.finalize()))
}

fn summary(db: &Db) -> Result<Summary, ServerError> {
    let runtime = db.runtime.clone();
    let (n_events, last_seq, tables) = runtime.block_on(async {
        let mut client = db.client().await?;
        let tx = client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await?;
        let row = tx
            .query_one(
                "SELECT COUNT(*)::BIGINT, COALESCE(MAX(seq), 0)::BIGINT FROM events",
                &[],
            )
            .await?;
        let mut tables = BTreeMap::new();
        tables.insert(
            "events".to_owned(),
            digest(&tx, "SELECT * FROM events ORDER BY seq").await?,
        );
        for (table, order) in TABLES {
            let filter = if *table == "tenant_meta" {
                format!(" WHERE name <> '{FENCE}'")
            } else {
                String::new()
            };
            tables.insert(
                (*table).to_owned(),
                digest(
                    &tx,
                    &format!("SELECT * FROM {table}{filter} ORDER BY {order}"),
                )
                .await?,
            );
        }
        tx.commit().await?;
        Ok::<_, PgError>((row.get(0), row.get(1), tables))
    })?;
    let stock = db.with_tx(stock_checksums)?;
    Ok(Summary {
        n_events,
        last_seq,
        tables,
        stock,
    })
}

/// Each warehouse's stock checksum over every key of the projection, as
/// `aisle_projection`'s checksum defines it (the one a pulled page carries).
fn stock_checksums(tx: &PgTx<'_>) -> Result<BTreeMap<Uuid, String>, ServerError> {
    let mut keys: BTreeMap<Uuid, std::collections::BTreeSet<StockKey>> = BTreeMap::new();
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

/// Compares both copies: event count and last seq first (cheap), then every table's digest
/// and every warehouse's stock checksum.
pub(super) fn compare(source: &Db, target: &Db) -> Result<Comparison, ServerError> {
    let (source_seq, target_seq) = (source.last_seq()?, target.last_seq()?);
    if source_seq != target_seq {
        return Ok(Comparison::Differs(format!(
            "last seq: source {source_seq}, target {target_seq}"
        )));
    }
    let (source, target) = (summary(source)?, summary(target)?);
    if (source.n_events, source.last_seq) != (target.n_events, target.last_seq) {
        return Ok(Comparison::Differs(format!(
            "events: source {} up to seq {}, target {} up to seq {}",
            source.n_events, source.last_seq, target.n_events, target.last_seq
        )));
    }
    for (table, digest) in &source.tables {
        if target.tables.get(table) != Some(digest) {
            return Ok(Comparison::Differs(format!("the rows of table {table}")));
        }
    }
    if source.stock != target.stock {
        return Ok(Comparison::Differs("the stock checksum".to_owned()));
    }
    Ok(Comparison::Equal)
}
