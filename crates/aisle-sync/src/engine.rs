//! The executor: runs what [`crate::plan::plan`] decides against the server and the store,
//! and the background task that decides when to run a round.
//!
//! A round snapshots the store, plans, executes, and plans again until the plan is done or
//! says to wait. Everything the engine sends comes from the store and every answer is
//! settled in the store (one transaction per answer), so a crash at any point loses nothing
//! and re-sending is always safe: the server answers `duplicate` for what it already has.
//!
//! A round starts on a local event (debounced), on a timer, when the connection comes back,
//! or when the user asks ("sync now"). Failures set a retry time by
//! [`crate::backoff::delay`]; the server's `Retry-After` is a floor that even "sync now"
//! honours. [`SyncHandle::sync_now_and_wait`] is "sync now" for a caller that must say how
//! the round went (the app's Sync now button): it gets that round's report or error.
//!
//! `online` in the status goes false the moment a request gets no answer, before the
//! failure's bookkeeping in the store (which can wait behind the floor's writes) and
//! before the backoff; it goes true with any answer from our server.

mod repair;

use crate::backoff;
use crate::client::PullResponse;
use crate::clock::{ClockSample, DeviceClock, SharedClock};
use crate::conflicts::open_conflicts;
use crate::plan::{self, Identity, Op, Plan, Snapshot};
use crate::status::{ChecksumRepairStatus, ErrorInfo, Progress, SyncStatus};
use crate::token::{Token, TokenStore};
use crate::{system_now_ms, Client, DeviceProfile, SyncConfig, SyncError};
use aisle_core::ids::EventId;
use aisle_core::stock::Notice;
use aisle_core::Event;
use aisle_protocol::PushStatus;
use aisle_store::{Recorded, Store, StoreError};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;
use tracing::Instrument;

/// The store cursor holding the last server seq applied.
pub const PULL_CURSOR: &str = "server_seq";
/// The store cursor holding the master-data version applied.
pub const MASTER_CURSOR: &str = "master_version";
/// How many notices the status keeps.
const MAX_NOTICES: usize = 50;

/// What one round did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RoundReport {
    /// Events the server acknowledged (applied or duplicate).
    pub n_sent: u64,
    pub n_quarantined: u64,
    /// Pulled events that were new here.
    pub n_pulled_new: u64,
    /// When the earliest pending event is due, if some are still waiting.
    pub next_due_ms: Option<i64>,
}

/// The sync engine for one enrolled device and its store.
#[derive(Debug)]
pub struct Engine {
    store: Arc<Mutex<Store>>,
    client: Client,
    identity: Identity,
    config: SyncConfig,
    clock: SharedClock,
    state: plan::State,
    /// The server's Retry-After, which "sync now" does not override.
    server_floor_ms: Option<i64>,
    /// Set by "sync now": send pending events even if their retry time has not come.
    force_due: bool,
    status: watch::Sender<SyncStatus>,
    span: tracing::Span,
}

impl Engine {
    /// An engine over its own connection to the device store (the app keeps another one
    /// for recording; WAL lets both work at once).
    pub fn new(
        mut store: Store,
        profile: &DeviceProfile,
        token: Token,
        config: SyncConfig,
        clock: SharedClock,
    ) -> Result<Self, SyncError> {
        if store.profile() != profile.store_profile() {
            return Err(SyncError::Store(StoreError::Invalid(
                "the store belongs to another tenant or warehouse than the profile".into(),
            )));
        }
        let client = Client::new(
            &profile.server_url,
            profile.allow_insecure_http,
            profile.tenant,
            token,
            &config,
        )?;
        // Events kept unread by an older build that this one reads (it is an update): applied
        // before anything else, so the marks they left go with them.
        let applied = store.apply_unread(&|kind| config.reads.iter().any(|read| read == kind))?;
        if applied.n_applied > 0 {
            tracing::info!(
                n_applied = applied.n_applied,
                n_left = applied.n_left,
                "applied the events an older version kept unread"
            );
        }
        // The checksum repairs are counted over the store's life, not this process's.
        let repairs = store.checksum_repair_counts()?;
        let last_repair = store.checksum_repairs(1)?;
        let status = SyncStatus {
            checksum_mismatches: repairs.n_repairs,
            checksum_unresolved: repairs.n_unresolved,
            last_checksum_repair: last_repair.first().map(ChecksumRepairStatus::from),
            needs_update: store.unread_needs()?,
            ..SyncStatus::default()
        };
        let span = tracing::info_span!("sync", tenant = %profile.tenant, warehouse = %profile.warehouse, device = %profile.device);
        Ok(Self {
            store: Arc::new(Mutex::new(store)),
            client,
            identity: Identity {
                tenant: profile.tenant,
                warehouse: profile.warehouse,
                device: profile.device,
            },
            config,
            clock,
            state: plan::State::default(),
            server_floor_ms: None,
            force_due: false,
            status: watch::Sender::new(status),
            span,
        })
    }

