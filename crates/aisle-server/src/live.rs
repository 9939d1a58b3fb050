//! Live sync's fan-out within one process: what wakes a waiting pull
//! (`GET /v1/t/{tenant}/events?after=N&wait=S`, docs/protocol.md "Live sync").
//!
//! Each (tenant, warehouse) that has a pull waiting has one `tokio::sync::watch` channel in
//! [`Live`]'s map. A waiting pull subscribes *before* it reads the store, so a push that
//! commits between its read and its wait still wakes it; a push's handler signals the
//! channel after the push's transaction committed, and an ERP's master-data write signals
//! every channel of its tenant. The channel carries two counters and nothing else: the live
//! channel only wakes a pull, and the pull reads what is new from the store, with its
//! checksum, as any other pull does. An entry is removed when its last waiter goes, so the
//! map holds only what is being waited on.
//!
//! Waiting pulls are held to their own budget ([`Live::budget`], `serve --max-live-waits`,
//! at most three quarters of the connection cap so that other requests always find a
//! slot): beyond it a pull is answered at once, as without `wait`, never refused. When the
//! server shuts down, [`Live::close`] ends every wait at once.
//!
//! Across instances on PostgreSQL, `crate::pg::live` relays the same signals through
//! `LISTEN/NOTIFY`: [`Live::pushed`] and [`Live::master_changed`] also hand a [`Note`] to
//! the [`Relay`] set with [`Live::relay_to`], and the relay's listener calls [`Live::wake`]
//! (this process's waiters only, so a note never echoes) for the notes of other instances.
//! This module knows nothing of PostgreSQL.

use aisle_core::ids::{TenantId, WarehouseId};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// The longest a pull may wait, whatever it asks for.
pub const MAX_WAIT: Duration = Duration::from_secs(25);

/// The default budget of waiting pulls (`serve --max-live-waits`).
pub const DEFAULT_MAX_LIVE_WAITS: usize = 4_096;

/// What a channel says: how many pushes and master-data changes it has seen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Signal {
    pushes: u64,
    master: u64,
}

type Key = (TenantId, WarehouseId);

/// What one instance tells the others: which waiters a change should wake.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Note {
    /// A push to the warehouse committed.
    Pushed(TenantId, WarehouseId),
    /// The tenant's master data changed.
    Master(TenantId),
}

/// Carries [`Note`]s to the other server instances. `send` must not block: it is called on
/// the request path, after a push committed.
pub trait Relay: Send + Sync + std::fmt::Debug {
    fn send(&self, note: Note);
}

/// Why a wait ended, as the `Aisle-Live` answer header names it (with `data` when the page
/// carries events and `busy` when the pull could not wait at all).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wake {
    /// A push to the warehouse committed.
    Pushed,
    /// The tenant's master data changed.
    Master,
    /// Nothing happened within the wait.
    Timeout,
    /// The server is shutting down.
    Closing,
}

/// Why a pull cannot wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoWait {
    /// The budget of waiting pulls is taken.
    Busy,
    /// The server is shutting down.
    Closing,
}

/// The process's waiting pulls, by (tenant, warehouse).
#[derive(Debug)]
pub struct Live {
    channels: Mutex<HashMap<Key, watch::Sender<Signal>>>,
    waiting: AtomicUsize,
    budget: usize,
    closing: watch::Sender<bool>,
    relay: std::sync::OnceLock<Box<dyn Relay>>,
    /// This process's webhook delivery worker, told of every push this hub hears of: its
    /// own and, through the relay, the other instances'.
    on_push: std::sync::OnceLock<crate::webhooks::worker::Wake>,
}

impl Live {
    /// A hub that lets at most `max_live_waits` pulls wait at once, and never more than
    /// three quarters of `max_connections`: a waiting pull holds its connection, and the
    /// rest must stay free for pushes and ordinary pulls.
    pub fn new(max_live_waits: usize, max_connections: usize) -> Self {
        let connection_share = max_connections.saturating_sub(max_connections / 4);
        Self {
            channels: Mutex::new(HashMap::new()),
            waiting: AtomicUsize::new(0),
            budget: max_live_waits.min(connection_share),
            closing: watch::Sender::new(false),
            relay: std::sync::OnceLock::new(),
            on_push: std::sync::OnceLock::new(),
        }
    }

