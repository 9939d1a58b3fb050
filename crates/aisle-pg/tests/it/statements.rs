//! A transaction's prepared statements are closed inside it, before its COMMIT or ROLLBACK.
//!
//! Behind PgBouncer in transaction mode the server connection goes back to the pool at COMMIT.
//! A Close sent after it may run on another server connection, leaving the statement (`sN`,
//! named by a per-process counter) on the first one, where another server instance's `sN` then
//! fails with "prepared statement already exists". The test reads what the client sends,
//! through a recording TCP proxy, because which server connection a late Close lands on is
//! a race.

use aisle_pgtest::PgCluster;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// Forwards one loopback port to the cluster and records the bytes clients send.
struct RecordingProxy {
    port: u16,
    sent: Arc<Mutex<Vec<u8>>>,
}

impl RecordingProxy {
    fn start(target_port: u16) -> RecordingProxy {
        let listener = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let sent = Arc::new(Mutex::new(Vec::new()));
        let recorded = sent.clone();
        // Serves one client connection (the test's pool holds exactly one), then ends.
        std::thread::spawn(move || {
            let (mut client, _) = listener.accept().unwrap();
            let mut server = TcpStream::connect(("127.0.0.1", target_port)).unwrap();
            let (mut client_back, mut server_back) =
                (client.try_clone().unwrap(), server.try_clone().unwrap());
            std::thread::spawn(move || std::io::copy(&mut server_back, &mut client_back));
            let mut buffer = [0_u8; 8192];
            loop {
                match client.read(&mut buffer) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        recorded.lock().unwrap().extend_from_slice(&buffer[..n]);
                        if server.write_all(&buffer[..n]).is_err() {
                            break;
                        }
                    }
                }
            }
        });
        RecordingProxy { port, sent }
    }

    /// A pool of one connection to the cluster's `aisle` database through this proxy (it
    /// serves one client connection).
    fn pool(&self) -> deadpool_postgres::Pool {
        crate::pool(
            &format!(
                "postgres://aisle@127.0.0.1:{}/aisle?sslmode=disable",
                self.port
            ),
            1,
        )
    }

    /// The frontend messages sent so far, after the startup message: (type, body).
    fn messages(&self) -> Vec<(u8, Vec<u8>)> {
        let bytes = self.sent.lock().unwrap().clone();
        let length = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        let mut messages = Vec::new();
        let mut at = length(0); // the startup message has no type byte
        while at + 5 <= bytes.len() {
            let end = at + 1 + length(at + 1);
            messages.push((bytes[at], bytes[at + 5..end.min(bytes.len())].to_vec()));
            at = end;
        }
        messages
    }
}

/// The simple-protocol query of a 'Q' message.
fn query_text(body: &[u8]) -> String {
    String::from_utf8_lossy(body.strip_suffix(b"\0").unwrap_or(body)).into_owned()
}

/// The statement name of a Parse ('P': name\0 query\0 …) or a Close of a statement ('C' 'S' name\0).
fn statement_name(kind: u8, body: &[u8]) -> Option<String> {
    let name = match kind {
        b'P' => body,
        b'C' if body.first() == Some(&b'S') => &body[1..],
        _ => return None,
    };
    let end = name.iter().position(|&byte| byte == 0)?;
    (end > 0).then(|| String::from_utf8_lossy(&name[..end]).into_owned())
}

/// For every transaction in `messages`: the statements it prepared that were not closed
/// before it ended, with the statement that ended it.
fn unclosed_at_end(messages: &[(u8, Vec<u8>)]) -> Vec<(String, String)> {
    let mut open: Vec<String> = Vec::new();
    let mut leaks = Vec::new();
    for (kind, body) in messages {
        match (kind, statement_name(*kind, body)) {
            (b'P', Some(name)) => open.push(name),
            (b'C', Some(name)) => open.retain(|open_name| *open_name != name),
            (b'Q', _) => {
                let query = query_text(body);
                if query == "COMMIT" || query == "ROLLBACK" {
                    leaks.extend(open.drain(..).map(|name| (name, query.clone())));
                }
            }
            _ => {}
        }
    }
    leaks
}