    /// [`Engine::new`] with the profile's token from `tokens` (the OS keyring).
    pub fn with_token_store(
        store: Store,
        profile: &DeviceProfile,
        tokens: &dyn TokenStore,
        config: SyncConfig,
        clock: SharedClock,
    ) -> Result<Self, SyncError> {
        let token = tokens
            .load(&profile.name)?
            .ok_or_else(|| SyncError::NotEnrolled(profile.name.clone()))?;
        Self::new(store, profile, token, config, clock)
    }

    pub fn status(&self) -> watch::Receiver<SyncStatus> {
        self.status.subscribe()
    }

    /// The engine's store connection, for reading results in tests and tools.
    pub fn store(&self) -> Arc<Mutex<Store>> {
        Arc::clone(&self.store)
    }

    pub fn clock(&self) -> SharedClock {
        Arc::clone(&self.clock)
    }

    /// Runs one round: push what is due, pull until caught up, pull master data. Stops at
    /// the first failure, which sets the retry time and is also published in the status.
    pub async fn sync_once(&mut self) -> Result<RoundReport, SyncError> {
        let span = self.span.clone();
        self.round().instrument(span).await
    }

    /// "Sync now": forget our own backoff (not the server's Retry-After) and run a round.
    pub async fn sync_now(&mut self) -> Result<RoundReport, SyncError> {
        self.clear_backoff();
        self.sync_once().await
    }

    fn clear_backoff(&mut self) {
        let now_ms = system_now_ms();
        self.state.consecutive_failures = 0;
        self.state.retry_at_ms = self.server_floor_ms.filter(|floor| *floor > now_ms);
        self.force_due = true;
    }

    async fn round(&mut self) -> Result<RoundReport, SyncError> {
        self.state.pulled_to_end = false;
        self.state.master_to_end = false;
        let mut report = RoundReport::default();
        loop {
            let now_ms = system_now_ms();
            let due_before_ms = if self.force_due { i64::MAX } else { now_ms };
            let snapshot = match self.snapshot(due_before_ms).await {
                Ok(snapshot) => snapshot,
                Err(error) => return Err(self.fail(error, &[]).await),
            };
            report.next_due_ms = snapshot.next_due_ms;
            let step = plan::plan(
                &snapshot,
                &self.state,
                &self.identity,
                self.config.pull_master,
                now_ms,
            );
            let ops = match step {
                Plan::Done => break,
                Plan::Wait { until_ms } => return Err(SyncError::BackingOff { until_ms }),
                Plan::Run(ops) => ops,
            };
            for op in ops {
                let pushed_ids: Vec<EventId> = match &op {
                    Op::Push { events } => events.iter().map(|event| event.id).collect(),
                    _ => Vec::new(),
                };
                if let Err(error) = self.execute(op, &mut report).await {
                    return Err(self.fail(error, &pushed_ids).await);
                }
                self.state.consecutive_failures = 0;
                self.state.retry_at_ms = None;
                self.status.send_modify(|status| {
                    status.online = true;
                    status.consecutive_failures = 0;
                    status.next_retry_ms = None;
                });
            }
        }
        self.force_due = false;
        let counts = self
            .with_store(|store| {
                Ok((
                    store.pending_outbox_count()?,
                    store.quarantined_count()?,
                    open_conflicts(store)?.len() as u64,
                ))
            })
            .await;
        let (pending, quarantined, n_conflicts) = match counts {
            Ok(counts) => counts,
            Err(error) => return Err(self.fail(error, &[]).await),
        };
        self.status.send_modify(|status| {
            status.pulled_new += report.n_pulled_new;
            status.pending = pending;
            status.quarantined = quarantined;
            status.open_conflicts = n_conflicts;
            status.last_success_ms = Some(system_now_ms());
            status.progress = None;
        });
        tracing::debug!(?report, "sync round done");
        Ok(report)
    }

    async fn snapshot(&self, due_before_ms: i64) -> Result<Snapshot, SyncError> {
        let batch_size = self.config.batch_size.clamp(1, 1_000);
        let snapshot = self
            .with_store(move |store| {
                let due = store
                    .outbox_batch(due_before_ms, batch_size)?
                    .into_iter()
                    .map(|entry| entry.event)
                    .collect();
                let cursor = |name: &str| -> Result<u64, StoreError> {
                    Ok(store
                        .cursor(name)?
                        .and_then(|value| value.parse().ok())
                        .unwrap_or(0))
                };
                Ok(Snapshot {
                    due,
                    n_pending: store.pending_outbox_count()?,
                    next_due_ms: store.next_outbox_attempt_ms()?,
                    pull_cursor: cursor(PULL_CURSOR)?,
                    master_cursor: cursor(MASTER_CURSOR)?,
                })
            })
            .await?;
        self.status
            .send_modify(|status| status.pending = snapshot.n_pending);
        Ok(snapshot)
    }

