//! Live sync across server instances: the [`crate::live::Relay`] of the PostgreSQL backend,
//! on `LISTEN/NOTIFY` in the registry database, which every instance shares.
//!
//! Each instance keeps two connections of its own, outside the pools:
//! - the *notifier* sends every [`Note`] this instance's pushes and master-data writes make,
//!   with `pg_notify`, after the change committed (so that an instance woken by it finds the
//!   change in the tenant's database). Notes wait in a set, so a burst of pushes to one
//!   warehouse becomes one notification, and the request path never waits on the network;
//! - the *listener* holds `LISTEN aisle_live` and wakes this instance's waiting pulls for the
//!   notes of the other instances. Its own notes come back too, and are skipped: its waiters
//!   were woken when the change was made.
//!
//! A notification carries only which waiters to wake, never data, as the rest of live sync.
//! When the listener's connection drops it reconnects with backoff and then wakes every
//! waiter of this instance once, since it may have missed notes in between; while it is
//! down, waiters fall back to their wait's timeout, which is what live sync without a relay
//! does. `LISTEN` is session state, which PgBouncer's transaction mode does not keep: behind
//! it, point `serve --live-listen-url` at the cluster directly.

use crate::live::{Live, Note, Relay};
use aisle_core::ids::{TenantId, WarehouseId};
use aisle_pg::tokio_postgres::{self, AsyncMessage, NoTls};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// The notification channel, in the registry database.
pub const CHANNEL: &str = "aisle_live";

/// The longest pause between two attempts to reconnect.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// The notes waiting for the notifier, and its wake-up.
#[derive(Debug, Default)]
struct Outbox {
    notes: Mutex<HashSet<Note>>,
    ready: Notify,
}

/// The relay [`Live`] hands its notes to: it queues them for the notifier task.
#[derive(Debug)]
struct PgRelay {
    outbox: Arc<Outbox>,
}

impl Relay for PgRelay {
    fn send(&self, note: Note) {
        self.outbox
            .notes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(note);
        self.outbox.ready.notify_one();
    }
}

/// Starts this instance's notifier and listener on `url` (the registry database, or a
/// direct connection to it) and makes them `live`'s relay. Both tasks end when `live`
/// closes. `instance` names this instance in its notes, so that it skips its own.
pub fn start(live: &Arc<Live>, url: &str, instance: String) -> Result<(), crate::ServerError> {
    let config: tokio_postgres::Config = url.parse().map_err(|error| {
        crate::ServerError::Io(std::io::Error::other(format!(
            "the live-sync listen url is not a PostgreSQL url: {error}"
        )))
    })?;
    let outbox = Arc::new(Outbox::default());
    if live
        .relay_to(Box::new(PgRelay {
            outbox: Arc::clone(&outbox),
        }))
        .is_err()
    {
        return Err(crate::ServerError::Io(std::io::Error::other(
            "live sync has a relay already",
        )));
    }
    tokio::spawn(until_closed(
        Arc::clone(live),
        notify_loop(config.clone(), outbox, instance.clone()),
    ));
    tokio::spawn(until_closed(
        Arc::clone(live),
        listen_loop(config, Arc::clone(live), instance),
    ));
    Ok(())
}

async fn until_closed(live: Arc<Live>, task: impl std::future::Future<Output = ()>) {
    tokio::select! {
        () = live.closed() => {}
        () = task => {}
    }
}

/// The text of `note` from `instance`: `INSTANCE p TENANT WAREHOUSE` or `INSTANCE m TENANT`.
fn encode(instance: &str, note: Note) -> String {
    match note {
        Note::Pushed(tenant, warehouse) => format!("{instance} p {tenant} {warehouse}"),
        Note::Master(tenant) => format!("{instance} m {tenant}"),
    }
}

/// The instance and note of a notification's text; `None` for anything else (another
/// program's notification on the channel is ignored, not trusted).
fn decode(payload: &str) -> Option<(&str, Note)> {
    let mut words = payload.split(' ');
    let instance = words.next()?;
    let note = match (words.next()?, words.next(), words.next()) {
        ("p", Some(tenant), Some(warehouse)) => Note::Pushed(
            tenant.parse::<TenantId>().ok()?,
            warehouse.parse::<WarehouseId>().ok()?,
        ),
        ("m", Some(tenant), None) => Note::Master(tenant.parse::<TenantId>().ok()?),
        _ => return None,
    };
    words.next().is_none().then_some((instance, note))
}

/// The pause before reconnect attempt `attempt` (0, 1, …): doubling from 100 ms, at most
/// [`MAX_BACKOFF`].
fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(100u64 << attempt.min(7)).min(MAX_BACKOFF)
}

