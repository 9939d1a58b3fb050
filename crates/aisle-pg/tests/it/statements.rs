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
    let pool = crate::pool(
        &format!(
            "postgres://aisle@127.0.0.1:{}/aisle?sslmode=disable",
            proxy.port
        ),
        1,
    );
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