    async fn execute(&mut self, op: Op, report: &mut RoundReport) -> Result<(), SyncError> {
        match op {
            Op::Quarantine { id, reason } => {
                tracing::warn!(event = %id, %reason, "event quarantined before sending");
                self.with_store(move |store| store.settle_push(&[], &[(id, reason)]))
                    .await?;
                report.n_quarantined += 1;
                self.status.send_modify(|status| status.quarantined += 1);
                Ok(())
            }
            Op::Push { events } => self.push(events, report).await,
            Op::Pull { after } => self.pull(after, report).await,
            Op::PullMaster { after } => self.pull_master(after).await,
        }
    }

    async fn push(
        &mut self,
        events: Vec<Event>,
        report: &mut RoundReport,
    ) -> Result<(), SyncError> {
        let exchange = match self.client.push(&events).await {
            Ok(exchange) => exchange,
            // The server names an event it cannot decode: settle that one, keep the rest.
            Err(SyncError::Server {
                status: 400,
                code,
                message,
                event_index: Some(event_idx),
                ..
            }) if code == "bad_json" && event_idx < events.len() => {
                let id = events[event_idx].id;
                tracing::warn!(event = %id, "event quarantined: the server cannot decode it");
                let reason = format!("bad_json: {message}");
                self.with_store(move |store| store.settle_push(&[], &[(id, reason)]))
                    .await?;
                report.n_quarantined += 1;
                return Ok(());
            }
            Err(error) => return Err(error),
        };
        self.record_sample(exchange.sample);
        let mut sent = Vec::with_capacity(events.len());
        let mut rejected = Vec::new();
        for (event, result) in events.iter().zip(&exchange.body.results) {
            if result.id != event.id {
                return Err(SyncError::Protocol(format!(
                    "result for {} where {} was expected",
                    result.id, event.id
                )));
            }
            match result.status {
                PushStatus::Applied | PushStatus::Duplicate => sent.push(event.id),
                PushStatus::Rejected => {
                    let reason = match (&result.reason, &result.message) {
                        (Some(reason), Some(message)) => format!("{reason}: {message}"),
                        (Some(reason), None) => reason.clone(),
                        (None, _) => "rejected".to_owned(),
                    };
                    tracing::warn!(event = %event.id, %reason, "event rejected by the server and quarantined");
                    rejected.push((event.id, reason));
                }
            }
        }
        let (n_sent, n_rejected) = (sent.len() as u64, rejected.len() as u64);
        self.with_store(move |store| store.settle_push(&sent, &rejected))
            .await?;
        report.n_sent += n_sent;
        report.n_quarantined += n_rejected;
        self.status.send_modify(|status| {
            status.pending = status.pending.saturating_sub(n_sent + n_rejected);
            status.quarantined += n_rejected;
        });
        Ok(())
    }

    /// Pulls and applies pages after `after` until a short page. While one page is applied
    /// the next is already being fetched (and decoded), so the server's and the network's
    /// share of the time overlaps the store's; the cursor still moves only with an applied
    /// page, in its transaction, so a failure or a crash at any point loses nothing.
    async fn pull(&mut self, after: u64, report: &mut RoundReport) -> Result<(), SyncError> {
        self.pull_from(after, None, report).await
    }

