//! What the engine does when a pulled page's stock checksum differs from the server's.
//!
//! A difference means this device's projection of the page's stock keys is not the
//! server's, and the usual cause is that the device lacks events the server has (its cursor
//! went past them: after a server restore, say, whose seqs were handed out again). So the
//! engine first re-fetches every event touching those keys
//! (`POST /v1/t/{tenant}/events/touching`, up to the page's `checksum_seq`), applies them
//! through `Store::apply_remote` (the ones it has are no-ops), and compares again. Only if
//! the checksum still differs does it rebuild the projection from the log, which helps when
//! the projection, not the log, is what went wrong; and if even that does not make it
//! match, the difference is unresolved. Every episode is recorded in the store
//! (`aisle_store::repairs`), logged, and counted in the status.

use super::Engine;
use crate::status::ChecksumRepairStatus;
use crate::{system_now_ms, SyncError};
use aisle_core::stock::{Notice, StockKey};
use aisle_core::Event;
use aisle_protocol::MAX_TOUCHING_KEYS;
use aisle_store::repairs::{ChecksumRepair, RepairOutcome};
use aisle_store::{Store, StoreError};
use std::collections::BTreeSet;

/// What comparing a page's stock checksum found.
#[derive(Debug)]
pub(super) enum Checksum {
    /// Not comparable: local events wait in the outbox, so our projection is not of the
    /// server's events alone.
    NotCompared,
    Matched,
    /// It differs; these are the keys it covers.
    Differs {
        keys: BTreeSet<StockKey>,
    },
}

/// Compares the server's checksum of the keys `events` touch with ours. It is meaningful
/// only when our projection is of exactly the server's events, so not while local events
/// wait in the outbox.
pub(super) fn compare(
    store: &mut Store,
    events: &[Event],
    expected: &str,
) -> Result<Checksum, StoreError> {
    if store.pending_outbox_count()? > 0 {
        return Ok(Checksum::NotCompared);
    }
    // Stock that an event kept unread touches cannot match the server's until an update
    // applies that event: the screens say so, and a repair could not mend it. (Only a PC
    // that keeps unread events pays for the look-up.)
    if store.n_unread()? > 0 && store.any_marked(&store.page_keys(events)?)? {
        return Ok(Checksum::NotCompared);
    }
    if store.page_checksum(events)? == expected {
        return Ok(Checksum::Matched);
    }
    Ok(Checksum::Differs {
        keys: store.page_keys(events)?,
    })
}

/// The applied page whose checksum differed.
#[derive(Debug)]
pub(super) struct PulledPage {
    pub after: u64,
    /// The server's last seq when it took the checksum; the page ends there.
    pub checksum_seq: u64,
    pub expected: String,
    pub events: Vec<Event>,
}

/// What re-fetching the keys' events brought.
#[derive(Debug, Default)]
struct Refetched {
    n_fetched: u64,
    n_missing: u64,
    notices: Vec<Notice>,
}