    /// From now on, every push this hub hears of (this process's, and the other instances'
    /// through the relay) also wakes `worker`: the instance holding an endpoint's lease
    /// delivers a push made on another at once, not at its next tick. Set once.
    pub fn wake_on_push(&self, worker: crate::webhooks::worker::Wake) {
        let _ = self.on_push.set(worker);
    }

    /// From now on, every push and master-data change is also told to `relay`, for the
    /// other instances' waiters. Set once; a second relay is refused (returned).
    pub fn relay_to(&self, relay: Box<dyn Relay>) -> Result<(), Box<dyn Relay>> {
        self.relay.set(relay)
    }

    /// How many pulls may wait at once.
    pub fn budget(&self) -> usize {
        self.budget
    }

    /// How many pulls wait now.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Acquire)
    }

    /// How many (tenant, warehouse) channels are open now (for tests: none once every
    /// waiter is gone).
    pub fn channels(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, watch::Sender<Signal>>> {
        // A panic while holding the map leaves it consistent (each step is one insert or
        // remove), so a poisoned lock is still usable.
        self.channels
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A place among the waiters of the warehouse, taken before the pull reads the store.
    pub fn subscribe(
        self: &Arc<Self>,
        tenant: TenantId,
        warehouse: WarehouseId,
    ) -> Result<Waiter, NoWait> {
        if *self.closing.borrow() {
            return Err(NoWait::Closing);
        }
        self.waiting
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.budget).then_some(n + 1)
            })
            .map_err(|_| NoWait::Busy)?;
        let key = (tenant, warehouse);
        let receiver = self
            .lock()
            .entry(key)
            .or_insert_with(|| watch::Sender::new(Signal::default()))
            .subscribe();
        // What the channel said when subscribed: anything after it is news, even a signal
        // sent before `wait` is called (while the pull reads the store).
        let seen = *receiver.borrow();
        Ok(Waiter {
            live: Arc::clone(self),
            key,
            seen,
            receiver: Some(receiver),
            closing: self.closing.subscribe(),
        })
    }

    /// A push to `warehouse` committed: wake its waiting pulls, here and (through the
    /// relay) on the other instances. Cheap when none wait.
    pub fn pushed(&self, tenant: TenantId, warehouse: WarehouseId) {
        self.wake(Note::Pushed(tenant, warehouse));
        self.relay(Note::Pushed(tenant, warehouse));
    }

    /// The tenant's master data changed: wake its waiting pulls in every warehouse, here
    /// and on the other instances.
    pub fn master_changed(&self, tenant: TenantId) {
        self.wake(Note::Master(tenant));
        self.relay(Note::Master(tenant));
    }

    fn relay(&self, note: Note) {
        if let Some(relay) = self.relay.get() {
            relay.send(note);
        }
    }

    /// Wakes this process's waiters that `note` concerns, and tells no one else: what the
    /// relay does with another instance's note.
    pub fn wake(&self, note: Note) {
        if let (Note::Pushed(..), Some(worker)) = (&note, self.on_push.get()) {
            worker.pushed();
        }
        let channels = self.lock();
        match note {
            Note::Pushed(tenant, warehouse) => {
                if let Some(sender) = channels.get(&(tenant, warehouse)) {
                    sender.send_modify(|signal| signal.pushes += 1);
                }
            }
            Note::Master(tenant) => {
                for (key, sender) in channels.iter() {
                    if key.0 == tenant {
                        sender.send_modify(|signal| signal.master += 1);
                    }
                }
            }
        }
    }

    /// Wakes every waiter of this process as if its warehouse had a push: what the relay
    /// does when it may have missed notes (its connection dropped). A waiter woken for
    /// nothing reads an empty page and answers; the device asks again.
    pub fn wake_everyone(&self) {
        for sender in self.lock().values() {
            sender.send_modify(|signal| signal.pushes += 1);
        }
    }

    /// Completes when the server starts shutting down (at once if it has).
    pub async fn closed(&self) {
        let mut closing = self.closing.subscribe();
        let _ = closing.wait_for(|closing| *closing).await;
    }

    /// The server is shutting down: every wait ends now, and no new one starts.
    pub fn close(&self) {
        self.closing.send_replace(true);
    }
}