    /// [`Engine::pull`], whose first page is `first` when it was already fetched (by a live
    /// pull), so that one wake-up is one request; later pages, if it was full, as usual.
    async fn pull_from(
        &mut self,
        mut after: u64,
        first: Option<crate::client::Exchange<PullResponse>>,
        report: &mut RoundReport,
    ) -> Result<(), SyncError> {
        let limit = self.pull_limit();
        let mut n_done = 0u64;
        let mut fetched = match first {
            Some(first) => Ok(first),
            None => self.client.pull(after, limit).await,
        };
        loop {
            let exchange = fetched?;
            self.record_sample(exchange.sample);
            let page = exchange.body;
            check_page(&page, after)?;
            if page.events.is_empty() && page.unread.is_empty() {
                break;
            }
            let n_events = page.events.len() + page.unread.len();
            let is_full = n_events >= limit as usize;
            let next = page.next;
            let events: Vec<Event> = page.events.into_iter().map(|pulled| pulled.event).collect();
            let unread = self.unread(page.unread);
            self.observe_remote_clocks(&events);
            // The server's checksum describes its projection as of `checksum_seq`; it is
            // comparable once this page brings us exactly there (the tail page), and only
            // when this device applies the whole page: the server's checksum covers the
            // keys of the events kept unread too.
            let checksum = page
                .checksum
                .filter(|_| page.checksum_seq == Some(next) && unread.is_empty());
            let expected = checksum.clone();
            let kept_unread = !unread.is_empty();
            let apply = self.with_store(move |store| {
                let recorded =
                    store.apply_pulled(&events, &unread, Some((PULL_CURSOR, &next.to_string())))?;
                let needs_update = if kept_unread {
                    Some(store.unread_needs()?)
                } else {
                    None
                };
                let verdict = match &checksum {
                    Some(expected) => repair::compare(store, &events, expected)?,
                    None => repair::Checksum::NotCompared,
                };
                Ok((recorded, verdict, events, needs_update))
            });
            let (applied, prefetched) = if is_full {
                // The next page's request can fail while this one is still being applied.
                let prefetch = async {
                    let fetched = self.client.pull(next, limit).await;
                    if let Err(error) = &fetched {
                        self.note_request_failed(error);
                    }
                    fetched
                };
                let (applied, prefetched) = tokio::join!(apply, prefetch);
                (applied, Some(prefetched))
            } else {
                (apply.await, None)
            };
            let (recorded, verdict, events, needs_update) = applied?;
            if let Some(needs_update) = needs_update {
                self.status
                    .send_modify(|status| status.needs_update = needs_update);
            }
            let mut notices = self.new_notices(recorded, report);
            if let (repair::Checksum::Differs { keys }, Some(expected)) = (verdict, expected) {
                let page = repair::PulledPage {
                    after,
                    checksum_seq: next,
                    expected,
                    events,
                };
                notices.extend(self.repair_checksum(page, keys, report).await?);
            }
            n_done += n_events as u64;
            self.status.send_modify(|status| {
                status.progress = Some(Progress {
                    phase: "events",
                    done: n_done,
                    total: None,
                });
                status.notices.extend(notices);
                let excess = status.notices.len().saturating_sub(MAX_NOTICES);
                status.notices.drain(..excess);
            });
            after = next;
            match prefetched {
                Some(prefetched) => fetched = prefetched,
                None => break,
            }
        }
        // The clock's last hlc, for a restart: once per pull rather than once per page,
        // which would be a transaction (an fsync) of its own. The app's restart reads the
        // log's own latest hlc (`Store::latest_hlc`), which covers every applied page.
        let last_hlc = self.clock.lock().expect("clock lock").last().to_packed();
        self.with_store(move |store| {
            store.set_meta(DeviceClock::META_LAST_HLC, &last_hlc.to_string())
        })
        .await?;
        self.state.pulled_to_end = true;
        Ok(())
    }

    /// The envelopes of a page's events this build does not read, as the store keeps them.
    fn unread(
        &self,
        envelopes: Vec<aisle_protocol::UnreadEvent<Box<serde_json::value::RawValue>>>,
    ) -> Vec<aisle_store::unread::Unread> {
        if !envelopes.is_empty() {
            tracing::info!(
                n_unread = envelopes.len(),
                "pulled events this version cannot read: kept until an update reads them"
            );
        }
        envelopes
            .into_iter()
            .map(|envelope| aisle_store::unread::Unread {
                seq: envelope.seq,
                kind: envelope.kind,
                needs: envelope.needs,
                keys: envelope
                    .keys
                    .iter()
                    .map(|key| key.to_stock_key(self.identity.warehouse))
                    .collect(),
                event: envelope.event.get().to_owned(),
            })
            .collect()
    }

    /// Counts the new events of an applied batch and keeps the notices for this device.
    fn new_notices(&self, recorded: Vec<Recorded>, report: &mut RoundReport) -> Vec<Notice> {
        let mut notices = Vec::new();
        for outcome in recorded {
            if let Recorded::New { notices: new } = outcome {
                report.n_pulled_new += 1;
                notices.extend(new.into_iter().filter(|notice| self.is_for_me(notice)));
            }
        }
        notices
    }