impl Engine {
    /// Re-fetches the events touching `keys`, applies those this device lacks, compares
    /// again, falls back to a rebuild, and records the episode. Returns the notices of the
    /// events that were new here. A failed re-fetch is recorded with what it got, and then
    /// returned, so the round backs off like any other failure.
    pub(super) async fn repair_checksum(
        &mut self,
        page: PulledPage,
        keys: BTreeSet<StockKey>,
        report: &mut super::RoundReport,
    ) -> Result<Vec<Notice>, SyncError> {
        let keys: Vec<StockKey> = keys.into_iter().collect();
        tracing::warn!(
            after = page.after,
            checksum_seq = page.checksum_seq,
            n_keys = keys.len(),
            "stock checksum differs from the server's; fetching the events of its keys again"
        );
        let mut refetched = Refetched::default();
        let fetch_error = self
            .refetch(&keys, page.checksum_seq, &mut refetched, report)
            .await
            .err();
        // The comparison and a possible rebuild come first; the badge does not wait for them.
        if let Some(error) = &fetch_error {
            self.note_request_failed(error);
        }
        let PulledPage {
            after,
            checksum_seq,
            expected,
            events,
        } = page;
        let (outcome, differences) = self
            .with_store(move |store| {
                // Local events recorded meanwhile make the projection more than the
                // server's events: the comparison would mean nothing.
                if store.pending_outbox_count()? > 0 {
                    return Ok((RepairOutcome::Undecided, Vec::new()));
                }
                if store.page_checksum(&events)? == expected {
                    return Ok((RepairOutcome::Refetched, Vec::new()));
                }
                let rebuild = store.rebuild_projection()?;
                let outcome = if store.page_checksum(&events)? == expected {
                    RepairOutcome::Rebuilt
                } else {
                    RepairOutcome::Unresolved
                };
                Ok((outcome, rebuild.differences))
            })
            .await?;
        let repair = ChecksumRepair {
            at_ms: system_now_ms(),
            after_seq: after,
            checksum_seq,
            n_keys: keys.len() as u64,
            keys,
            n_fetched: refetched.n_fetched,
            n_missing: refetched.n_missing,
            outcome,
            differences,
        };
        let to_record = repair.clone();
        self.with_store(move |store| store.record_checksum_repair(&to_record))
            .await?;
        match outcome {
            RepairOutcome::Refetched => tracing::warn!(
                n_missing = repair.n_missing,
                n_fetched = repair.n_fetched,
                "the events of the checksum's keys were fetched again and it matches now"
            ),
            RepairOutcome::Rebuilt => tracing::warn!(
                n_missing = repair.n_missing,
                differences = ?repair.differences,
                "the checksum matched only after rebuilding the projection from the log"
            ),
            RepairOutcome::Unresolved => tracing::error!(
                n_missing = repair.n_missing,
                after,
                checksum_seq,
                "stock checksum differs from the server's even after fetching its keys again and a rebuild"
            ),
            RepairOutcome::Undecided => tracing::warn!(
                n_missing = repair.n_missing,
                "local events were recorded during the checksum repair; it could not be compared again"
            ),
        }
        let summary = ChecksumRepairStatus::from(&repair);
        self.status.send_modify(|status| {
            status.checksum_mismatches += 1;
            if outcome == RepairOutcome::Unresolved {
                status.checksum_unresolved += 1;
            }
            status.last_checksum_repair = Some(summary);
        });
        match fetch_error {
            Some(error) => Err(error),
            None => Ok(refetched.notices),
        }
    }

    /// Fetches the events touching `keys` with seqs up to `through`, a page at a time and
    /// at most [`MAX_TOUCHING_KEYS`] keys per request, and applies each page.
    async fn refetch(
        &mut self,
        keys: &[StockKey],
        through: u64,
        refetched: &mut Refetched,
        report: &mut super::RoundReport,
    ) -> Result<(), SyncError> {
        let limit = self.config.pull_limit.clamp(1, 5_000);
        for chunk in keys.chunks(MAX_TOUCHING_KEYS) {
            let mut after = 0u64;
            loop {
                let exchange = self.client.events_touching(chunk, after, limit).await?;
                self.record_sample(exchange.sample);
                let page = exchange.body;
                let mut previous = after;
                for pulled in &page.events {
                    if pulled.seq <= previous {
                        return Err(SyncError::Protocol(format!(
                            "events touching keys: seq {} after {previous}",
                            pulled.seq
                        )));
                    }
                    previous = pulled.seq;
                }
                let n_page = page.events.len();
                // Events after `through` are not in the checksum the server sent; the next
                // pull brings them in order.
                let events: Vec<Event> = page
                    .events
                    .into_iter()
                    .take_while(|pulled| pulled.seq <= through)
                    .map(|pulled| pulled.event)
                    .collect();
                let is_last = events.len() < n_page || n_page < limit as usize;
                refetched.n_fetched += events.len() as u64;
                if !events.is_empty() {
                    self.observe_remote_clocks(&events);
                    let recorded = self
                        .with_store(move |store| store.apply_remote(&events, None))
                        .await?;
                    let n_before = report.n_pulled_new;
                    refetched.notices.extend(self.new_notices(recorded, report));
                    refetched.n_missing += report.n_pulled_new - n_before;
                }
                if is_last {
                    break;
                }
                after = page.next;
            }
        }
        Ok(())
    }
}
