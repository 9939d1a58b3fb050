//! The projection's migration steps (`migrations/projection/*.sql`), and how a database
//! places them in its own list.
//!
//! rusqlite_migration tracks a database's version by position in its list (SQLite's
//! `user_version`), and files already at some version exist in the field. So each database
//! keeps one list, its own steps and the projection's interleaved at the positions where
//! they have always run: a [`Step`] is the database's own SQL, one projection step, or the
//! database's own SQL followed by a projection step as one step (one transaction, one
//! version). [`migrations`] turns such a list into rusqlite_migration's, and refuses a list
//! that leaves out a projection step, repeats one, or reorders them.
//!
//! The projection's SQL needs from the database's own schema an append-only `events` table
//! with `seq`, `id`, `hlc` and `device`, created in an earlier step or in the same step
//! before the projection's part.

use rusqlite::Connection;
use rusqlite_migration::{HookResult, Migrations, M};

/// One migration step of the projection, in the order every database applies them.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ProjectionStep {
    /// The projection's tables: stock keys, deltas, counts, reviews, pick progress and
    /// claims, tasks, discrepancies.
    Init,
    /// Stock deltas keyed by (key, hlc, event seq).
    CompactStockDeltas,
    /// Each key's on-hand and baseline in `key_states`.
    KeyStates,
    /// `projection_rules`: which version of the stock rules wrote the projection.
    RulesVersion,
}

impl ProjectionStep {
    /// Every step, in order.
    pub const ALL: [Self; 4] = [
        Self::Init,
        Self::CompactStockDeltas,
        Self::KeyStates,
        Self::RulesVersion,
    ];

    /// The step's SQL.
    pub fn sql(self) -> &'static str {
        match self {
            Self::Init => include_str!("../../../../migrations/projection/0001_init.sql"),
            Self::CompactStockDeltas => {
                include_str!("../../../../migrations/projection/0002_compact_stock_deltas.sql")
            }
            Self::KeyStates => {
                include_str!("../../../../migrations/projection/0003_key_states.sql")
            }
            Self::RulesVersion => {
                include_str!("../../../../migrations/projection/0004_projection_rules.sql")
            }
        }
    }
}

/// One step of a database's migration list.
#[derive(Copy, Clone, Debug)]
pub enum Step {
    /// SQL of the database's own.
    Own(&'static str),
    /// A step of the projection, alone.
    Projection(ProjectionStep),
    /// SQL of the database's own, then a step of the projection, as one step.
    OwnThenProjection(&'static str, ProjectionStep),
}

impl Step {
    fn projection(self) -> Option<ProjectionStep> {
        match self {
            Self::Own(_) => None,
            Self::Projection(step) | Self::OwnThenProjection(_, step) => Some(step),
        }
    }
}

/// The projection steps a list places, in its order.
fn placed(steps: &[Step]) -> Vec<ProjectionStep> {
    steps.iter().filter_map(|step| step.projection()).collect()
}

/// A database's list as rusqlite_migration's migrations.
///
/// # Panics
///
/// If the list does not place every [`ProjectionStep`] exactly once and in order. Lists are
/// constants, so the database's tests meet this before any user does.
pub fn migrations(steps: &[Step]) -> Vec<M<'static>> {
    assert_eq!(
        placed(steps),
        ProjectionStep::ALL,
        "a database's migration list must place every projection step once, in order"
    );
    steps
        .iter()
        .map(|step| match *step {
            Step::Own(sql) => M::up(sql),
            Step::Projection(projection) => M::up(projection.sql()),
            Step::OwnThenProjection(sql, projection) => {
                M::up_with_hook(sql, move |tx: &rusqlite::Transaction<'_>| -> HookResult {
                    tx.execute_batch(projection.sql())?;
                    Ok(())
                })
            }
        })
        .collect()
}

/// The schema as SQLite records it, for comparing two databases' schemas: one line per
/// object of `sqlite_schema` (tables, indexes, triggers, SQLite's own autoindexes), sorted
/// by type and name, as `type name on table: sql`, with the SQL's newlines written `\n`.
/// Where an object sits in the file (its root page) is left out.
pub fn schema_dump(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut statement = conn.prepare(
        "SELECT type, name, tbl_name, coalesce(sql, '') FROM sqlite_schema ORDER BY type, name",
    )?;
    let rows = statement.query_map([], |row| {
        Ok(format!(
            "{} {} on {}: {}",
            row.get::<_, String>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, String>(2)?,
            row.get::<_, String>(3)?.replace('\n', "\\n")
        ))
    })?;
    rows.collect()
}

