//! The checks a restore runs on its scratch copy of a backup, after the file-level ones
//! (integrity, schema version, tenant) and before anything live is touched: the copy is
//! brought to this build's schema, must hold every table, column, index and trigger that
//! schema has, and its projection must be the one its own event log rebuilds to.
//!
//! The projection is compared as a list of (entry, value) rows written by SQL into temporary
//! tables, named by what they are about (a stock key by warehouse, location, item and lot,
//! never by its row id, which a rebuild hands out afresh), so a tenant of any size is
//! compared on disk rather than in memory.

use super::refuse;
use crate::error::ServerError;
use crate::{migrate, rebuild};
use aisle_core::ids::TenantId;
use rusqlite::{Connection, TransactionBehavior};

/// How many differing entries a refusal names.
const N_NAMED: usize = 3;

/// What [`verify`] found and did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Verified {
    /// The projection was written under older stock rules and was rebuilt, as a server's
    /// first open would have done.
    pub rebuilt_for_rules: bool,
    /// Entries of the projection that differed from the rebuild and were repaired.
    pub n_repaired: u64,
}

/// Brings the copy to this build's schema, stamps it with `tenant`, checks its schema is
/// complete and its projection is its log's; with `repair`, keeps the rebuilt projection
/// where they differ instead of refusing.
pub(super) fn verify(
    copy: &mut Connection,
    tenant: TenantId,
    repair: bool,
) -> Result<Verified, ServerError> {
    migrate::migrate_tenant(copy).map_err(|error| {
        refuse(format!(
            "it cannot be brought to this build's schema: {error}"
        ))
    })?;
    missing_schema(copy)?;
    // The caller refused a stamp of another tenant; this stamps a file that had none.
    migrate::stamp_tenant(copy, tenant)?;
    let rebuilt_for_rules = rebuild::follow_rules_version(copy)
        .map_err(|error| refuse(format!("its log cannot be replayed: {error}")))?
        .is_some();

    let tx = copy.transaction_with_behavior(TransactionBehavior::Immediate)?;
    snapshot(&tx, "restore_stored")?;
    rebuild::replay(&tx).map_err(|error| refuse(format!("its log cannot be replayed: {error}")))?;
    snapshot(&tx, "restore_rebuilt")?;
    let differences = differences(&tx)?;
    if differences.n_total() == 0 {
        // Nothing to repair: the backup's own projection is restored as it is.
        tx.rollback()?;
        return Ok(Verified {
            rebuilt_for_rules,
            n_repaired: 0,
        });
    }
    if !repair {
        return Err(refuse(format!(
            "its projection differs from a rebuild of its event log in {} ({}): it was not \
             derived from those events, so it was edited or damaged; restore with --repair to \
             keep the projection rebuilt from the log",
            differences.counted(),
            differences.named.join("; ")
        )));
    }
    tx.execute_batch("DROP TABLE temp.restore_stored; DROP TABLE temp.restore_rebuilt;")?;
    tx.commit()?;
    Ok(Verified {
        rebuilt_for_rules,
        n_repaired: differences.n_total(),
    })
}

