//! The OS network watch: when this PC gains a usable address (a cable plugged back in, the
//! Wi-Fi reconnected, a new DHCP lease), the engine syncs at once instead of waiting out its
//! backoff, which may have grown to minutes while the network was gone.
//!
//! The OS side is thin on purpose: the `if-watch` crate reports address changes (netlink on
//! Linux, SystemConfiguration on macOS, the IP Helper API on Windows) and [`run`] feeds
//! them to [`Debounce`], a pure state machine that turns a burst of changes into one signal.
//! A network coming up is a burst (IPv4, then IPv6 addresses appear over a second or two,
//! and the route may lag the first of them), so the signal waits for a quiet moment, but
//! never longer than a cap, so a flapping link still triggers. The addresses present when
//! the watch starts are reported as changes too; they are the start-up enumeration, not
//! news, so the first burst only primes the debouncer.
//!
//! Only an address that can reach a server counts: loopback, link-local and unspecified
//! addresses come and go with no connectivity behind them ([`is_usable`]). A lost address
//! triggers nothing: there is nothing to sync over.
//!
//! If the OS refuses the watch (a sandbox without netlink, say), it is logged and the engine
//! carries on with its timer and backoff.

use futures_util::{Stream, StreamExt};
use if_watch::{IfEvent, IpNet};
use std::net::IpAddr;
use std::time::Duration;
use tokio::time::Instant;

/// Whether an address can carry traffic to a server elsewhere.
pub fn is_usable(net: &IpNet) -> bool {
    match net.addr() {
        IpAddr::V4(addr) => {
            !(addr.is_loopback()
                || addr.is_link_local()
                || addr.is_unspecified()
                || addr.is_multicast())
        }
        IpAddr::V6(addr) => {
            // fe80::/10 is link-local (`Ipv6Addr::is_unicast_link_local` is recent).
            let link_local = addr.segments()[0] & 0xffc0 == 0xfe80;
            !(addr.is_loopback() || link_local || addr.is_unspecified() || addr.is_multicast())
        }
    }
}

/// Turns bursts of "an address came up" into single signals: one `quiet` after the last
/// change of a burst, or `max_wait` after its first, whichever is sooner. Changes during the
/// start-up enumeration (until the first quiet moment after `started`) only prime it.
#[derive(Clone, Debug)]
pub struct Debounce {
    quiet: Duration,
    max_wait: Duration,
    /// While set, changes are the watch's start-up enumeration, until this time.
    priming_until: Option<Instant>,
    /// The first and the last change of the burst not signalled yet.
    pending: Option<(Instant, Instant)>,
}

impl Debounce {
    pub fn new(started: Instant, quiet: Duration, max_wait: Duration) -> Self {
        Self {
            quiet,
            max_wait: max_wait.max(quiet),
            priming_until: Some(started + quiet),
            pending: None,
        }
    }

    /// A usable address came up at `now`.
    pub fn address_up(&mut self, now: Instant) {
        if let Some(until) = self.priming_until {
            if now < until {
                // Still the enumeration: wait for it to go quiet.
                self.priming_until = Some(now + self.quiet);
                return;
            }
            self.priming_until = None;
        }
        let first = self.pending.map_or(now, |(first, _)| first);
        self.pending = Some((first, now));
    }

    /// When the pending burst is due to be signalled, if there is one.
    pub fn deadline(&self) -> Option<Instant> {
        self.pending
            .map(|(first, last)| (last + self.quiet).min(first + self.max_wait))
    }

    /// Whether to signal at `now`; a signal clears the burst.
    pub fn poll(&mut self, now: Instant) -> bool {
        match self.deadline() {
            Some(deadline) if now >= deadline => {
                self.pending = None;
                true
            }
            _ => false,
        }
    }
}

/// Watches the OS's addresses until `notify` returns false (the engine is gone), calling it
/// once per debounced burst of new usable addresses.
pub(crate) async fn watch(quiet: Duration, notify: impl FnMut() -> bool) {
    let watcher = match if_watch::tokio::IfWatcher::new() {
        Ok(watcher) => watcher,
        Err(error) => {
            tracing::warn!(%error, "cannot watch the network; syncing on the timer and backoff only");
            return;
        }
    };
    tracing::debug!("watching the network for addresses coming up");
    run(
        watcher,
        Debounce::new(Instant::now(), quiet, quiet * 5),
        notify,
    )
    .await;
}

