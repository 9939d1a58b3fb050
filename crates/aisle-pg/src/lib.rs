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
//! What it must never do by default: rely on session state. Every statement runs inside an
//! explicit transaction; statements are unnamed or prepared per transaction (and closed with
//! it; see [`PgTx`]), advisory locks are transaction-level, and nothing is `SET` on a session.
//! That is what keeps a server correct behind PgBouncer in transaction mode, where consecutive
//! transactions of one client connection may run on different server connections.
//!
//! The one exception is asked for by name: a connection opened with
//! [`StatementScope::Connection`] keeps its statements prepared for its life, so a statement
//! is parsed and planned once per connection instead of once per transaction. That is session
//! state, for a server that reaches its cluster directly (or through a pooler that tracks
//! prepared statements); see [`StatementScope`].

use std::collections::HashMap;
use std::sync::Mutex;
use tokio::runtime::Handle;
pub use tokio_postgres::types::ToSql;
use tokio_postgres::types::Type;
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
    #[error("postgresql: a statement expected to return one row returned another number")]
    RowCount,
    #[error("postgresql: the statement takes {expected} parameters, {given} were given")]
    Parameters { expected: usize, given: usize },
    /// A statement kept on the connection ([`StatementScope::Connection`]) could not run as
    /// kept; the pool's kept statements were dropped, so the same work prepares afresh.
    #[error("postgresql: a kept prepared statement was stale, and is prepared again on the next try: {0}")]
    StaleStatement(#[source] tokio_postgres::Error),
}

/// Whether `error` says a kept prepared statement could not be run as kept: the server no
/// longer has it (`26000`), or a schema change altered its result's columns since it was
/// prepared (`0A000` from plan revalidation: "cached plan must not change result type",
/// matched by the server routine that raises it, as the message may be translated).
fn is_stale(error: &tokio_postgres::Error) -> bool {
    use tokio_postgres::error::SqlState;
    let Some(db) = error.as_db_error() else {
        return false;
    };
    let code = db.code();
    *code == SqlState::INVALID_SQL_STATEMENT_NAME
        || (*code == SqlState::FEATURE_NOT_SUPPORTED
            && (db.routine().is_some_and(|routine| {
                routine == "RevalidateCachedQuery" || routine == "RevalidateCachedPlan"
            }) || db.message().starts_with("cached plan must not change")))
}

impl PgError {
    /// Whether the database itself is wrong for this build (a migration that failed in the
    /// database, a schema newer than this build knows), as opposed to unreachable for now:
    /// what marks a tenant unavailable until an operator has looked.
    pub fn is_wrong_schema(&self) -> bool {
        matches!(
            self,
            PgError::Migration { .. } | PgError::NewerSchema { .. }
        ) && !self.is_retryable()
    }

    /// The SQLSTATE of a database error, if the database answered one.
    pub fn code(&self) -> Option<&tokio_postgres::error::SqlState> {
        match self {
            PgError::Db(error)
            | PgError::Migration { source: error, .. }
            | PgError::StaleStatement(error) => error.code(),
            _ => None,
        }
    }

    /// Whether a statement kept on the connection ([`StatementScope::Connection`]) could not
    /// run as kept ([`PgError::StaleStatement`]). Prepared afresh, the same work succeeds. A
    /// connection that prepares per transaction never answers this.
    pub fn is_stale_statement(&self) -> bool {
        matches!(self, PgError::StaleStatement(_))
    }

