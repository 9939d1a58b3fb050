//! The admin CLI's `audit` commands over the registry's security audit log: `list` the
//! newest rows, `verify` its hash chain, `prune` the rows before a date.
//!
//! `verify` exits non-zero and names the first row that breaks the chain, so a cron job or
//! a monitoring check can run it as is.

use aisle_server::Registry;
use anyhow::Context;
use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// List the newest rows: id, first and last seen (UTC), count, source, reason, detail.
    #[command(after_help = "Example:\n  aisle-server --data /var/lib/aisle audit list --limit 20")]
    List {
        /// How many of the newest rows to show.
        #[arg(long, default_value_t = 50)]
        limit: u64,
    },
    /// Check the hash chain from its anchor to its head; exits 1 naming the first bad row.
    #[command(
        after_help = "Example:\n  aisle-server --data /var/lib/aisle audit verify\n  ok: 1204 rows (ids 311..=1514), head 9f2c…\n\nKeep the printed head hash somewhere else: a log rewritten whole, with every hash\nrecomputed, still verifies, but no longer ends at the head you kept."
    )]
    Verify,
    /// Remove the oldest rows, up to the first one last seen on or after DATE, and record
    /// the prune in the log.
    #[command(
        after_help = "Example:\n  aisle-server --data /var/lib/aisle audit prune --before 2026-01-01\n  removed 8812 rows (ids 1..=8812); the prune is row 9907\n\nDATE is UTC: 2026-01-01, 2026-01-01T12:00:00Z or 2026-01-01 12:00:00+02:00.\nOnly a prefix of the log is removed; the last removed row's hash becomes the chain's\nanchor, so `audit verify` still checks every row that is left."
    )]
    Prune {
        #[arg(long, value_name = "DATE")]
        before: String,
    },
}

pub fn audit(registry: &dyn Registry, command: AuditCommand, now_ms: i64) -> anyhow::Result<()> {
    match command {
        AuditCommand::List { limit } => {
            let clock = rusqlite::Connection::open_in_memory()?;
            let utc = |ms: i64| utc(&clock, ms);
            for entry in registry.audit_entries(Some(limit))? {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    entry.id,
                    utc(entry.first_seen_ms),
                    utc(entry.last_seen_ms),
                    entry.count,
                    entry.source,
                    entry.reason,
                    entry.detail
                );
            }
        }
        AuditCommand::Verify => match registry.verify_audit()? {
            Ok(verified) => println!(
                "ok: {} rows (ids {}..={}), head {}",
                verified.n_rows,
                verified.anchor_id + 1,
                verified.head_id,
                hex::encode(verified.head_hash)
            ),
            Err(broken) => anyhow::bail!("the audit chain is broken at {broken}"),
        },
        AuditCommand::Prune { before } => {
            let before_ms = parse_date_ms(&before)
                .with_context(|| format!("--before {before:?} is not a date"))?;
            let pruned = registry.prune_audit_before(before_ms, now_ms)?;
            println!(
                "removed {} rows (through id {}); the prune is row {}",
                pruned.n_rows, pruned.through_id, pruned.record_id
            );
        }
    }
    Ok(())
}

/// A date or date-time as milliseconds since the epoch, parsed by SQLite's date functions
/// (`YYYY-MM-DD`, optionally with `THH:MM[:SS[.SSS]]` and a `Z` or `±HH:MM` offset; UTC
/// when none). A bare number is refused: SQLite would read it as a Julian day.
fn parse_date_ms(text: &str) -> anyhow::Result<i64> {
    let looks_like_a_date = text.len() >= 10
        && text.as_bytes()[..10]
            .iter()
            .enumerate()
            .all(|(at, byte)| match at {
                4 | 7 => *byte == b'-',
                _ => byte.is_ascii_digit(),
            });
    anyhow::ensure!(
        looks_like_a_date,
        "expected YYYY-MM-DD[THH:MM:SS][Z|±HH:MM]"
    );
    let conn = rusqlite::Connection::open_in_memory()?;
    let ms: Option<i64> = conn.query_row(
        "SELECT CAST(round(unixepoch(?1, 'subsec') * 1000) AS INTEGER)",
        [text],
        |row| row.get(0),
    )?;
    ms.context("expected YYYY-MM-DD[THH:MM:SS][Z|±HH:MM]")
}

/// Milliseconds since the epoch as `YYYY-MM-DDTHH:MM:SS.mmmZ`, by SQLite's date functions.
fn utc(clock: &rusqlite::Connection, ms: i64) -> String {
    clock
        .query_row(
            "SELECT strftime('%Y-%m-%dT%H:%M:%fZ', ?1 / 1000.0, 'unixepoch')",
            [ms],
            |row| row.get(0),
        )
        .unwrap_or_else(|_| format!("{ms} ms"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_parse_as_utc_and_numbers_do_not() {
        assert_eq!(
            parse_date_ms("2026-01-01").expect("a date"),
            1_767_225_600_000
        );
        assert_eq!(
            parse_date_ms("2026-01-01T01:00:00+01:00").expect("with an offset"),
            1_767_225_600_000
        );
        assert!(parse_date_ms("2460000").is_err(), "not a Julian day");
        assert!(parse_date_ms("2026-01-01junk").is_err());
    }
}