    /// Pulls master data page by page until current, applying each page to the store and
    /// moving the master cursor after it, and reporting progress as it goes (the first
    /// pull of a new device can be large).
    async fn pull_master(&mut self, mut after: u64) -> Result<(), SyncError> {
        let mut n_done = 0u64;
        let mut changed = false;
        loop {
            let Some(exchange) = self.client.master(after).await? else {
                self.status
                    .send_modify(|status| status.master_data_available = Some(false));
                break;
            };
            self.record_sample(exchange.sample);
            let page = exchange.body;
            let n_rows = page.n_rows();
            let next = page.next;
            let store = Arc::clone(&self.store);
            // A page without versioned rows may still name a PC enrolled since, or a new
            // PIN policy: those are written where they differ, and the cursor stays.
            changed |= tokio::task::spawn_blocking(move || {
                let mut store = store.lock().expect("store lock");
                if n_rows > 0 {
                    crate::master::apply_page(&mut store, &page, MASTER_CURSOR).map(|()| true)
                } else {
                    crate::master::apply_unversioned(&mut store, &page)
                }
            })
            .await
            .map_err(|_| SyncError::Stopped)??;
            n_done += n_rows;
            self.status.send_modify(|status| {
                status.master_data_available = Some(true);
                status.progress = (n_rows > 0).then_some(Progress {
                    phase: "master",
                    done: n_done,
                    total: None,
                });
            });
            if n_rows == 0 || next <= after {
                break;
            }
            after = next;
        }
        self.status.send_modify(|status| {
            status.progress = None;
            status.master_changed += u64::from(changed);
        });
        self.state.master_to_end = true;
        Ok(())
    }

    fn pull_limit(&self) -> u32 {
        self.config.pull_limit.clamp(1, 5_000)
    }

    /// The pull cursor in the store.
    async fn pull_cursor(&self) -> Result<u64, SyncError> {
        self.with_store(|store| {
            Ok(store
                .cursor(PULL_CURSOR)?
                .and_then(|value| value.parse().ok())
                .unwrap_or(0))
        })
        .await
    }

    /// A live pull after the store's cursor, to be awaited in the background loop.
    async fn start_live(&self) -> Result<LivePull, SyncError> {
        let after = self.pull_cursor().await?;
        let (client, limit) = (self.client.clone(), self.pull_limit());
        let (wait, timeout) = (self.config.live_wait, self.config.request_timeout);
        let request =
            Box::pin(async move { client.pull_waiting(after, limit, wait, timeout).await });
        Ok(LivePull { after, request })
    }

    /// Settles a live pull's answer: applies its page through the pull path (and master
    /// data when the server says it changed). Returns whether to keep the live channel
    /// going; `false` falls back to the round until the next successful one.
    async fn settle_live(
        &mut self,
        after: u64,
        answer: Result<crate::client::Exchange<PullResponse>, SyncError>,
    ) -> bool {
        let span = self.span.clone();
        async {
            let exchange = match answer {
                Ok(exchange) => exchange,
                Err(error) => {
                    // The round takes over, with the backoff a failed round would have.
                    tracing::info!(error = %error, "live pull failed; back to the round");
                    self.fail(error, &[]).await;
                    return false;
                }
            };
            let why = exchange.live.clone();
            // A round may have pulled while this waited: its page is then stale (and would
            // move the cursor back), so it is dropped; the next live pull starts from the
            // cursor, and nothing is lost since nothing was applied.
            match self.pull_cursor().await {
                Ok(cursor) if cursor == after => {}
                Ok(_) => return true,
                Err(error) => {
                    self.fail(error, &[]).await;
                    return false;
                }
            }
            let mut report = RoundReport::default();
            if !exchange.body.events.is_empty() || !exchange.body.unread.is_empty() {
                if let Err(error) = self.pull_from(after, Some(exchange), &mut report).await {
                    self.fail(error, &[]).await;
                    return false;
                }
            } else {
                self.record_sample(exchange.sample);
            }
            if why.as_deref() == Some("master") && self.config.pull_master {
                let master_after = match self
                    .with_store(|store| {
                        Ok(store
                            .cursor(MASTER_CURSOR)?
                            .and_then(|value| value.parse().ok())
                            .unwrap_or(0))
                    })
                    .await
                {
                    Ok(master_after) => master_after,
                    Err(error) => {
                        self.fail(error, &[]).await;
                        return false;
                    }
                };
                if let Err(error) = self.pull_master(master_after).await {
                    self.fail(error, &[]).await;
                    return false;
                }
            }
            let n_new = report.n_pulled_new;
            self.status.send_modify(|status| {
                status.progress = None;
                status.pulled_new += n_new;
            });
            tracing::debug!(
                why = why.as_deref().unwrap_or("-"),
                n_new,
                "live pull settled"
            );
            // `busy` and `closing`, or no header at all (a server without live sync, which
            // answered at once): waiting again now would only spin.
            matches!(
                why.as_deref(),
                Some("data" | "pushed" | "master" | "timeout")
            )
        }
        .instrument(span)
        .await
    }