    /// Whether the same work may succeed if tried again: a serialization failure or deadlock,
    /// a connection that broke or could not be made for now, a pool that had no connection
    /// in time, or a kept statement that was stale ([`PgError::is_stale_statement`]).
    pub fn is_retryable(&self) -> bool {
        use tokio_postgres::error::SqlState;
        match self {
            PgError::StaleStatement(_) => true,
            // A migration cut off by a failover or a broken connection is not a wrong schema.
            PgError::Db(error) | PgError::Migration { source: error, .. } => {
                error.is_closed()
                    || error.code().is_some_and(|code| {
                        *code == SqlState::T_R_SERIALIZATION_FAILURE
                            || *code == SqlState::T_R_DEADLOCK_DETECTED
                            || *code == SqlState::ADMIN_SHUTDOWN
                            || *code == SqlState::CANNOT_CONNECT_NOW
                    })
            }
            // A pool that had no connection in time, or was closed under a request (an
            // evicted tenant), is worth a retry; so is a new connection that failed to reach
            // the server (an I/O error, no SQLSTATE) or that the server turned away for now.
            // One it refused for good (a dropped database, a wrong password) is not.
            PgError::Pool(deadpool_postgres::PoolError::Timeout(_))
            | PgError::Pool(deadpool_postgres::PoolError::Closed) => true,
            PgError::Pool(deadpool_postgres::PoolError::Backend(error)) => {
                error.is_closed()
                    || error.code().is_none_or(|code| {
                        *code == SqlState::ADMIN_SHUTDOWN
                            || *code == SqlState::CANNOT_CONNECT_NOW
                            || *code == SqlState::TOO_MANY_CONNECTIONS
                    })
            }
            _ => false,
        }
    }
}

/// Where a connection's prepared statements live.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StatementScope {
    /// Inside one transaction: unnamed, or prepared and closed before it ends (see [`PgTx`]).
    /// Nothing outlives the transaction, so this works behind any pooler, PgBouncer in
    /// transaction mode included. The default.
    #[default]
    Transaction,
    /// On the server connection, for its life: a text is prepared the first time the
    /// connection meets it and reused by every later transaction on it (at most
    /// [`KEPT_STATEMENTS_CAP`] texts a connection; past that its kept statements are closed
    /// and it starts again). Saves parsing every statement after the first, and planning it
    /// once PostgreSQL settles on a generic plan (after five runs, when that plan costs no
    /// more than the custom ones): a push's largest fixed cost in PostgreSQL. Session
    /// state: only for a connection that reaches the cluster directly, or through a pooler
    /// that tracks protocol-level prepared statements (PgBouncer 1.21 or later with
    /// `max_prepared_statements`), never behind PgBouncer in transaction mode without it.
    /// A kept statement the server has lost, or whose result changed under a schema
    /// migration, fails its transaction with [`PgError::StaleStatement`] (retryable), and
    /// the kept statements of every connection of its pool are dropped, so retries prepare
    /// afresh.
    Connection,
}

/// How many statement texts one connection keeps prepared with [`StatementScope::Connection`]
/// (the server runs a few dozen on its hot paths, about a hundred texts in all on a tenant
/// database).
pub const KEPT_STATEMENTS_CAP: usize = 256;

/// Takes a connection from `pool` and begins a transaction on it, waiting from a blocking
/// thread. The connection returns to the pool when the [`PgConn`] is dropped. Its statements
/// are prepared per transaction ([`StatementScope::Transaction`]).
pub fn connect(pool: &deadpool_postgres::Pool, runtime: &Handle) -> Result<PgConn, PgError> {
    connect_with(pool, runtime, StatementScope::Transaction)
}

/// [`connect`], with the statements kept as `scope` says.
pub fn connect_with(
    pool: &deadpool_postgres::Pool,
    runtime: &Handle,
    scope: StatementScope,
) -> Result<PgConn, PgError> {
    let client = runtime.block_on(pool.get())?;
    Ok(PgConn {
        client,
        runtime: runtime.clone(),
        scope,
    })
}