/// Refuses a copy that lacks a table, column, index or trigger that a database freshly
/// migrated by this build has, naming what is missing. A backup with a table dropped would
/// otherwise restore and then fail every push that needs it.
fn missing_schema(copy: &Connection) -> Result<(), ServerError> {
    let mut fresh = Connection::open_in_memory()?;
    migrate::migrate_tenant(&mut fresh)?;
    let objects = |conn: &Connection| -> Result<Vec<(String, String)>, ServerError> {
        let mut statement = conn.prepare(
            "SELECT type, name FROM sqlite_schema
             WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY type DESC, name",
        )?;
        let rows = statement.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    };
    let columns = |conn: &Connection, table: &str| -> Result<Vec<String>, ServerError> {
        let mut statement = conn.prepare("SELECT name FROM pragma_table_info(?1) ORDER BY cid")?;
        let rows = statement.query_map([table], |row| row.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    };
    let present = objects(copy)?;
    let mut missing = Vec::new();
    for (kind, name) in objects(&fresh)? {
        if !present.contains(&(kind.clone(), name.clone())) {
            missing.push(format!("{kind} {name}"));
        } else if kind == "table" {
            let have = columns(copy, &name)?;
            for column in columns(&fresh, &name)? {
                if !have.contains(&column) {
                    missing.push(format!("column {name}.{column}"));
                }
            }
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(refuse(format!(
            "it lacks what this build's schema has: {}",
            missing.join(", ")
        )))
    }
}

/// A 16-byte id column as UUID text.
fn uuid_text(column: &str) -> String {
    let hex = format!("lower(hex({column}))");
    format!(
        "substr({hex}, 1, 8) || '-' || substr({hex}, 9, 4) || '-' || substr({hex}, 13, 4) \
         || '-' || substr({hex}, 17, 4) || '-' || substr({hex}, 21)"
    )
}

/// A stock key of table alias `k` (`stock_keys` or `tasks`) in words, or NULL without one.
fn key_text(k: &str) -> String {
    format!(
        "'warehouse ' || {} || ', location ' || {} || ', item ' || {} \
         || CASE WHEN {k}.lot = '' THEN '' ELSE ', lot ' || {k}.lot END",
        uuid_text(&format!("{k}.warehouse")),
        uuid_text(&format!("{k}.location")),
        uuid_text(&format!("{k}.item")),
    )
}

/// Writes every entry of the projection into the temporary table `name` as (entry, value).
fn snapshot(conn: &Connection, name: &str) -> Result<(), ServerError> {
    let key = key_text("k");
    let key_or_id = |id: &str| format!("coalesce({key}, 'key ' || {id})");
    let open = "CASE is_open WHEN 1 THEN 'open' ELSE 'closed' END";
    let entries = [
        // A key with nothing on hand and no baseline is no different from no key at all.
        format!(
            "SELECT 'stock at ' || {key}, 'on hand ' || coalesce(s.on_hand, 0)
                 || coalesce(', counted ' || s.baseline_qty || ' by seq ' || s.baseline_seq, '')
             FROM stock_keys k LEFT JOIN key_states s ON s.key_id = k.key_id
             WHERE coalesce(s.on_hand, 0) <> 0 OR s.baseline_seq IS NOT NULL"
        ),
        "SELECT 'state of key ' || s.key_id || ', which does not exist', 'on hand ' || s.on_hand
         FROM key_states s WHERE s.key_id NOT IN (SELECT key_id FROM stock_keys)"
            .to_owned(),
        format!(
            "SELECT 'movement of seq ' || d.event_seq || ' at ' || {}, 'delta ' || d.delta
                 || ' at hlc ' || d.hlc
             FROM stock_deltas d LEFT JOIN stock_keys k ON k.key_id = d.key_id",
            key_or_id("d.key_id")
        ),
        format!(
            "SELECT 'count ' || {}, c.status || ' (' || c.decision || ') at ' || {} || ': counted '
                 || c.counted_qty || ', system ' || c.system_qty
             FROM counts c LEFT JOIN stock_keys k ON k.key_id = c.key_id",
            uuid_text("c.event_id"),
            key_or_id("c.key_id")
        ),
        format!(
            "SELECT 'review ' || {}, decision || ' count ' || {} FROM count_reviews",
            uuid_text("event_id"),
            uuid_text("counted")
        ),
        format!(
            "SELECT 'pick list ' || {} || ' line ' || line, 'picked ' || picked_total || ' of '
                 || line_qty
             FROM pick_line_progress",
            uuid_text("pick_list")
        ),
        format!(
            "SELECT 'claim ' || {}, 'pick list ' || {} || ' by device ' || {} FROM pick_claims",
            uuid_text("event_id"),
            uuid_text("pick_list"),
            uuid_text("device")
        ),
        format!(
            "SELECT 'task ' || {}, kind || ' at ' || {key} || ', ' || {open} || ': ' || detail
             FROM tasks k",
            uuid_text("id")
        ),
        format!(
            "SELECT 'discrepancy ' || id, kind || ' in warehouse ' || {} || ', ' || {open} || ': '
                 || detail
             FROM discrepancies",
            uuid_text("warehouse")
        ),
    ];
    conn.execute_batch(&format!(
        "DROP TABLE IF EXISTS temp.{name};
         CREATE TEMP TABLE {name} (entry TEXT NOT NULL, value TEXT NOT NULL);
         INSERT INTO temp.{name} (entry, value) {};",
        entries.join(" UNION ALL ")
    ))?;
    Ok(())
}

/// How the stored projection and the rebuilt one differ.
struct Differences {
    n_stock_keys: u64,
    n_other: u64,
    /// The first few differences in words, stock keys first.
    named: Vec<String>,
}

impl Differences {
    fn n_total(&self) -> u64 {
        self.n_stock_keys + self.n_other
    }

    /// "2 stock keys and 1 other entry".
    fn counted(&self) -> String {
        let plural =
            |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        let mut parts = Vec::new();
        if self.n_stock_keys > 0 {
            parts.push(plural(self.n_stock_keys, "stock key", "stock keys"));
        }
        if self.n_other > 0 {
            let other = if parts.is_empty() { "" } else { "other " };
            parts.push(plural(
                self.n_other,
                &format!("{other}entry"),
                &format!("{other}entries"),
            ));
        }
        parts.join(" and ")
    }
}

fn differences(conn: &Connection) -> Result<Differences, ServerError> {
    conn.execute_batch(
        "DROP TABLE IF EXISTS temp.restore_differing;
         CREATE TEMP TABLE restore_differing AS
             SELECT entry FROM (SELECT entry, value FROM restore_stored
                                EXCEPT SELECT entry, value FROM restore_rebuilt)
             UNION
             SELECT entry FROM (SELECT entry, value FROM restore_rebuilt
                                EXCEPT SELECT entry, value FROM restore_stored);",
    )?;
    let (n_stock_keys, n_other): (i64, i64) = conn.query_row(
        "SELECT coalesce(sum(entry LIKE 'stock at %'), 0), coalesce(sum(entry NOT LIKE 'stock at %'), 0)
         FROM restore_differing",
        [],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    let mut statement = conn.prepare(
        "SELECT d.entry,
                (SELECT group_concat(value, ' / ') FROM restore_stored s WHERE s.entry = d.entry),
                (SELECT group_concat(value, ' / ') FROM restore_rebuilt r WHERE r.entry = d.entry)
         FROM restore_differing d
         ORDER BY d.entry NOT LIKE 'stock at %', d.entry
         LIMIT ?1",
    )?;
    let rows = statement.query_map([N_NAMED as i64], |row| {
        let entry: String = row.get(0)?;
        let stored: Option<String> = row.get(1)?;
        let rebuilt: Option<String> = row.get(2)?;
        Ok(format!(
            "{entry}: {} in the file, {} rebuilt",
            stored.unwrap_or_else(|| "absent".to_owned()),
            rebuilt.unwrap_or_else(|| "absent".to_owned())
        ))
    })?;
    let mut named: Vec<String> = rows.collect::<Result<_, _>>()?;
    let n_total = (n_stock_keys + n_other) as u64;
    if n_total > named.len() as u64 {
        named.push(format!("and {} more", n_total - named.len() as u64));
    }
    conn.execute_batch("DROP TABLE temp.restore_differing;")?;
    Ok(Differences {
        n_stock_keys: n_stock_keys as u64,
        n_other: n_other as u64,
        named,
    })
}