/// Sends the queued notes, all that are queued in one statement, reconnecting as needed.
/// A note whose statement fails is sent again on the next connection.
async fn notify_loop(config: tokio_postgres::Config, outbox: Arc<Outbox>, instance: String) {
    let mut attempt = 0;
    loop {
        let client = match config.connect(NoTls).await {
            Ok((client, connection)) => {
                tokio::spawn(connection);
                attempt = 0;
                client
            }
            Err(error) => {
                tracing::warn!(%error, "live sync: the notifier cannot connect; retrying");
                tokio::time::sleep(backoff(attempt)).await;
                attempt += 1;
                continue;
            }
        };
        loop {
            outbox.ready.notified().await;
            let notes: Vec<Note> = outbox
                .notes
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .drain()
                .collect();
            if notes.is_empty() {
                continue;
            }
            let payloads: Vec<String> = notes.iter().map(|note| encode(&instance, *note)).collect();
            let sent = client
                .execute(
                    "SELECT pg_notify($1, payload) FROM unnest($2::text[]) AS payload",
                    &[&CHANNEL, &payloads],
                )
                .await;
            if let Err(error) = sent {
                tracing::warn!(%error, "live sync: notifying the other instances failed; reconnecting");
                let mut queued = outbox
                    .notes
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                queued.extend(notes);
                drop(queued);
                outbox.ready.notify_one();
                break;
            }
        }
    }
}

/// Listens on [`CHANNEL`] and wakes this instance's waiters for the other instances' notes,
/// reconnecting with backoff when the connection drops.
async fn listen_loop(config: tokio_postgres::Config, live: Arc<Live>, instance: String) {
    let mut attempt = 0;
    let mut connected_before = false;
    loop {
        let (client, mut connection) = match config.connect(NoTls).await {
            Ok(connected) => connected,
            Err(error) => {
                tracing::warn!(%error, "live sync: the listener cannot connect; retrying");
                tokio::time::sleep(backoff(attempt)).await;
                attempt += 1;
                continue;
            }
        };
        // The connection is driven here rather than spawned, since its notifications come
        // out of `poll_message`; the LISTEN runs beside it.
        let (payloads, mut received) = tokio::sync::mpsc::unbounded_channel::<String>();
        let driver = tokio::spawn(async move {
            loop {
                match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                    Some(Ok(AsyncMessage::Notification(notification))) => {
                        if payloads.send(notification.payload().to_owned()).is_err() {
                            return;
                        }
                    }
                    Some(Ok(_)) => {}
                    Some(Err(error)) => {
                        tracing::warn!(%error, "live sync: the listener's connection failed");
                        return;
                    }
                    None => return,
                }
            }
        });
        if let Err(error) = client.batch_execute(&format!("LISTEN {CHANNEL}")).await {
            tracing::warn!(%error, "live sync: LISTEN failed; retrying");
            driver.abort();
            tokio::time::sleep(backoff(attempt)).await;
            attempt += 1;
            continue;
        }
        attempt = 0;
        if connected_before {
            // Notes sent while this instance was not listening are lost to it.
            live.wake_everyone();
        }
        connected_before = true;
        while let Some(payload) = received.recv().await {
            match decode(&payload) {
                Some((from, note)) if from != instance => live.wake(note),
                Some(_) => {}
                None => tracing::debug!(payload, "live sync: ignored a notification"),
            }
        }
        drop(client);
        tokio::time::sleep(backoff(0)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_note_reads_back_as_it_was_sent_and_anything_else_is_ignored() {
        let tenant = TenantId::new_v7(1, [1; 10]);
        let warehouse = WarehouseId::new_v7(2, [2; 10]);
        for note in [Note::Pushed(tenant, warehouse), Note::Master(tenant)] {
            let text = encode("ab12", note);
            assert_eq!(decode(&text), Some(("ab12", note)), "{text}");
        }
        for garbage in [
            "",
            "ab12",
            "ab12 p",
            "ab12 x tenant",
            &format!("ab12 m {tenant} extra"),
            &format!("ab12 p {tenant}"),
            "ab12 m not-a-uuid",
        ] {
            assert_eq!(decode(garbage), None, "{garbage:?} is not a note");
        }
    }

    #[test]
    fn the_backoff_doubles_and_stops_at_its_cap() {
        assert_eq!(backoff(0), Duration::from_millis(100));
        assert_eq!(backoff(1), Duration::from_millis(200));
        assert_eq!(backoff(30), MAX_BACKOFF);
    }
}