/// A pooled connection used from a blocking thread.
pub struct PgConn {
    client: deadpool_postgres::Object,
    runtime: Handle,
    scope: StatementScope,
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
        // The pool whose connections' kept statements a stale one drops (see `run_checked`).
        let kept_in = match self.scope {
            StatementScope::Connection => deadpool_postgres::Object::pool(&self.client),
            StatementScope::Transaction => None,
        };
        let tx = runtime.block_on(self.client.transaction())?;
        Ok(PgTx {
            statements: Mutex::new(HashMap::new()),
            tx,
            runtime,
            scope: self.scope,
            kept_in,
        })
    }

    /// Runs one statement outside any transaction block, so PostgreSQL runs it as a
    /// transaction of its own: for a lone read, one round trip (Parse, Bind and Execute of an
    /// unnamed statement, with the parameter types given) instead of BEGIN, the read and
    /// COMMIT. Nothing is prepared, so nothing outlives it (fine behind PgBouncer in
    /// transaction mode).
    pub fn query_alone(
        &self,
        sql: &str,
        params: &[(&(dyn ToSql + Sync), Type)],
    ) -> Result<Vec<Row>, PgError> {
        Ok(self
            .runtime
            .block_on(self.client.query_typed(sql, params))?)
    }

    /// The underlying async client, for async callers (LISTEN, health checks).
    pub fn client(&self) -> &tokio_postgres::Client {
        &self.client
    }
}

/// A transaction driven from a blocking thread.
///
/// A statement text runs in one of two ways. A transaction's first run of a text sends Parse,
/// Bind and Execute of an unnamed statement together, with the parameter types PostgreSQL
/// gave that text (`query_typed`): one round trip, and nothing to close. The types are kept
/// process-wide (see [`known_types`]); the first time this process meets a text, it prepares
/// it once to learn them and closes it at once, inside the transaction. A text run a second
/// time in the same transaction is prepared there and reused for the rest of it (so a
/// statement run per event is parsed once), and closed before the transaction ends, as is a
/// text whose types are not kept (see [`cacheable_types`]). A row keeps its statement alive:
/// rows of a prepared statement must not outlive the transaction, or its Close goes out after
/// COMMIT (see the crate doc on PgBouncer); an unnamed statement's rows have nothing to close.
///
/// [`PgTx::pipeline`] sends several statements at once and waits once.
///
/// On a connection opened with [`StatementScope::Connection`], every text is instead prepared
/// the first time the connection meets it and kept for the connection's life.
pub struct PgTx<'c> {
    /// Declared before `tx`, so that a transaction dropped without commit or rollback closes
    /// its statements before its ROLLBACK is sent (fields drop in declaration order).
    statements: Mutex<HashMap<String, Use>>,
    tx: deadpool_postgres::Transaction<'c>,
    runtime: Handle,
    scope: StatementScope,
    /// With [`StatementScope::Connection`], the connection's pool.
    kept_in: Option<deadpool_postgres::Pool>,
}

/// How a statement text has been run in a transaction so far.
enum Use {
    /// Once, unnamed with its known types.
    Typed,
    /// Prepared in this transaction (closed when it ends).
    Prepared(tokio_postgres::Statement),
}

/// How to run a statement text this time.
enum Plan {
    Typed(Vec<Type>),
    Prepared(tokio_postgres::Statement),
}

impl std::fmt::Debug for PgTx<'_> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("PgTx")
    }
}

type Params<'p> = &'p [&'p (dyn ToSql + Sync)];

/// The statement of [`PgTx::advisory_lock`], with the lock's key as its parameter, for a
/// [`PgTx::pipeline`] that opens with the lock.
pub const ADVISORY_LOCK_SQL: &str = "SELECT pg_advisory_xact_lock($1)";

/// What one statement of a [`PgTx::pipeline`] answered: its rows (none for a statement
/// that returns none) and the number of rows it changed or returned.
#[derive(Debug)]
pub struct Answer {
    pub rows: Vec<Row>,
    pub affected: u64,
}

/// A statement that owns its parameters, built now and run later in a pipeline
/// ([`PgTx::run_deferred`]): how a transaction's writes, each built by its own part of the
/// program, go to the server together.
pub struct Deferred {
    sql: &'static str,
    params: Vec<Box<dyn ToSql + Sync>>,
}

impl Deferred {
    pub fn new(sql: &'static str, params: Vec<Box<dyn ToSql + Sync>>) -> Self {
        Self { sql, params }
    }

    pub fn sql(&self) -> &'static str {
        self.sql
    }
}