#[test]
fn prepared_statements_are_closed_before_commit_or_rollback() {
    let cluster = PgCluster::start().unwrap();
    let proxy = RecordingProxy::start(cluster.port());
    let pool = proxy.pool();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut conn = aisle_pg::connect(&pool, runtime.handle()).unwrap();

    let tx = conn.transaction().unwrap();
    tx.query_one("SELECT 1 + $1", &[&1_i32]).unwrap();
    tx.execute("SELECT pg_sleep(0)", &[]).unwrap();
    tx.commit().unwrap();

    let tx = conn.transaction().unwrap();
    tx.query_one("SELECT 2 + $1", &[&1_i32]).unwrap();
    tx.rollback().unwrap();

    // A transaction dropped without commit or rollback (an error returned with `?`).
    let tx = conn.transaction().unwrap();
    tx.query_one("SELECT 3 + $1", &[&1_i32]).unwrap();
    drop(tx);

    // A failed statement aborts the transaction; its statements are still closed, without
    // an error, and the connection stays usable.
    let tx = conn.transaction().unwrap();
    tx.query_one("SELECT 4 / $1", &[&1_i32]).unwrap();
    assert!(tx.query_one("SELECT 4 / $1", &[&0_i32]).is_err());
    tx.rollback()
        .expect("rollback after a failed statement succeeds");

    // One more round trip, so anything sent after the last transaction is recorded too.
    let tx = conn.transaction().unwrap();
    tx.batch_execute("SELECT 1").unwrap();
    tx.commit().unwrap();

    let messages = proxy.messages();
    let prepared = messages
        .iter()
        .filter(|(kind, body)| statement_name(*kind, body).is_some() && *kind == b'P')
        .count();
    assert!(prepared >= 4, "the proxy saw the statements being prepared");
    assert_eq!(
        unclosed_at_end(&messages),
        Vec::<(String, String)>::new(),
        "every statement is closed inside its transaction"
    );
}

/// The statement name and query text of a Parse message ('P': name\0 query\0 …).
fn parse_message(body: &[u8]) -> (String, String) {
    let mut parts = body.splitn(3, |&byte| byte == 0);
    let name = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let query = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    (name, query)
}