    fn is_for_me(&self, notice: &Notice) -> bool {
        match notice {
            Notice::ClaimLost { loser, .. } => *loser == self.identity.device,
        }
    }

    fn observe_remote_clocks(&self, events: &[Event]) {
        let now_ms = system_now_ms();
        let mut clock = self.clock.lock().expect("clock lock");
        for event in events {
            if let Err(drift) = clock.observe(event.hlc, now_ms) {
                // The event still applies (it happened); only our clock ignores its time.
                tracing::warn!(event = %event.id, device = %event.device, ahead_ms = drift.ahead_ms, "a pulled event's clock is far ahead; not following it");
            }
        }
    }

    fn record_sample(&self, sample: ClockSample) {
        let (offset_ms, round_trip_ms, warning) = {
            let mut clock = self.clock.lock().expect("clock lock");
            clock.record_sample(sample);
            let best = clock.estimate().best();
            (
                best.map(|best| best.offset_ms()),
                best.map(|best| best.round_trip_ms()),
                clock.warning(),
            )
        };
        self.status.send_modify(|status| {
            status.online = true;
            status.clock_offset_ms = offset_ms;
            status.clock_round_trip_ms = round_trip_ms;
            status.clock_warning = warning;
        });
    }

    /// Says "offline" the moment a request gets no answer, for the paths that still have
    /// work to finish (an applied page, a repair's rebuild) before the round fails.
    fn note_request_failed(&self, error: &SyncError) {
        if error.is_offline() {
            self.status.send_if_modified(|status| {
                let was_online = status.online;
                status.online = false;
                was_online
            });
        }
    }

    /// Books a failure: the retry time, the pushed events' attempts, the status. Returns
    /// the error for the caller to pass on.
    async fn fail(&mut self, error: SyncError, pushed_ids: &[EventId]) -> SyncError {
        let now_ms = system_now_ms();
        self.state.consecutive_failures = self.state.consecutive_failures.saturating_add(1);
        let delay = if error.is_retryable() {
            backoff::delay(
                self.state.consecutive_failures,
                self.config.backoff_base,
                self.config.backoff_cap,
                error.retry_after(),
                backoff::random_fraction(),
            )
        } else {
            // Someone has to change something (a revoked token, a newer server): try again
            // rarely rather than never, so a fix is picked up without a restart.
            self.config.backoff_cap
        };
        let retry_at_ms = now_ms.saturating_add(duration_ms(delay));
        self.server_floor_ms = error
            .retry_after()
            .map(|floor| now_ms.saturating_add(duration_ms(floor)));
        self.state.retry_at_ms = Some(retry_at_ms);
        tracing::warn!(code = error.code(), error = %error, delay_ms = duration_ms(delay), failures = self.state.consecutive_failures, "sync failed; will retry");
        // The status first: the store's bookkeeping below can wait behind the floor's
        // writes for seconds, and the badge must not say "online" meanwhile.
        let failures = self.state.consecutive_failures;
        self.status.send_modify(|status| {
            // A probe while backing off that our server answers, even with an error, means
            // the network is back: say so at once, not after the next success.
            if error.is_offline() {
                status.online = false;
            } else if error.is_from_server() {
                status.online = true;
            }
            status.last_error = Some(ErrorInfo::new(&error, now_ms));
            status.consecutive_failures = failures;
            status.next_retry_ms = Some(retry_at_ms);
            status.progress = None;
        });
        if !pushed_ids.is_empty() {
            let ids = pushed_ids.to_vec();
            let message = error.to_string();
            if let Err(store_error) = self
                .with_store(move |store| store.mark_retry_batch(&ids, &message, retry_at_ms))
                .await
            {
                tracing::error!(error = %store_error, "cannot record the failed push attempt");
            }
        }
        error
    }