impl std::fmt::Debug for Deferred {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Deferred")
            .field("sql", &self.sql)
            .field("params", &self.params.len())
            .finish()
    }
}

/// How many statement texts [`known_types`] keeps: more than the server has (a few hundred);
/// a text met past the cap is prepared in each transaction, as before the cache.
const KNOWN_TYPES_CAP: usize = 4_096;

/// The parameter types PostgreSQL answered for each statement text this process prepared.
///
/// Kept process-wide, not per connection: the same text names the same tables and columns in
/// every database this process reaches with it (every tenant database has the same schema,
/// and a tenant whose migration failed is not served), so its parameters have the same
/// types. Were a text's types to differ in some database, a value of the wrong Rust type
/// is refused by the driver before anything is sent, and a type PostgreSQL cannot use fails
/// the statement; neither writes anything.
fn known_types() -> &'static std::sync::RwLock<HashMap<String, Vec<Type>>> {
    static KNOWN: std::sync::OnceLock<std::sync::RwLock<HashMap<String, Vec<Type>>>> =
        std::sync::OnceLock::new();
    KNOWN.get_or_init(Default::default)
}

/// The parameter types of `statement`, if they may be kept for its text: every type of its
/// parameters and columns is one of PostgreSQL's built-in types, whose ids are the same in
/// every database. An enum, a domain or an extension's type has an id of its own in each
/// database (and reading a column of one makes the driver query the catalog): such a text
/// is prepared in each transaction instead. The schemas have none today.
fn cacheable_types(statement: &tokio_postgres::Statement) -> Option<Vec<Type>> {
    let built_in = |ty: &Type| Type::from_oid(ty.oid()).is_some();
    let columns = statement.columns().iter().map(|column| column.type_());
    let all_built_in = statement.params().iter().chain(columns).all(built_in);
    all_built_in.then(|| statement.params().to_vec())
}

/// Keeps `types` for `sql`, unless the cache is full: whether they are kept.
fn remember_types(sql: &str, types: &[Type]) -> bool {
    if known_types()
        .read()
        .expect("statement types poisoned")
        .contains_key(sql)
    {
        return true;
    }
    let mut known = known_types().write().expect("statement types poisoned");
    if known.len() >= KNOWN_TYPES_CAP {
        return false;
    }
    known.insert(sql.to_owned(), types.to_vec());
    true
}

impl<'c> PgTx<'c> {
    /// How to run `sql` now, preparing it if it must be (see [`PgTx`]).
    fn plan(&self, sql: &str) -> Result<Plan, PgError> {
        if self.scope == StatementScope::Connection {
            let cache = &self.tx.statement_cache;
            if cache.size() >= KEPT_STATEMENTS_CAP {
                // Closed as their last handles drop (a statement this transaction still
                // holds, at its end).
                cache.clear();
            }
            return Ok(Plan::Prepared(
                self.runtime.block_on(self.tx.prepare_cached(sql))?,
            ));
        }
        let mut statements = self.statements.lock().expect("statement cache poisoned");
        match statements.get(sql) {
            Some(Use::Prepared(statement)) => return Ok(Plan::Prepared(statement.clone())),
            Some(Use::Typed) => return self.prepare(&mut statements, sql),
            None => {}
        }
        let known = known_types()
            .read()
            .expect("statement types poisoned")
            .get(sql)
            .cloned();
        let types = match known {
            Some(types) => types,
            None => {
                // Met first: prepared only to learn its types, and closed at once (the
                // statement is dropped here, so its Close goes out now, in this transaction).
                let statement = self.runtime.block_on(self.tx.prepare(sql))?;
                match cacheable_types(&statement) {
                    Some(types) if remember_types(sql, &types) => types,
                    _ => {
                        statements.insert(sql.to_owned(), Use::Prepared(statement.clone()));
                        return Ok(Plan::Prepared(statement));
                    }
                }
            }
        };
        statements.insert(sql.to_owned(), Use::Typed);
        Ok(Plan::Typed(types))
    }