/// One waiting pull's place; dropping it gives the place back (and the channel, when it
/// was the warehouse's last waiter).
#[derive(Debug)]
pub struct Waiter {
    live: Arc<Live>,
    key: Key,
    /// The channel's signal as of the last wake (or the subscription).
    seen: Signal,
    receiver: Option<watch::Receiver<Signal>>,
    closing: watch::Receiver<bool>,
}

impl Waiter {
    /// Waits until a push to the warehouse or a master-data change of the tenant since
    /// [`Live::subscribe`] (or the last wake), the server's shutdown, or `timeout`,
    /// whichever comes first.
    pub async fn wait(&mut self, timeout: Duration) -> Wake {
        let Some(receiver) = self.receiver.as_mut() else {
            return Wake::Closing;
        };
        let closing = &mut self.closing;
        // `changed` is ready at once for a signal sent since the receiver last looked,
        // which is what makes subscribing before the read enough.
        tokio::select! {
            biased;
            changed = receiver.changed() => match changed {
                Ok(()) => {
                    let now = *receiver.borrow_and_update();
                    let before = std::mem::replace(&mut self.seen, now);
                    if now.pushes != before.pushes {
                        Wake::Pushed
                    } else {
                        Wake::Master
                    }
                }
                // The sender lives in the map while this receiver does; gone means closing.
                Err(_) => Wake::Closing,
            },
            closed = closing.wait_for(|closing| *closing) => match closed {
                Ok(_) | Err(_) => Wake::Closing,
            },
            () = tokio::time::sleep(timeout) => Wake::Timeout,
        }
    }
}

impl Drop for Waiter {
    fn drop(&mut self) {
        let mut channels = self.live.lock();
        // The receiver goes first, under the lock, so that the count below is exact: no
        // one can subscribe between the drop and the check.
        drop(self.receiver.take());
        if channels
            .get(&self.key)
            .is_some_and(|sender| sender.receiver_count() == 0)
        {
            channels.remove(&self.key);
        }
        drop(channels);
        self.live.waiting.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> (TenantId, WarehouseId, WarehouseId) {
        (
            TenantId::new_v7(1, [1; 10]),
            WarehouseId::new_v7(1, [2; 10]),
            WarehouseId::new_v7(1, [3; 10]),
        )
    }

    #[tokio::test]
    async fn a_push_wakes_its_warehouse_only_and_a_master_change_every_warehouse() {
        let live = Arc::new(Live::new(10, 100));
        let (tenant, here, there) = ids();
        let mut waiter = live.subscribe(tenant, here).unwrap();
        live.pushed(tenant, there);
        assert_eq!(waiter.wait(Duration::from_millis(50)).await, Wake::Timeout);
        live.pushed(tenant, here);
        assert_eq!(waiter.wait(Duration::from_secs(60)).await, Wake::Pushed);
        live.master_changed(tenant);
        assert_eq!(waiter.wait(Duration::from_secs(60)).await, Wake::Master);
        live.close();
        assert_eq!(waiter.wait(Duration::from_secs(60)).await, Wake::Closing);
        assert_eq!(live.subscribe(tenant, here).unwrap_err(), NoWait::Closing);
    }

    #[tokio::test]
    async fn the_budget_holds_and_places_and_channels_are_given_back() {
        let live = Arc::new(Live::new(2, 100));
        let (tenant, here, there) = ids();
        let first = live.subscribe(tenant, here).unwrap();
        let second = live.subscribe(tenant, there).unwrap();
        assert_eq!(live.subscribe(tenant, here).unwrap_err(), NoWait::Busy);
        assert_eq!((live.waiting(), live.channels()), (2, 2));
        drop(first);
        assert_eq!((live.waiting(), live.channels()), (1, 1));
        let third = live.subscribe(tenant, there).unwrap();
        drop(second);
        assert_eq!((live.waiting(), live.channels()), (1, 1));
        drop(third);
        assert_eq!((live.waiting(), live.channels()), (0, 0));
    }

    #[test]
    fn the_budget_leaves_a_quarter_of_the_connections_free() {
        assert_eq!(Live::new(4_096, 1_024).budget(), 768);
        assert_eq!(Live::new(10, 1_024).budget(), 10);
    }
}