    async fn with_store<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, SyncError> {
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || {
            let mut store = store.lock().expect("store lock");
            work(&mut store)
        })
        .await
        .map_err(|_| SyncError::Stopped)?
        .map_err(SyncError::Store)
    }

    /// Runs the engine in the background until [`SyncHandle::stop`], with the OS network
    /// watch ([`crate::netwatch`]) unless the configuration turns it off.
    pub fn spawn(self) -> SyncHandle {
        let (sender, receiver) = mpsc::unbounded_channel();
        let status = self.status();
        // The watch holds only a weak sender, so dropping the handle still ends the engine;
        // the engine aborts the watch when it ends.
        let network_watch = self.config.watch_network.then(|| {
            let triggers = sender.downgrade();
            tokio::spawn(crate::netwatch::watch(
                self.config.network_quiet,
                move || {
                    triggers
                        .upgrade()
                        .is_some_and(|sender| sender.send(Trigger::ConnectionChanged).is_ok())
                },
            ))
        });
        let task = tokio::spawn(self.run(receiver, AbortOnDrop(network_watch)));
        SyncHandle {
            triggers: sender,
            status,
            task,
        }
    }

    async fn run(
        mut self,
        mut triggers: mpsc::UnboundedReceiver<Trigger>,
        _network_watch: AbortOnDrop,
    ) -> Self {
        let mut next_tick = Instant::now();
        // Live sync: the pull outstanding, and whether the channel is to be used (it is
        // after a successful round, and not after a failed or refused live pull).
        let mut live: Option<LivePull> = None;
        let mut live_ok = false;
        loop {
            // Those who asked for this round and wait to hear how it went.
            let mut waiters: Vec<RoundWaiterSender> = Vec::new();
            let mut wake = next_tick;
            if let Some(retry_at_ms) = self.state.retry_at_ms {
                wake = wake.min(instant_at(retry_at_ms));
            }
            if live.is_none() && live_ok && self.config.live {
                match self.start_live().await {
                    Ok(pull) => live = Some(pull),
                    // The store failed; the round (which reads it too) reports it.
                    Err(error) => tracing::warn!(error = %error, "cannot start a live pull"),
                }
            }
            tokio::select! {
                answer = async { (&mut live.as_mut().expect("guarded").request).await }, if live.is_some() => {
                    let after = live.take().expect("guarded").after;
                    live_ok = self.settle_live(after, answer).await;
                    if !live_ok {
                        // The round is the channel now, at its own pace.
                        next_tick = next_tick.min(Instant::now() + self.config.interval);
                    }
                    self.status.send_if_modified(|status| {
                        let was = status.live;
                        status.live = live_ok;
                        was != live_ok
                    });
                    continue;
                }
                trigger = triggers.recv() => match trigger {
                    None | Some(Trigger::Stop) => return self,
                    Some(Trigger::Now(waiter)) => {
                        self.clear_backoff();
                        waiters.extend(waiter);
                    }
                    Some(Trigger::ConnectionChanged) => self.clear_backoff(),
                    Some(Trigger::LocalEvent) => {
                        // Debounce: a burst of scans becomes one round.
                        tokio::time::sleep(self.config.debounce).await;
                        while let Ok(trigger) = triggers.try_recv() {
                            match trigger {
                                Trigger::Stop => return self,
                                Trigger::Now(waiter) => {
                                    self.clear_backoff();
                                    waiters.extend(waiter);
                                }
                                Trigger::ConnectionChanged => self.clear_backoff(),
                                Trigger::LocalEvent => {}
                            }
                        }
                    }
                },
                () = tokio::time::sleep_until(wake) => {}
            }
            let round_started = Instant::now();
            let outcome = self
                .sync_once()
                .await
                .map_err(|error| ErrorInfo::new(&error, system_now_ms()));
            live_ok = outcome.is_ok();
            // With the live channel in use the round is only the safety net.
            next_tick = round_started
                + if live_ok && self.config.live {
                    self.config.live_interval.max(self.config.interval)
                } else {
                    self.config.interval
                };
            if let Ok(report) = &outcome {
                if let Some(next_due_ms) = report.next_due_ms {
                    next_tick = next_tick.min(instant_at(next_due_ms));
                }
            }
            // A live pull from before a round that moved the cursor would only bring back
            // what the round pulled: it is dropped (its connection closes) and a new one
            // starts from the cursor. One that failed goes too; the round takes over.
            if let Some(after) = live.as_ref().map(|pull| pull.after) {
                let moved = match self.pull_cursor().await {
                    Ok(cursor) => cursor != after,
                    Err(_) => true,
                };
                if moved || !live_ok {
                    live = None;
                }
            }
            let live_on = live_ok && self.config.live;
            self.status.send_if_modified(|status| {
                let was = status.live;
                status.live = live_on;
                was != live_on
            });
            for waiter in waiters {
                // A waiter that gave up has dropped its receiver; nothing to tell it.
                let _ = waiter.send(outcome.clone());
            }
        }
    }
}

/// A live pull in flight: the cursor it was sent with, and its request.
struct LivePull {
    after: u64,
    request: std::pin::Pin<
        Box<
            dyn std::future::Future<
                    Output = Result<crate::client::Exchange<PullResponse>, SyncError>,
                > + Send,
        >,
    >,
}

/// Aborts a background task when dropped.
#[derive(Debug)]
struct AbortOnDrop(Option<tokio::task::JoinHandle<()>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if let Some(task) = &self.0 {
            task.abort();
        }
    }
}

/// How a round went, as the engine tells those who asked for it.
pub type RoundOutcome = Result<RoundReport, ErrorInfo>;