/// Checks that `migrations` gives, at every version recorded in `history`, exactly the schema
/// recorded there. `history` is [`schema_dump`]'s lines per version, each version after a
/// line `version N`; lines starting with `#` are comments. This is how a list that was
/// rearranged (the projection's split out of the stores' own files) proves it gives the
/// schema the files in the field have. Answers the versions it compared, or what differs.
pub fn compare_with_history(
    migrations: &Migrations<'_>,
    history: &str,
) -> Result<Vec<usize>, String> {
    let mut recorded: Vec<(usize, Vec<String>)> = Vec::new();
    for line in history.lines().filter(|line| !line.starts_with('#')) {
        match line.strip_prefix("version ") {
            Some(version) => {
                let version = version
                    .parse()
                    .map_err(|_| format!("{line:?} does not name a version"))?;
                recorded.push((version, Vec::new()));
            }
            None => match recorded.last_mut() {
                Some((_, schema)) => schema.push(line.to_owned()),
                None => return Err(format!("{line:?} comes before any version line")),
            },
        }
    }
    for (version, expected) in &recorded {
        let mut conn = Connection::open_in_memory().map_err(|error| error.to_string())?;
        migrations
            .to_version(&mut conn, *version)
            .map_err(|error| format!("migrating to version {version}: {error}"))?;
        let found = schema_dump(&conn).map_err(|error| error.to_string())?;
        if &found != expected {
            let missing: Vec<&String> = expected.iter().filter(|l| !found.contains(l)).collect();
            let unexpected: Vec<&String> = found.iter().filter(|l| !expected.contains(l)).collect();
            return Err(format!(
                "schema {version} differs from the recorded one; recorded but not given: \
                 {missing:#?}; given but not recorded: {unexpected:#?}"
            ));
        }
    }
    Ok(recorded.into_iter().map(|(version, _)| version).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The smallest own schema the projection's SQL needs.
    const EVENTS: &str = "CREATE TABLE events (seq INTEGER PRIMARY KEY, id BLOB NOT NULL UNIQUE,
        hlc INTEGER NOT NULL, device BLOB NOT NULL, payload TEXT NOT NULL) STRICT;";

    #[test]
    fn the_projection_applies_over_an_event_log() {
        let list = [
            Step::OwnThenProjection(EVENTS, ProjectionStep::Init),
            Step::Projection(ProjectionStep::CompactStockDeltas),
            Step::Own("CREATE TABLE own_table (id INTEGER PRIMARY KEY) STRICT;"),
            Step::Projection(ProjectionStep::KeyStates),
            Step::Projection(ProjectionStep::RulesVersion),
        ];
        let migrations = rusqlite_migration::Migrations::new(migrations(&list));
        migrations.validate().expect("every step applies in order");
        let mut conn = Connection::open_in_memory().expect("in-memory database");
        migrations.to_latest(&mut conn).expect("migrate");
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .expect("version");
        assert_eq!(version, 5, "a combined step is one version");
        let dump = schema_dump(&conn).expect("dump").join("\n");
        for table in [
            "events",
            "stock_keys",
            "key_states",
            "projection_rules",
            "own_table",
        ] {
            assert!(
                dump.contains(&format!("table {table} on {table}:")),
                "{table} is created: {dump}"
            );
        }
        assert!(
            !dump.contains("stock_deltas_by_event_id"),
            "the compaction's temporary table is gone: {dump}"
        );
    }

    #[test]
    fn a_schema_history_is_compared_version_by_version() {
        let list = [
            Step::OwnThenProjection(EVENTS, ProjectionStep::Init),
            Step::Projection(ProjectionStep::CompactStockDeltas),
            Step::Projection(ProjectionStep::KeyStates),
            Step::Projection(ProjectionStep::RulesVersion),
        ];
        let migrations = Migrations::new(migrations(&list));
        let mut history = String::from("# a comment\n");
        for version in 1..=2 {
            let mut conn = Connection::open_in_memory().expect("in-memory database");
            migrations.to_version(&mut conn, version).expect("migrate");
            history.push_str(&format!("version {version}\n"));
            for line in schema_dump(&conn).expect("dump") {
                history.push_str(&line);
                history.push('\n');
            }
        }
        assert_eq!(
            compare_with_history(&migrations, &history),
            Ok(vec![1, 2]),
            "the list gives the schema recorded from it"
        );
        let edited = history.replacen("key_id   INTEGER NOT NULL", "key_id INTEGER NOT NULL", 1);
        assert_ne!(edited, history, "sanity: the edit applies");
        let refusal = compare_with_history(&migrations, &edited).expect_err("a changed column");
        assert!(refusal.contains("schema 1 differs"), "{refusal}");
    }

    #[test]
    #[should_panic(expected = "every projection step once, in order")]
    fn a_list_that_leaves_out_a_projection_step_is_refused() {
        migrations(&[
            Step::OwnThenProjection(EVENTS, ProjectionStep::Init),
            Step::Projection(ProjectionStep::KeyStates),
            Step::Projection(ProjectionStep::RulesVersion),
        ]);
    }

    #[test]
    #[should_panic(expected = "every projection step once, in order")]
    fn a_list_that_reorders_projection_steps_is_refused() {
        migrations(&[
            Step::OwnThenProjection(EVENTS, ProjectionStep::Init),
            Step::Projection(ProjectionStep::KeyStates),
            Step::Projection(ProjectionStep::CompactStockDeltas),
            Step::Projection(ProjectionStep::RulesVersion),
        ]);
    }
}
