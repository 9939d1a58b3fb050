//! aisle-pg: what every PostgreSQL backend of Aisle shares.
//!
//! - [`PgTx`]: a transaction on a pooled `tokio-postgres` connection, driven from a blocking
//!   thread. The server's `Storage` and registry methods, and `aisle_core::stock::apply` with
//!   its synchronous `Ledger`, run on tokio's blocking pool; each call here waits for its
//!   statement with the runtime's [`Handle`]. It must never be called from an async task.
//! - [`migrate`]: numbered `.sql` migrations applied once per database, recorded in
//!   `aisle_migrations`, under a transaction-level advisory lock so that several server
//!   instances starting at once apply each migration exactly once.
//! - [`route`]: where a report read goes, a cluster's streaming replica while its replay lag is
//!   under a bound, the primary otherwise, with read counts and the lag for `/metrics`.
//!
//! What it must never do: rely on session state. Every statement runs inside an explicit
//! transaction; statements are prepared per transaction (and closed with it), advisory locks
//! are transaction-level, and nothing is `SET` on a session. That is what keeps a server
//! correct behind PgBouncer in transaction mode, where consecutive transactions of one client
//! connection may run on different server connections.

use std::collections::HashMap;
use std::sync::Mutex;
use tokio::runtime::Handle;
pub use tokio_postgres::types::ToSql;
pub use tokio_postgres::Row;

// The driver and the pool, re-exported so that crates building on aisle-pg (a registry that
// opens a cluster's maintenance database, a pool per tenant database) use the same versions.
#[doc(no_inline)]
pub use {deadpool_postgres, tokio_postgres};

mod migrate;
pub use migrate::{migrate, Migration, MigrationReport};
pub mod route;

/// A PostgreSQL failure, keeping the driver's error for logs.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    #[error("postgresql: {0}")]
    Db(#[from] tokio_postgres::Error),
    #[error("postgresql pool: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error("migration {version} ({name}) failed: {source}")]
    Migration {
        version: u32,
        name: String,
        #[source]
        source: tokio_postgres::Error,
    },
    #[error("the database has migration {found}, newer than this build knows ({known})")]
    NewerSchema { found: u32, known: u32 },
}

impl PgError {
    /// The SQLSTATE of a database error, if the database answered one.
    pub fn code(&self) -> Option<&tokio_postgres::error::SqlState> {
        match self {
            PgError::Db(error) | PgError::Migration { source: error, .. } => error.code(),
            _ => None,
        }
    }

    /// Whether the same work may succeed if tried again: a serialization failure or deadlock,
    /// a connection that broke, or a pool that had no connection in time.
    pub fn is_retryable(&self) -> bool {
        use tokio_postgres::error::SqlState;
        match self {
            PgError::Db(error) => {
                error.is_closed()
                    || error.code().is_some_and(|code| {
                        *code == SqlState::T_R_SERIALIZATION_FAILURE
                            || *code == SqlState::T_R_DEADLOCK_DETECTED
                            || *code == SqlState::ADMIN_SHUTDOWN
                            || *code == SqlState::CANNOT_CONNECT_NOW
                    })
            }
            PgError::Pool(_) => true,
            _ => false,
        }
    }
}

/// Takes a connection from `pool` and begins a transaction on it, waiting from a blocking
/// thread. The connection returns to the pool when the [`PgConn`] is dropped.
pub fn connect(pool: &deadpool_postgres::Pool, runtime: &Handle) -> Result<PgConn, PgError> {
    let client = runtime.block_on(pool.get())?;
    Ok(PgConn {
        client,
        runtime: runtime.clone(),
    })
}

/// A pooled connection used from a blocking thread.
pub struct PgConn {
    client: deadpool_postgres::Object,
    runtime: Handle,
}

impl std::fmt::Debug for PgConn {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("PgConn")
    }
}

impl PgConn {
    /// Begins a transaction (READ COMMITTED, PostgreSQL's default).
    pub fn transaction(&mut self) -> Result<PgTx<'_>, PgError> {
        let runtime = self.runtime.clone();
        let tx = runtime.block_on(self.client.transaction())?;
        Ok(PgTx {
            statements: Mutex::new(HashMap::new()),
            tx,
            runtime,
        })
    }

    /// The underlying async client, for async callers (LISTEN, health checks).
    pub fn client(&self) -> &tokio_postgres::Client {
        &self.client
    }
}

/// A transaction driven from a blocking thread. Statements are prepared once per
/// transaction and reused within it, so a batch of 500 events prepares each statement
/// once; none outlives the transaction (see the crate doc on PgBouncer).
pub struct PgTx<'c> {
    /// Declared before `tx`, so that a transaction dropped without commit or rollback closes
    /// its statements before its ROLLBACK is sent (fields drop in declaration order).
    statements: Mutex<HashMap<String, tokio_postgres::Statement>>,
    tx: deadpool_postgres::Transaction<'c>,
    runtime: Handle,
}

impl std::fmt::Debug for PgTx<'_> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("PgTx")
    }
}

type Params<'p> = &'p [&'p (dyn ToSql + Sync)];

impl<'c> PgTx<'c> {
    fn statement(&self, sql: &str) -> Result<tokio_postgres::Statement, PgError> {
        let mut statements = self.statements.lock().expect("statement cache poisoned");
        if let Some(statement) = statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.runtime.block_on(self.tx.prepare(sql))?;
        statements.insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }

    /// Runs a statement; the number of rows it changed.
    pub fn execute(&self, sql: &str, params: Params<'_>) -> Result<u64, PgError> {
        let statement = self.statement(sql)?;
        Ok(self.runtime.block_on(self.tx.execute(&statement, params))?)
    }

    pub fn query(&self, sql: &str, params: Params<'_>) -> Result<Vec<Row>, PgError> {
        let statement = self.statement(sql)?;
        Ok(self.runtime.block_on(self.tx.query(&statement, params))?)
    }

    pub fn query_opt(&self, sql: &str, params: Params<'_>) -> Result<Option<Row>, PgError> {
        let statement = self.statement(sql)?;
        Ok(self
            .runtime
            .block_on(self.tx.query_opt(&statement, params))?)
    }

    pub fn query_one(&self, sql: &str, params: Params<'_>) -> Result<Row, PgError> {
        let statement = self.statement(sql)?;
        Ok(self
            .runtime
            .block_on(self.tx.query_one(&statement, params))?)
    }

    /// Runs several statements without parameters (the simple query protocol).
    pub fn batch_execute(&self, sql: &str) -> Result<(), PgError> {
        Ok(self.runtime.block_on(self.tx.batch_execute(sql))?)
    }

    /// Waits for the transaction-level advisory lock `key` (released at commit or rollback).
    pub fn advisory_lock(&self, key: i64) -> Result<(), PgError> {
        self.execute("SELECT pg_advisory_xact_lock($1)", &[&key])?;
        Ok(())
    }

    /// Commits. The transaction's statements are closed first, inside it: behind PgBouncer in
    /// transaction mode a Close sent after COMMIT could run on another server connection and
    /// leave the statement's name taken on this one.
    pub fn commit(self) -> Result<(), PgError> {
        let PgTx {
            statements,
            tx,
            runtime,
        } = self;
        drop(statements);
        Ok(runtime.block_on(tx.commit())?)
    }

    /// Rolls back, closing the transaction's statements first (see [`PgTx::commit`]).
    pub fn rollback(self) -> Result<(), PgError> {
        let PgTx {
            statements,
            tx,
            runtime,
        } = self;
        drop(statements);
        Ok(runtime.block_on(tx.rollback())?)
    }
}