#[test]
fn a_text_met_before_runs_unnamed_in_one_round_trip_and_a_repeated_one_is_prepared() {
    let cluster = PgCluster::start().unwrap();
    let proxy = RecordingProxy::start(cluster.port());
    let pool = proxy.pool();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut conn = aisle_pg::connect(&pool, runtime.handle()).unwrap();
    // A text no other test of this process runs, so this process has not met it yet.
    let sql = "SELECT 40 + $1 AS unnamed_or_prepared";
    let run = |tx: &aisle_pg::PgTx<'_>, n: i32| -> i32 { tx.query_one(sql, &[&n]).unwrap().get(0) };

    let tx = conn.transaction().unwrap();
    // A row kept past COMMIT, as callers do: it must not hold a statement open.
    let kept = tx.query_one(sql, &[&1_i32]).unwrap();
    tx.commit().unwrap();
    assert_eq!(kept.get::<_, i32>(0), 41);
    let parses = |messages: &[(u8, Vec<u8>)]| -> Vec<String> {
        messages
            .iter()
            .filter(|(kind, _)| *kind == b'P')
            .map(|(_, body)| parse_message(body))
            .filter(|(_, query)| query == sql)
            .map(|(name, _)| name)
            .collect()
    };
    let first = parses(&proxy.messages());
    assert_eq!(first.len(), 2, "{first:?}");
    assert!(
        !first[0].is_empty() && first[1].is_empty(),
        "met first: prepared to learn its types, then run unnamed: {first:?}"
    );

    // Met before: the transaction's first run is unnamed, with its types, nothing to close.
    let tx = conn.transaction().unwrap();
    assert_eq!(run(&tx, 2), 42);
    tx.commit().unwrap();
    let messages = proxy.messages();
    let second = parses(&messages);
    assert_eq!(second.len(), 3, "{second:?}");
    assert_eq!(second[2], "", "met before: an unnamed statement");
    // …with the parameter's type PostgreSQL gave the text (int4, oid 23), not left for the
    // server to infer.
    let unnamed = messages
        .iter()
        .filter(|(kind, body)| {
            *kind == b'P' && parse_message(body) == (String::new(), sql.to_owned())
        })
        .map(|(_, body)| body.clone())
        .next_back()
        .unwrap();
    let types_at = 1 + sql.len() + 1; // after "" and the query, each ending in \0
    assert_eq!(
        &unnamed[types_at..],
        &[0, 1, 0, 0, 0, 23],
        "one parameter type, int4"
    );

    // Run three times in one transaction: unnamed once, then prepared once and reused.
    let tx = conn.transaction().unwrap();
    assert_eq!((run(&tx, 3), run(&tx, 4), run(&tx, 5)), (43, 44, 45));
    tx.commit().unwrap();
    let tx = conn.transaction().unwrap();
    tx.batch_execute("SELECT 1").unwrap();
    tx.commit().unwrap();
    let messages = proxy.messages();
    let third = parses(&messages);
    assert_eq!(third.len(), 5, "{third:?}");
    assert_eq!(third[3], "", "the transaction's first run is unnamed");
    assert!(!third[4].is_empty(), "its second run prepares the text");
    assert_eq!(
        unclosed_at_end(&messages),
        Vec::<(String, String)>::new(),
        "every prepared statement is closed inside its transaction"
    );
    drop(kept);
}

#[test]
fn a_pipeline_sends_its_statements_before_the_first_is_answered() {
    let cluster = PgCluster::start().unwrap();
    let proxy = RecordingProxy::start(cluster.port());
    let through_proxy = proxy.pool();
    let direct = crate::pool(&cluster.url("aisle"), 1);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let handle = runtime.handle().clone();
    // Another transaction holds the lock the pipeline's first statement waits for.
    let mut holder = aisle_pg::connect(&direct, &handle).unwrap();
    let holding = holder.transaction().unwrap();
    holding.advisory_lock(4_711).unwrap();

    let after_lock = "SELECT 41 + $1 AS sent_while_the_lock_waits";
    let pipeline = std::thread::spawn(move || {
        let mut conn = aisle_pg::connect(&through_proxy, &handle).unwrap();
        let tx = conn.transaction().unwrap();
        let answers = tx
            .pipeline(&[
                (aisle_pg::ADVISORY_LOCK_SQL, &[&4_711_i64]),
                (after_lock, &[&1_i32]),
            ])
            .unwrap();
        let answer: i32 = answers[1].rows[0].get(0);
        drop(answers);
        tx.commit().unwrap();
        answer
    });
    // The second statement's unnamed Parse reaches the server while the first still waits.
    let sent_while_waiting = (0..200).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(50));
        proxy.messages().iter().any(|(kind, body)| {
            *kind == b'P' && parse_message(body) == (String::new(), after_lock.to_owned())
        })
    });
    assert!(!pipeline.is_finished(), "the pipeline waits for the lock");
    holding.commit().unwrap();
    assert_eq!(pipeline.join().unwrap(), 42);
    assert!(
        sent_while_waiting,
        "the statement after the lock was sent before the lock was granted"
    );
}