type RoundWaiterSender = oneshot::Sender<RoundOutcome>;

/// What asks the background engine for a round.
#[derive(Debug)]
enum Trigger {
    LocalEvent,
    /// "Sync now", with whoever waits to hear how that round went.
    Now(Option<RoundWaiterSender>),
    ConnectionChanged,
    Stop,
}

/// The answer to [`SyncHandle::sync_now_and_wait`]: await it with [`RoundWaiter::wait`].
/// It holds no lock and no reference to the handle, so a caller can take it from behind
/// its own lock and wait outside.
#[derive(Debug)]
pub struct RoundWaiter(oneshot::Receiver<RoundOutcome>);

impl RoundWaiter {
    /// How the round went: its report, or its error as the status shows it. Waiting longer
    /// than `timeout` is `timeout` (the round goes on in the background), and an engine that
    /// stopped first is `stopped`.
    pub async fn wait(self, timeout: Duration) -> RoundOutcome {
        match tokio::time::timeout(timeout, self.0).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(_)) => Err(ErrorInfo::new(&SyncError::Stopped, system_now_ms())),
            Err(_) => Err(ErrorInfo {
                code: "timeout".to_owned(),
                message: format!(
                    "the sync round is still running after {} s; it goes on in the background",
                    timeout.as_secs()
                ),
                at_ms: system_now_ms(),
            }),
        }
    }
}

/// The app's handle on a running engine.
#[derive(Debug)]
pub struct SyncHandle {
    triggers: mpsc::UnboundedSender<Trigger>,
    status: watch::Receiver<SyncStatus>,
    task: tokio::task::JoinHandle<Engine>,
}

impl SyncHandle {
    /// A local event was recorded: sync soon (debounced).
    pub fn local_event(&self) {
        let _ = self.triggers.send(Trigger::LocalEvent);
    }

    /// The user pressed "sync now".
    pub fn sync_now(&self) {
        let _ = self.triggers.send(Trigger::Now(None));
    }

    /// "Sync now", for a caller that wants to know how that round went: the engine runs a
    /// round that starts after this call (after the one in progress, if any) and tells
    /// the waiter its outcome.
    pub fn sync_now_and_wait(&self) -> RoundWaiter {
        let (sender, receiver) = oneshot::channel();
        // If the engine has ended, the sender is dropped here and the waiter says so.
        let _ = self.triggers.send(Trigger::Now(Some(sender)));
        RoundWaiter(receiver)
    }

    /// The OS says the network changed (e.g. the connection came back).
    pub fn connection_changed(&self) {
        let _ = self.triggers.send(Trigger::ConnectionChanged);
    }

    pub fn status(&self) -> watch::Receiver<SyncStatus> {
        self.status.clone()
    }

    /// Stops after the current round and gives the engine back.
    pub async fn stop(self) -> Result<Engine, SyncError> {
        let _ = self.triggers.send(Trigger::Stop);
        self.task.await.map_err(|_| SyncError::Stopped)
    }
}

/// The page fits the protocol: seqs increase past `after`, and `next` is the last one.
fn check_page(page: &PullResponse, after: u64) -> Result<(), SyncError> {
    let increasing = |seqs: &mut dyn Iterator<Item = u64>| {
        let mut previous = after;
        for seq in seqs {
            if seq <= previous {
                return Err(SyncError::Protocol(format!(
                    "pulled seq {seq} after {previous}"
                )));
            }
            previous = seq;
        }
        Ok(previous)
    };
    let last_read = increasing(&mut page.events.iter().map(|pulled| pulled.seq))?;
    let last_unread = increasing(&mut page.unread.iter().map(|envelope| envelope.seq))?;
    let unread_seqs: std::collections::BTreeSet<u64> =
        page.unread.iter().map(|envelope| envelope.seq).collect();
    if let Some(both) = page
        .events
        .iter()
        .find(|pulled| unread_seqs.contains(&pulled.seq))
    {
        return Err(SyncError::Protocol(format!(
            "seq {} is both an event and an unread one",
            both.seq
        )));
    }
    let previous = last_read.max(last_unread);
    if page.next != previous {
        return Err(SyncError::Protocol(format!(
            "next is {} but the page ends at {previous}",
            page.next
        )));
    }
    Ok(())
}

fn duration_ms(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// The tokio instant at a device time in ms.
fn instant_at(at_ms: i64) -> Instant {
    // At most a day ahead: "never" (i64::MAX) must not overflow the instant.
    let from_now = at_ms.saturating_sub(system_now_ms()).clamp(0, 86_400_000);
    Instant::now() + Duration::from_millis(from_now as u64)
}