    /// Prepares `sql` for the rest of the transaction.
    fn prepare(&self, statements: &mut HashMap<String, Use>, sql: &str) -> Result<Plan, PgError> {
        let statement = self.runtime.block_on(self.tx.prepare(sql))?;
        statements.insert(sql.to_owned(), Use::Prepared(statement.clone()));
        Ok(Plan::Prepared(statement))
    }

    /// Runs `sql` as `plan` says, collecting its rows and the count of rows it changed.
    async fn run(&self, sql: &str, plan: Plan, params: Params<'_>) -> Result<Answer, PgError> {
        let stream = match plan {
            Plan::Typed(types) => {
                // The driver checks this for a prepared statement, not for an unnamed one.
                if params.len() != types.len() {
                    return Err(PgError::Parameters {
                        expected: types.len(),
                        given: params.len(),
                    });
                }
                let typed = params.iter().copied().zip(types);
                self.tx.query_typed_raw(sql, typed).await?
            }
            Plan::Prepared(statement) => {
                self.tx
                    .query_raw(&statement, params.iter().copied())
                    .await?
            }
        };
        let mut stream = std::pin::pin!(stream);
        let mut rows = Vec::new();
        while let Some(row) = futures_util::TryStreamExt::try_next(&mut stream).await? {
            rows.push(row);
        }
        let affected = stream.rows_affected().unwrap_or(rows.len() as u64);
        Ok(Answer { rows, affected })
    }

    /// [`PgTx::run`], forgetting the connection's kept statements if one was stale (see
    /// [`StatementScope::Connection`]).
    async fn run_checked(
        &self,
        sql: &str,
        plan: Plan,
        params: Params<'_>,
    ) -> Result<Answer, PgError> {
        match self.run(sql, plan, params).await {
            Err(PgError::Db(error))
                if self.scope == StatementScope::Connection && is_stale(&error) =>
            {
                // A schema change (another instance's `migrate --all`) makes every kept
                // statement of the text stale at once: the whole pool's are dropped, so each
                // of its connections prepares afresh rather than fail once more.
                tracing::warn!(%error, "a kept prepared statement was stale; the pool's kept statements are dropped");
                match &self.kept_in {
                    Some(pool) => pool.manager().statement_caches.clear(),
                    None => self.tx.statement_cache.clear(),
                }
                Err(PgError::StaleStatement(error))
            }
            answer => answer,
        }
    }

    fn answer(&self, sql: &str, params: Params<'_>) -> Result<Answer, PgError> {
        let plan = self.plan(sql)?;
        self.runtime.block_on(self.run_checked(sql, plan, params))
    }

    /// Runs a statement; the number of rows it changed.
    pub fn execute(&self, sql: &str, params: Params<'_>) -> Result<u64, PgError> {
        Ok(self.answer(sql, params)?.affected)
    }

    pub fn query(&self, sql: &str, params: Params<'_>) -> Result<Vec<Row>, PgError> {
        Ok(self.answer(sql, params)?.rows)
    }

    pub fn query_opt(&self, sql: &str, params: Params<'_>) -> Result<Option<Row>, PgError> {
        let mut rows = self.answer(sql, params)?.rows;
        match rows.len() {
            0 => Ok(None),
            1 => Ok(rows.pop()),
            _ => Err(PgError::RowCount),
        }
    }

    pub fn query_one(&self, sql: &str, params: Params<'_>) -> Result<Row, PgError> {
        self.query_opt(sql, params)?.ok_or(PgError::RowCount)
    }