#[test]
fn a_connection_that_keeps_statements_parses_a_text_once_and_prepares_a_stale_one_again() {
    use aisle_pg::StatementScope;
    let cluster = PgCluster::start().unwrap();
    let proxy = RecordingProxy::start(cluster.port());
    let pool = proxy.pool();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let keep = |pool: &deadpool_postgres::Pool| {
        aisle_pg::connect_with(pool, runtime.handle(), StatementScope::Connection).unwrap()
    };
    let sql = "SELECT 50 + $1 AS kept_for_the_connection";
    let parses_of = |text: &str| -> Vec<String> {
        proxy
            .messages()
            .iter()
            .filter(|(kind, _)| *kind == b'P')
            .map(|(_, body)| parse_message(body))
            .filter(|(_, query)| query == text)
            .map(|(name, _)| name)
            .collect()
    };

    // Three transactions, the connection handed back to the pool between them, a pipeline
    // among them: one Parse, of a named statement, never closed.
    for n in 0..3_i32 {
        let mut conn = keep(&pool);
        let tx = conn.transaction().unwrap();
        let answer: i32 = if n == 1 {
            tx.pipeline(&[(sql, &[&n]), (sql, &[&n])]).unwrap()[1].rows[0].get(0)
        } else {
            tx.query_one(sql, &[&n]).unwrap().get(0)
        };
        assert_eq!(answer, 50 + n);
        tx.commit().unwrap();
    }
    let parses = parses_of(sql);
    assert_eq!(
        parses.len(),
        1,
        "parsed once for the connection: {parses:?}"
    );
    assert!(!parses[0].is_empty(), "a named statement: {parses:?}");
    let closed = proxy.messages().iter().any(|(kind, body)| {
        statement_name(*kind, body).as_deref() == Some(&parses[0]) && *kind == b'C'
    });
    assert!(!closed, "a kept statement is not closed at commit");

    // A schema change under a kept statement: its run fails as stale, and retryable; the
    // next transaction prepares it again and answers with the new columns.
    let select = "SELECT * FROM kept_rows";
    let mut conn = keep(&pool);
    let tx = conn.transaction().unwrap();
    tx.batch_execute("CREATE TABLE kept_rows (a INT); INSERT INTO kept_rows VALUES (1)")
        .unwrap();
    tx.commit().unwrap();
    let tx = conn.transaction().unwrap();
    assert_eq!(tx.query(select, &[]).unwrap()[0].len(), 1);
    tx.commit().unwrap();
    cluster
        .psql("aisle", "ALTER TABLE kept_rows ADD COLUMN b INT DEFAULT 2")
        .unwrap();
    let tx = conn.transaction().unwrap();
    let error = tx.query(select, &[]).expect_err("the kept plan is stale");
    assert!(error.is_stale_statement(), "{error}");
    assert!(error.is_retryable(), "{error}");
    tx.rollback().unwrap();
    let tx = conn.transaction().unwrap();
    let rows = tx.query(select, &[]).expect("prepared afresh");
    assert_eq!((rows[0].get::<_, i32>(0), rows[0].get::<_, i32>(1)), (1, 2));
    drop(rows);
    tx.commit().unwrap();
    assert_eq!(
        parses_of(select).len(),
        2,
        "prepared again after the stale run"
    );

    // Statements the server lost (DEALLOCATE ALL, or a connection reset under a pooler):
    // stale too, and prepared again on the next try. (The stale run above dropped every
    // kept statement of the pool, so `sql` is prepared again first.)
    let tx = conn.transaction().unwrap();
    assert_eq!(tx.query_one(sql, &[&6_i32]).unwrap().get::<_, i32>(0), 56);
    tx.batch_execute("DEALLOCATE ALL").unwrap();
    tx.commit().unwrap();
    let tx = conn.transaction().unwrap();
    let error = tx
        .query_one(sql, &[&7_i32])
        .expect_err("the server lost it");
    assert!(
        error.is_stale_statement() && error.is_retryable(),
        "{error}"
    );
    tx.rollback().unwrap();
    let tx = conn.transaction().unwrap();
    assert_eq!(tx.query_one(sql, &[&7_i32]).unwrap().get::<_, i32>(0), 57);
    tx.commit().unwrap();
    assert_eq!(
        parses_of(sql).len(),
        3,
        "prepared again after the pool's were dropped, and after it was lost"
    );
}
