//! How a tenant pool opens a connection: each one holds a permit of its server's budget
//! ([`ClusterBudget`]) from before it connects until the server has closed its end, so the
//! process never has more connections open on a server than the budget, counted as the
//! server counts them.

use super::ClusterBudget;
use aisle_pg::deadpool_postgres::Connect;
use aisle_pg::tokio_postgres::{self, NoTls};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// Opens connections to a tenant database, each holding a permit of its cluster's budget
/// until it has ended.
pub(super) struct BudgetedConnect {
    pub(super) budget: Arc<ClusterBudget>,
}

type ConnectFuture<'a> = Pin<
    Box<
        dyn Future<
                Output = Result<
                    (tokio_postgres::Client, tokio::task::JoinHandle<()>),
                    tokio_postgres::Error,
                >,
            > + Send
            + 'a,
    >,
>;

impl Connect for BudgetedConnect {
    fn connect(&self, pg_config: &tokio_postgres::Config) -> ConnectFuture<'_> {
        let pg_config = pg_config.clone();
        Box::pin(async move {
            let permit = self.budget.acquire().await;
            let (client, connection, watcher) = connect_watched(&pg_config).await?;
            // The connection runs until its client is dropped (it then says goodbye to the
            // server), and its permit goes back only once the server has closed its end:
            // a backend leaves the cluster's count of connections before it closes the
            // socket, so the cluster never sees more than the budget. deadpool aborts the
            // task it is handed when it drops a client; it gets a finished one, so a
            // connection is always closed cleanly, never cut.
            tokio::spawn(async move {
                if let Err(error) = connection.await {
                    tracing::warn!(%error, "tenant database connection failed");
                }
                if let Some(watcher) = watcher {
                    let _ = tokio::time::timeout(SERVER_CLOSE_WAIT, until_closed(watcher)).await;
                }
                drop(permit);
            });
            Ok((client, tokio::spawn(async {})))
        })
    }
}

/// How long a closed connection's permit waits for the server to close its end.
const SERVER_CLOSE_WAIT: Duration = Duration::from_secs(5);

/// A connection's driving future (tokio-postgres's `Connection`, whichever socket it has).
type Driving = Pin<Box<dyn Future<Output = Result<(), tokio_postgres::Error>> + Send>>;

/// Connects to the first host of `pg_config`. Over TCP it also answers a second handle on
/// the same socket, to see when the server has closed it ([`until_closed`]).
async fn connect_watched(
    pg_config: &tokio_postgres::Config,
) -> Result<
    (
        tokio_postgres::Client,
        Driving,
        Option<tokio::net::TcpStream>,
    ),
    tokio_postgres::Error,
> {
    let tcp = match (pg_config.get_hosts().first(), pg_config.get_ports().first()) {
        (Some(tokio_postgres::config::Host::Tcp(host)), port) => {
            Some((host.clone(), port.copied().unwrap_or(5432)))
        }
        _ => None,
    };
    let watched = match tcp {
        Some((host, port)) => watch_socket(&host, port).await.ok(),
        None => None,
    };
    match watched {
        Some((socket, watcher)) => {
            let (client, connection) = pg_config.connect_raw(socket, NoTls).await?;
            Ok((client, Box::pin(connection), Some(watcher)))
        }
        // A unix socket, or a TCP connect that failed: tokio-postgres connects (and names
        // its own error).
        None => {
            let (client, connection) = pg_config.connect(NoTls).await?;
            Ok((client, Box::pin(connection), None))
        }
    }
}

/// A TCP connection to `host:port`, and a second handle on the same socket.
async fn watch_socket(
    host: &str,
    port: u16,
) -> std::io::Result<(tokio::net::TcpStream, tokio::net::TcpStream)> {
    let socket = tokio::net::TcpStream::connect((host, port)).await?;
    socket.set_nodelay(true)?;
    let socket = socket.into_std()?;
    let watcher = tokio::net::TcpStream::from_std(socket.try_clone()?)?;
    let socket = tokio::net::TcpStream::from_std(socket)?;
    Ok((socket, watcher))
}

/// Waits until the server has closed the connection (reading, and dropping, anything it
/// still sends). Only called once tokio-postgres is done with the socket.
async fn until_closed(mut watcher: tokio::net::TcpStream) {
    use tokio::io::AsyncReadExt;
    let mut buffer = [0u8; 512];
    while let Ok(n_read @ 1..) = watcher.read(&mut buffer).await {
        let _ = n_read;
    }
}