/// The watch loop over any stream of address changes (the OS's, or a test's).
pub(crate) async fn run<S>(mut events: S, mut debounce: Debounce, mut notify: impl FnMut() -> bool)
where
    S: Stream<Item = std::io::Result<IfEvent>> + Unpin,
{
    loop {
        let deadline = debounce.deadline();
        tokio::select! {
            event = events.next() => match event {
                Some(Ok(IfEvent::Up(net))) if is_usable(&net) => {
                    tracing::debug!(%net, "an address came up");
                    debounce.address_up(Instant::now());
                }
                Some(Ok(_)) => {}
                Some(Err(error)) => {
                    tracing::warn!(%error, "the network watch stopped; syncing on the timer and backoff only");
                    return;
                }
                None => return,
            },
            () = tokio::time::sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {}
        }
        if debounce.poll(Instant::now()) {
            tracing::info!("the network changed; syncing now");
            if !notify() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use if_watch::{Ipv4Net, Ipv6Net};
    use std::net::{Ipv4Addr, Ipv6Addr};

    const QUIET: Duration = Duration::from_millis(500);
    const MAX_WAIT: Duration = Duration::from_secs(3);

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn v4(a: u8, b: u8, c: u8, d: u8) -> IpNet {
        IpNet::V4(Ipv4Net::new(Ipv4Addr::new(a, b, c, d), 24).expect("prefix"))
    }

    fn v6(text: &str) -> IpNet {
        IpNet::V6(Ipv6Net::new(text.parse::<Ipv6Addr>().expect("v6"), 64).expect("prefix"))
    }

    /// A debouncer whose start-up enumeration is over.
    fn primed(start: Instant) -> Debounce {
        let mut debounce = Debounce::new(start, QUIET, MAX_WAIT);
        debounce.address_up(start + ms(10));
        assert!(
            !debounce.poll(start + ms(10) + QUIET),
            "enumeration is not news"
        );
        debounce
    }

    #[test]
    fn only_addresses_that_reach_a_server_count() {
        assert!(is_usable(&v4(192, 168, 1, 20)));
        assert!(is_usable(&v4(10, 0, 0, 7)));
        assert!(is_usable(&v6("2001:db8::1")));
        assert!(!is_usable(&v4(127, 0, 0, 1)), "loopback");
        assert!(!is_usable(&v4(169, 254, 3, 4)), "ipv4 link-local");
        assert!(!is_usable(&v6("fe80::1")), "ipv6 link-local");
        assert!(!is_usable(&v6("::1")), "ipv6 loopback");
        assert!(!is_usable(&v4(0, 0, 0, 0)), "unspecified");
    }

    #[test]
    fn the_start_up_enumeration_only_primes() {
        let start = Instant::now();
        let mut debounce = Debounce::new(start, QUIET, MAX_WAIT);
        // Three addresses reported as the watch starts, each within `quiet` of the last.
        for offset in [0, 200, 400] {
            debounce.address_up(start + ms(offset));
        }
        assert_eq!(debounce.deadline(), None, "nothing pending");
        assert!(!debounce.poll(start + ms(5_000)), "and nothing to signal");
        // After a quiet moment, a new address is news.
        debounce.address_up(start + ms(5_000));
        assert_eq!(debounce.deadline(), Some(start + ms(5_000) + QUIET));
        assert!(debounce.poll(start + ms(5_000) + QUIET));
    }

    #[test]
    fn a_burst_is_one_signal_after_it_goes_quiet() {
        let start = Instant::now();
        let mut debounce = primed(start);
        let t0 = start + ms(10_000);
        debounce.address_up(t0);
        debounce.address_up(t0 + ms(300));
        assert!(
            !debounce.poll(t0 + ms(700)),
            "300 ms after the last: not quiet yet"
        );
        assert!(debounce.poll(t0 + ms(800)), "quiet for 500 ms: signal");
        assert!(!debounce.poll(t0 + ms(5_000)), "once per burst");
        assert_eq!(debounce.deadline(), None);
    }

    #[test]
    fn a_flapping_link_still_signals_by_the_cap() {
        let start = Instant::now();
        let mut debounce = primed(start);
        let t0 = start + ms(10_000);
        let mut signals = Vec::new();
        // A change every 400 ms for 8 s: never quiet for 500 ms.
        for step in 0..20u64 {
            let now = t0 + ms(step * 400);
            debounce.address_up(now);
            if debounce.poll(now) {
                signals.push(now - t0);
            }
        }
        assert_eq!(
            signals,
            vec![ms(3_200), ms(6_800)],
            "the first change of each burst is signalled within the 3 s cap"
        );
    }

    /// The loop over a scripted stream, on tokio's paused clock (no real waiting).
    #[tokio::test(start_paused = true)]
    async fn the_watch_loop_notifies_once_per_burst_of_usable_addresses() {
        let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
        let events = Box::pin(futures_util::stream::unfold(
            receiver,
            |mut receiver| async move { receiver.recv().await.map(|event| (event, receiver)) },
        ));
        let notified = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
        let counter = std::sync::Arc::clone(&notified);
        let watch = tokio::spawn(run(
            events,
            Debounce::new(Instant::now(), QUIET, MAX_WAIT),
            move || {
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                true
            },
        ));
        let count = || notified.load(std::sync::atomic::Ordering::SeqCst);

        // The start-up enumeration.
        sender.send(Ok(IfEvent::Up(v4(127, 0, 0, 1)))).unwrap();
        sender.send(Ok(IfEvent::Up(v4(192, 168, 1, 20)))).unwrap();
        tokio::time::sleep(ms(2_000)).await;
        assert_eq!(count(), 0, "what is up at start is not a change");

        // The link goes down and comes back: only the usable address counts.
        sender.send(Ok(IfEvent::Down(v4(192, 168, 1, 20)))).unwrap();
        tokio::time::sleep(ms(2_000)).await;
        assert_eq!(count(), 0, "losing an address triggers nothing");
        sender.send(Ok(IfEvent::Up(v6("fe80::1")))).unwrap();
        sender.send(Ok(IfEvent::Up(v4(192, 168, 1, 20)))).unwrap();
        tokio::time::sleep(ms(100)).await;
        sender.send(Ok(IfEvent::Up(v6("2001:db8::20")))).unwrap();
        tokio::time::sleep(ms(100)).await;
        assert_eq!(count(), 0, "not before the burst goes quiet");
        tokio::time::sleep(ms(1_000)).await;
        assert_eq!(count(), 1, "one signal for the burst");

        sender.send(Ok(IfEvent::Up(v6("fe80::2")))).unwrap();
        tokio::time::sleep(ms(2_000)).await;
        assert_eq!(count(), 1, "a link-local address alone is no connection");

        sender
            .send(Err(std::io::Error::other("netlink closed")))
            .unwrap();
        tokio::time::timeout(ms(1_000), watch)
            .await
            .expect("an error from the OS ends the watch")
            .expect("the watch task ends cleanly");
    }
}