    /// Runs `statements` in their order, sending them all before waiting for any answer
    /// (one round trip instead of one each): the answers in the same order, or the first
    /// statement's error in that order. No statement after a failed one runs: one the
    /// server failed aborts the transaction, and one refused before it was sent (a value
    /// of the wrong type, a wrong number of parameters) stops those after it from being sent.
    ///
    /// On the server each statement starts after the one before it has ended, as if run one
    /// by one, so a statement may rely on the locks an earlier one took and the rows it
    /// wrote. Not on its schema changes: every text is parsed, or prepared, before the first
    /// statement is sent.
    pub fn pipeline(&self, statements: &[(&str, Params<'_>)]) -> Result<Vec<Answer>, PgError> {
        let plans = statements
            .iter()
            .map(|(sql, _)| self.plan(sql))
            .collect::<Result<Vec<_>, _>>()?;
        let runs = statements
            .iter()
            .zip(plans)
            .map(|((sql, params), plan)| self.run_checked(sql, plan, params));
        let answers = self.runtime.block_on(in_order(runs.collect()));
        let mut answered = Vec::with_capacity(answers.len());
        for answer in answers {
            match answer {
                Some(answer) => answered.push(answer?),
                // Not sent, because one before it was refused, whose error came first.
                None => unreachable!("a statement is left unsent only after a refused one"),
            }
        }
        Ok(answered)
    }

    /// Runs `statements` as one [`PgTx::pipeline`].
    pub fn run_deferred(&self, statements: &[Deferred]) -> Result<Vec<Answer>, PgError> {
        let params: Vec<Vec<&(dyn ToSql + Sync)>> = statements
            .iter()
            .map(|statement| {
                statement
                    .params
                    .iter()
                    .map(|param| &**param as &(dyn ToSql + Sync))
                    .collect()
            })
            .collect();
        let pipeline: Vec<(&str, Params<'_>)> = statements
            .iter()
            .zip(&params)
            .map(|(statement, params)| (statement.sql, params.as_slice()))
            .collect();
        self.pipeline(&pipeline)
    }

    /// Runs several statements without parameters (the simple query protocol).
    pub fn batch_execute(&self, sql: &str) -> Result<(), PgError> {
        Ok(self.runtime.block_on(self.tx.batch_execute(sql))?)
    }

    /// Waits for the transaction-level advisory lock `key` (released at commit or rollback).
    pub fn advisory_lock(&self, key: i64) -> Result<(), PgError> {
        self.execute(ADVISORY_LOCK_SQL, &[&key])?;
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
            ..
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
            ..
        } = self;
        drop(statements);
        Ok(runtime.block_on(tx.rollback())?)
    }
}

/// Awaits `futures`, polling them in their order every time: each statement future sends its
/// messages on its first poll, so they reach the connection, and the server, in this order
/// (`futures_util::future::join_all` happens to poll in order too, but does not promise it).
/// A future that is ready at its first poll has had no answer from the server: it failed
/// before sending. If it failed, the futures after it are never polled, so never sent, and
/// their place in the answer is `None`; the ones before it are still driven to their end.
async fn in_order<T, F>(futures: Vec<F>) -> Vec<Option<Result<T, PgError>>>
where
    F: std::future::Future<Output = Result<T, PgError>>,
{
    let mut futures: Vec<_> = futures
        .into_iter()
        .map(|future| Box::pin(futures_util::future::maybe_done(future)))
        .collect();
    let mut started = 0;
    let mut refused = false;
    std::future::poll_fn(|context| {
        let mut all_done = true;
        for (index, future) in futures.iter_mut().enumerate() {
            let first_poll = index == started;
            if first_poll {
                if refused {
                    break;
                }
                started += 1;
            }
            if std::future::Future::poll(future.as_mut(), context).is_pending() {
                all_done = false;
            } else if first_poll && matches!(future.as_mut().output_mut(), Some(Err(_))) {
                refused = true;
            }
        }
        if all_done {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    let total = futures.len();
    let mut outputs: Vec<_> = futures
        .iter_mut()
        .take(started)
        .map(|future| future.as_mut().take_output())
        .collect();
    outputs.resize_with(total, || None);
    outputs
}
