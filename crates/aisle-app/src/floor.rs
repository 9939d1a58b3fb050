//! [`Floor`]: one open warehouse profile, with whoever is signed in at this PC, turning
//! the floor screens' actions into recorded events.
//!
//! Every action checks its inputs against master data first (a wrong location or item on
//! a pick line is refused before anything is written), then stamps one event with a UUIDv7
//! id and the hybrid logical clock, and records it through the store in one transaction.
//! Time is always passed in (`now_ms`, the PC's clock in ms since the epoch), so tests can
//! drive it; the clock correction measured by sync is applied here.

use crate::views::{
    CountArgs, CountedView, ExpectedLineView, ExpectedReceiptView, ItemView, LocationView,
    MoveArgs, PickArgs, PickLineView, PickListSummaryView, PickListView, PutBackArgs, PutBackView,
    ReceiveArgs, RecordedView, SessionView, ShortPickArgs, UserView,
};
use crate::{AppError, IdleTimeout};
use aisle_core::event::{CountDecision, EventBody, PickLineRef, EVENT_VERSION, MAX_EVENT_QTY};
use aisle_core::ids::{DeviceId, EventId, ItemId, LocationId, PickListId};
use aisle_core::stock::{decide_count, Notice, StockKey};
use aisle_core::{Event, EventVersion, Hlc, HlcClock, Lot};
use aisle_store::lockout::{self, WrongPin};
use aisle_store::master::{Item, Location, PickLine, PickList, Role, User};
use aisle_store::{Profile, Recorded, Store, StoreKey};
use std::path::Path;

#[derive(Debug, Clone)]
struct Session {
    user: User,
    last_action_ms: u64,
}

/// Where event times come from. The desktop app shares one clock between recording and
/// sync, so a local event is always stamped after every remote event the device has seen
/// (the hybrid logical clock's receive rule) and with the offset to server time that sync
/// measured.
pub trait Stamper: Send + std::fmt::Debug {
    /// The hlc for a new local event and the clock correction (ms) it was stamped with,
    /// given the PC's own clock.
    fn stamp(&mut self, system_ms: u64) -> (Hlc, i64);
}

/// A clock of this device alone, with a fixed correction: for tests, tools, and a PC that
/// has not synced yet.
#[derive(Debug)]
pub struct LocalClock {
    clock: HlcClock,
    offset_ms: i64,
}

impl LocalClock {
    pub fn new(last: Hlc, offset_ms: i64) -> Self {
        Self {
            clock: HlcClock::new(last),
            offset_ms,
        }
    }
}

impl Stamper for LocalClock {
    fn stamp(&mut self, system_ms: u64) -> (Hlc, i64) {
        let corrected_ms = system_ms.saturating_add_signed(self.offset_ms);
        (self.clock.now(corrected_ms), self.offset_ms)
    }
}

/// One open warehouse profile on this PC.
#[derive(Debug)]
pub struct Floor {
    store: Store,
    device: DeviceId,
    clock: Box<dyn Stamper>,
    session: Option<Session>,
    idle_timeout: IdleTimeout,
}

impl Floor {
    /// Opens (creating if needed) the profile's store with a [`LocalClock`] that starts
    /// after the newest event in the log, so a restart never stamps an event earlier than
    /// one it made.
    pub fn open(
        path: &Path,
        profile: Profile,
        key: &StoreKey,
        device: DeviceId,
    ) -> Result<Self, AppError> {
        let store = Store::open(path, profile, key)?;
        let last = store.latest_hlc()?.unwrap_or_default();
        Ok(Self::with_clock(
            store,
            device,
            Box::new(LocalClock::new(last, 0)),
        ))
    }

    /// A floor over an open store, stamping with `clock` (in the app, the clock it shares
    /// with sync; start it at [`Store::latest_hlc`]). Sessions end after the profile's
    /// saved idle timeout.
    pub fn with_clock(store: Store, device: DeviceId, clock: Box<dyn Stamper>) -> Self {
        // A store that cannot be read here cannot be worked with either; the first action
        // will say so. Until then the default timeout holds.
        let idle_timeout = IdleTimeout::load(&store).unwrap_or(IdleTimeout::DEFAULT);
        Self {
            store,
            device,
            clock,
            session: None,
            idle_timeout,
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn store_mut(&mut self) -> &mut Store {
        &mut self.store
    }

    pub fn profile(&self) -> Profile {
        self.store.profile()
    }

    pub fn device(&self) -> DeviceId {
        self.device
    }

    /// How long a session may stay idle before it ends by itself.
    pub fn idle_timeout(&self) -> IdleTimeout {
        self.idle_timeout
    }

    /// Changes the profile's idle timeout and saves it (managers only). It applies to the
    /// session under way too, from its last activity.
    pub fn set_idle_timeout(
        &mut self,
        timeout: IdleTimeout,
        now_ms: u64,
    ) -> Result<IdleTimeout, AppError> {
        self.require_manager(now_ms)?;
        timeout.save(&self.store)?;
        self.idle_timeout = timeout;
        Ok(timeout)
    }

    /// Checks a badge and PIN against the synced argon2id hashes; works offline.
    ///
    /// A badge with [`lockout::MAX_WRONG_PINS`] wrong PINs in a row is locked on this PC for
    /// a growing time, and the lock is recorded as a `badge_locked` event for managers. A
    /// badge no user has is counted and locked the same way, so locks do not tell which
    /// badges exist. A manager or admin whose right PIN is shorter than the tenant's
    /// minimum is refused with `pin_too_short`.
    pub fn sign_in(&mut self, badge: &str, pin: &str, now_ms: u64) -> Result<UserView, AppError> {
        let badge = badge.trim();
        if let Some(until_ms) = self.store.badge_locked_until(badge, now_ms)? {
            return Err(AppError::BadgeLocked {
                failures: lockout::MAX_WRONG_PINS,
                wait_s: until_ms.saturating_sub(now_ms).div_ceil(1000),
            });
        }
        let Some(user) = self.store.sign_in(badge, pin)? else {
            return Err(self.wrong_pin(badge, now_ms)?);
        };
        self.store.clear_wrong_pins(badge)?;
        let elevated = matches!(user.role, Role::Manager | Role::Admin);
        let min_digits = self.store.pin_policy()?.min_digits_for(elevated);
        if pin.len() < usize::from(min_digits) {
            return Err(AppError::PinTooShort {
                role: if elevated { "manager" } else { "picker" },
                min_digits,
            });
        }
        let view = UserView::from(&user);
        self.session = Some(Session {
            user,
            last_action_ms: now_ms,
        });
        Ok(view)
    }

    /// Counts a wrong PIN; the one that locks the badge is recorded as an event by the
    /// badge's user, if the badge has one. Answers the error to show.
    fn wrong_pin(&mut self, badge: &str, now_ms: u64) -> Result<AppError, AppError> {
        if badge.is_empty() {
            return Ok(AppError::BadPin);
        }
        match self.store.note_wrong_pin(badge, now_ms)? {
            WrongPin::TriesLeft(_) => Ok(AppError::BadPin),
            WrongPin::Locked { failures, until_ms } => {
                if let Some(user) = self.store.active_user_by_badge(badge)? {
                    let body = EventBody::BadgeLocked {
                        badge: badge.to_owned(),
                        failures,
                        locked_until_ms: until_ms,
                    };
                    let event = self.stamp_for(user.id, body, now_ms);
                    self.store.record(&event)?;
                }
                Ok(AppError::BadgeLocked {
                    failures,
                    wait_s: until_ms.saturating_sub(now_ms).div_ceil(1000),
                })
            }
        }
    }

    pub fn sign_out(&mut self) {
        self.session = None;
    }

    /// The signed-in user, unless the session has gone idle (which signs them out). Asking
    /// is not activity: the idle timer goes on.
    pub fn current_user(&mut self, now_ms: u64) -> Option<UserView> {
        self.end_if_idle(now_ms);
        self.session
            .as_ref()
            .map(|session| UserView::from(&session.user))
    }

    /// Notes that the person at the PC did something (a key, a click, a scan) that needed
    /// no command, so the idle timer restarts; answers the signed-in user, if any is left.
    pub fn note_activity(&mut self, now_ms: u64) -> Option<UserView> {
        self.touch(now_ms).ok().map(|user| UserView::from(&user))
    }

    /// The session as the UI follows it. `activity` says the person did something since
    /// the UI last asked (which restarts the idle timer); without it this only looks.
    pub fn session(&mut self, activity: bool, now_ms: u64) -> SessionView {
        let user = if activity {
            self.note_activity(now_ms)
        } else {
            self.current_user(now_ms)
        };
        SessionView {
            user,
            idle_timeout_minutes: self.idle_timeout.minutes(),
        }
    }

    fn end_if_idle(&mut self, now_ms: u64) {
        let idle_ms = self.idle_timeout.as_ms();
        if let Some(session) = &self.session {
            if now_ms.saturating_sub(session.last_action_ms) > idle_ms {
                self.session = None;
            }
        }
    }

    /// The signed-in user, noting the action so the idle timer restarts.
    pub(crate) fn touch(&mut self, now_ms: u64) -> Result<User, AppError> {
        self.end_if_idle(now_ms);
        let session = self.session.as_mut().ok_or(AppError::NotSignedIn)?;
        session.last_action_ms = now_ms.max(session.last_action_ms);
        Ok(session.user.clone())
    }

    pub(crate) fn require_manager(&mut self, now_ms: u64) -> Result<User, AppError> {
        let user = self.touch(now_ms)?;
        match user.role {
            Role::Manager | Role::Admin => Ok(user),
            Role::Picker => Err(AppError::Forbidden),
        }
    }

    /// Stamps an event for the signed-in user.
    fn stamp(&mut self, user: &User, body: EventBody, now_ms: u64) -> Event {
        self.stamp_for(user.id, body, now_ms)
    }

    /// Stamps an event by `user` with this device's clock.
    pub(crate) fn stamp_for(
        &mut self,
        user: aisle_core::ids::UserId,
        body: EventBody,
        now_ms: u64,
    ) -> Event {
        let (hlc, clock_correction_ms) = self.clock.stamp(now_ms);
        Event {
            v: EventVersion::CURRENT,
            id: EventId::new_v7(hlc.wall_ms, random_bytes()),
            tenant: self.profile().tenant,
            warehouse: self.profile().warehouse,
            device: self.device,
            user,
            hlc,
            clock_correction_ms,
            replaces: None,
            body,
        }
    }

    /// Stamps and records one event; answers with the new on-hand at `key`.
    pub(crate) fn record(
        &mut self,
        user: &User,
        body: EventBody,
        key: &StockKey,
        now_ms: u64,
    ) -> Result<RecordedView, AppError> {
        debug_assert_eq!(EVENT_VERSION, u16::from(EventVersion::CURRENT));
        let event = self.stamp(user, body, now_ms);
        let notices = match self.store.record(&event)? {
            Recorded::New { notices } => notices,
            Recorded::Duplicate => Vec::new(),
        };
        Ok(RecordedView {
            event_id: event.id,
            on_hand: self.store.on_hand(key)?,
            notices: notices
                .iter()
                .map(|notice| self.notice_text(notice))
                .collect(),
        })
    }

    fn notice_text(&self, notice: &Notice) -> String {
        match notice {
            Notice::ClaimLost { winner, .. } => {
                let who = self
                    .user_name(winner.user)
                    .unwrap_or_else(|| winner.user.to_string());
                let on = self.pc_name(winner.order.device);
                format!("this pick list was already claimed by {who} on PC {on}")
            }
        }
    }

    pub(crate) fn user_name(&self, user: aisle_core::ids::UserId) -> Option<String> {
        self.store.user(user).ok().flatten().map(|user| user.name)
    }

    /// The name a PC was enrolled with, or its id while the server has not sent the name.
    fn pc_name(&self, device: DeviceId) -> String {
        self.store
            .device_name(device)
            .ok()
            .flatten()
            .unwrap_or_else(|| device.to_string())
    }

    pub(crate) fn key(&self, location: LocationId, item: ItemId, lot: Option<&str>) -> StockKey {
        StockKey {
            warehouse: self.profile().warehouse,
            location,
            item,
            lot: lot.filter(|lot| !lot.is_empty()).map(Lot::new),
        }
    }

    pub(crate) fn location(&self, id: LocationId) -> Result<Location, AppError> {
        self.store
            .location(id)?
            .filter(|location| location.warehouse == self.profile().warehouse)
            .ok_or_else(|| AppError::UnknownLocation(id.to_string()))
    }

    pub(crate) fn item(&self, id: ItemId) -> Result<Item, AppError> {
        self.store
            .item(id)?
            .ok_or_else(|| AppError::NotFound(format!("item {id}")))
    }

    /// Refuses an action on a lot-tracked item that names no lot, offering the lots the
    /// location holds of it with their quantities. Stock of a lot-tracked item without a lot
    /// cannot be told apart from any of its lots, so the device never records one.
    pub(crate) fn require_lot(&self, item: &Item, key: &StockKey) -> Result<(), AppError> {
        if !item.lot_tracked || key.lot.is_some() {
            return Ok(());
        }
        let lots = self
            .lots_at(key.location, key.item)?
            .into_iter()
            .map(|(lot, on_hand)| format!("{lot}: {on_hand}"))
            .collect();
        Err(AppError::LotRequired {
            sku: item.sku.clone(),
            lots,
        })
    }

    /// What `location` holds of `item`, per lot (stock without a lot first), leaving out
    /// lots at zero.
    pub fn stock_at(
        &self,
        location: LocationId,
        item: ItemId,
    ) -> Result<Vec<crate::views::LotStockView>, AppError> {
        let mut rows: Vec<crate::views::LotStockView> = self
            .store
            .on_hand_by_location(location)?
            .into_iter()
            .filter(|row| row.key.item == item && row.on_hand != 0)
            .map(|row| {
                Ok(crate::views::LotStockView {
                    needs_update: self.store.needs_update(&row.key)?,
                    lot: row.key.lot.map(|lot| lot.as_str().to_owned()),
                    on_hand: row.on_hand,
                })
            })
            .collect::<Result<_, AppError>>()?;
        rows.sort_by(|a, b| a.lot.cmp(&b.lot));
        Ok(rows)
    }

    /// The lots of `item` at `location` with stock other than zero, with their on-hand.
    pub fn lots_at(
        &self,
        location: LocationId,
        item: ItemId,
    ) -> Result<Vec<(String, i64)>, AppError> {
        Ok(self
            .store
            .on_hand_by_location(location)?
            .into_iter()
            .filter(|row| row.key.item == item && row.on_hand != 0)
            .filter_map(|row| Some((row.key.lot?.as_str().to_owned(), row.on_hand)))
            .collect())
    }

    pub fn receive(&mut self, args: ReceiveArgs, now_ms: u64) -> Result<RecordedView, AppError> {
        let user = self.touch(now_ms)?;
        positive(args.qty)?;
        self.location(args.location)?;
        let item = self.item(args.item)?;
        let key = self.key(args.location, args.item, args.lot.as_deref());
        self.require_lot(&item, &key)?;
        if let Some(reference) = &args.receipt {
            // Only against a delivery this PC knows the ERP announced and still expects.
            self.store
                .expected_receipt(reference)?
                .filter(|receipt| receipt.status == "open")
                .ok_or_else(|| AppError::NotFound(format!("an expected delivery {reference}")))?;
        }
        let body = EventBody::Received {
            location: args.location,
            item: args.item,
            lot: key.lot.clone(),
            expiry: args.expiry,
            qty: args.qty,
            receipt: args.receipt,
        };
        self.record(&user, body, &key, now_ms)
    }

    /// The warehouse's open expected receipts (the ERP's inbound ASNs), by reference, with
    /// expected against received per line.
    pub fn expected_receipts(&self) -> Result<Vec<ExpectedReceiptView>, AppError> {
        self.store
            .expected_receipts()?
            .iter()
            .map(|receipt| self.receipt_view(receipt))
            .collect()
    }

    /// The open expected receipt with the reference on a delivery note, as scanned or typed.
    pub fn expected_receipt(&self, reference: &str) -> Result<ExpectedReceiptView, AppError> {
        let reference = reference.trim();
        let receipt = self
            .store
            .expected_receipt(reference)?
            .filter(|receipt| receipt.status == "open")
            .ok_or_else(|| AppError::NotFound(format!("an expected delivery {reference}")))?;
        self.receipt_view(&receipt)
    }

    fn receipt_view(
        &self,
        receipt: &aisle_store::master::ExpectedReceipt,
    ) -> Result<ExpectedReceiptView, AppError> {
        let received = self.store.received_against(&receipt.reference)?;
        let progress = aisle_core::receipt::progress(&receipt.reference, &receipt.lines, &received);
        let lot = |lot: Option<Lot>| lot.map(|lot| lot.as_str().to_owned());
        let mut lines = Vec::with_capacity(progress.lines.len());
        for line in progress.lines {
            lines.push(ExpectedLineView {
                line: line.line,
                item: ItemView::from(&self.item(line.item)?),
                lot: lot(line.lot),
                expected: line.expected,
                received: line.received,
                difference: line.difference,
            });
        }
        let mut unexpected = Vec::with_capacity(progress.unexpected.len());
        for extra in progress.unexpected {
            unexpected.push(ExpectedLineView {
                line: 0,
                item: ItemView::from(&self.item(extra.item)?),
                lot: lot(extra.lot),
                expected: 0,
                received: extra.received,
                difference: extra.received,
            });
        }
        Ok(ExpectedReceiptView {
            reference: receipt.reference.clone(),
            supplier: receipt.supplier.clone(),
            lines,
            unexpected,
        })
    }

    /// Moves stock; answers with the on-hand left at the `from` location.
    pub fn move_stock(&mut self, args: MoveArgs, now_ms: u64) -> Result<RecordedView, AppError> {
        let user = self.touch(now_ms)?;
        positive(args.qty)?;
        let from = self.location(args.from)?;
        if args.from == args.to {
            return Err(AppError::SameLocation(from.code));
        }
        self.location(args.to)?;
        let item = self.item(args.item)?;
        let key = self.key(args.from, args.item, args.lot.as_deref());
        self.require_lot(&item, &key)?;
        let holds = self.store.on_hand(&key)?;
        let over_source = args.qty > holds;
        if over_source && !args.confirm_over_source {
            return Err(AppError::MoveExceedsSource {
                location: from.code,
                holds,
                qty: args.qty,
            });
        }
        let body = EventBody::Moved {
            from: args.from,
            to: args.to,
            item: args.item,
            lot: key.lot.clone(),
            qty: args.qty,
            over_source_confirmed: over_source,
        };
        self.record(&user, body, &key, now_ms)
    }

    /// Records a blind count. Whether it approves itself is decided here, once, with the
    /// warehouse's tolerance, and travels in the event so every replica agrees.
    pub fn count(&mut self, args: CountArgs, now_ms: u64) -> Result<CountedView, AppError> {
        let user = self.touch(now_ms)?;
        if args.counted_qty < 0 {
            return Err(AppError::BadQuantity(format!(
                "a count cannot be negative, got {}",
                args.counted_qty
            )));
        }
        if args.counted_qty > MAX_EVENT_QTY {
            return Err(AppError::BadQuantity(format!(
                "a count can be at most {MAX_EVENT_QTY}, got {}",
                args.counted_qty
            )));
        }
        self.location(args.location)?;
        let item = self.item(args.item)?;
        let key = self.key(args.location, args.item, args.lot.as_deref());
        self.require_lot(&item, &key)?;
        let expected = self.store.on_hand(&key)?;
        let tolerance = self.store.tolerance(self.profile().warehouse)?;
        // When an event this version cannot read touches the key, the figure here may be off:
        // the count cannot approve itself against it, and a manager decides.
        let needs_update = self.store.needs_update(&key)?;
        let decision = match needs_update {
            Some(_) => CountDecision::NeedsReview,
            None => decide_count(tolerance, expected, args.counted_qty),
        };
        let body = EventBody::Counted {
            count_task: args.task,
            location: args.location,
            item: args.item,
            lot: key.lot.clone(),
            counted_qty: args.counted_qty,
            system_qty: expected,
            blind: true,
            decision,
        };
        let recorded = self.record(&user, body, &key, now_ms)?;
        Ok(CountedView {
            recorded,
            decision,
            expected,
            variance: args.counted_qty - expected,
            needs_update,
        })
    }

    pub fn pick_lists(&self) -> Result<Vec<PickListSummaryView>, AppError> {
        let summaries = self.store.pick_list_summaries()?;
        Ok(summaries
            .into_iter()
            .map(|summary| PickListSummaryView {
                id: summary.id,
                reference: summary.reference,
                n_lines: summary.n_lines,
                n_done: summary.n_done,
                claimed_by: summary.claimed_by.as_ref().map(|claim| {
                    self.user_name(claim.user)
                        .unwrap_or_else(|| claim.user.to_string())
                }),
                claimed_on: summary
                    .claimed_by
                    .as_ref()
                    .and_then(|claim| self.store.device_name(claim.order.device).ok().flatten()),
                claimed_here: summary
                    .claimed_by
                    .as_ref()
                    .is_some_and(|claim| claim.order.device == self.device),
                cancelled: summary.status == "cancelled",
                put_back_due: summary.put_back_due,
            })
            .collect())
    }

    /// What must go back on a shelf from a cancelled pick list, per line and lot (nothing
    /// for a list that is not cancelled).
    fn put_backs(&self, list: &PickList) -> Result<Vec<PutBackView>, AppError> {
        if list.status != "cancelled" {
            return Ok(Vec::new());
        }
        let mut views = Vec::new();
        for due in self.store.put_back_tally(list.id)? {
            if due.due <= 0 {
                continue;
            }
            let Some(line) = list.lines.iter().find(|line| line.line == due.line) else {
                // A pick of a line the list no longer has: it still goes back, to where it
                // was picked from, which the manager's screens show; the floor lists the
                // lines it knows.
                continue;
            };
            views.push(PutBackView {
                line: due.line,
                location: LocationView::from(&self.location(line.location)?),
                item: ItemView::from(&self.item(line.item)?),
                lot: due.lot.map(|lot| lot.as_str().to_owned()),
                picked: due.picked,
                due: due.due,
            });
        }
        Ok(views)
    }

    /// The refusal of any more picking on `list`, which the ERP cancelled, saying what to
    /// put back.
    fn cancelled(&self, list: &PickList) -> Result<AppError, AppError> {
        let put_back = self
            .put_backs(list)?
            .into_iter()
            .map(|due| {
                let lot = due.lot.map(|lot| format!(" lot {lot}")).unwrap_or_default();
                format!(
                    "{} x {}{lot} to {}",
                    due.due, due.item.sku, due.location.code
                )
            })
            .collect();
        Ok(AppError::PickListCancelled {
            reference: list.reference.clone(),
            put_back,
        })
    }

    /// Puts back goods picked for a pick list the ERP cancelled: stock comes back at the
    /// chosen location. At most what is still due for the line and lot goes back, so the
    /// put-back work never goes below zero by a slip of the thumb.
    pub fn put_back(&mut self, args: PutBackArgs, now_ms: u64) -> Result<RecordedView, AppError> {
        let user = self.touch(now_ms)?;
        positive(args.qty)?;
        let list = self.pick_list(args.pick_list)?;
        let line = list
            .lines
            .iter()
            .find(|line| line.line == args.line)
            .cloned()
            .ok_or_else(|| AppError::NotFound(format!("line {} of the pick list", args.line)))?;
        if list.status != "cancelled" {
            return Err(AppError::BadQuantity(format!(
                "{} is not cancelled: nothing of it is put back",
                list.reference
            )));
        }
        self.location(args.location)?;
        // Back where it came from; anywhere else is a manager's decision.
        if args.location != line.location && !matches!(user.role, Role::Manager | Role::Admin) {
            return Err(AppError::Forbidden);
        }
        let lot = args.lot.clone().or_else(|| line.lot.clone());
        let due = self
            .store
            .put_back_tally(list.id)?
            .into_iter()
            .find(|due| {
                due.line == args.line && due.lot.as_ref().map(Lot::as_str) == lot.as_deref()
            })
            .map_or(0, |due| due.due);
        if args.qty > due {
            return Err(AppError::BadQuantity(format!(
                "{due} of line {} {} to put back, not {}",
                args.line,
                if due == 1 { "is" } else { "are" },
                args.qty
            )));
        }
        let key = self.key(args.location, line.item, lot.as_deref());
        let body = EventBody::PutBack {
            pick_list: list.id,
            line: args.line,
            location: args.location,
            item: line.item,
            lot: key.lot.clone(),
            qty: args.qty,
        };
        self.record(&user, body, &key, now_ms)
    }

    /// Opens a pick list (or the first open one nobody has claimed) and claims it for the
    /// signed-in user, unless this user already holds the claim.
    pub fn open_pick_list(
        &mut self,
        pick_list: Option<PickListId>,
        now_ms: u64,
    ) -> Result<PickListView, AppError> {
        let user = self.touch(now_ms)?;
        let id = match pick_list {
            Some(id) => id,
            None => self
                .store
                .pick_list_summaries()?
                .into_iter()
                .find(|summary| {
                    summary.status == "open"
                        && summary.claimed_by.is_none()
                        && summary.n_done < summary.n_lines
                })
                .map(|summary| summary.id)
                .ok_or_else(|| AppError::NotFound("an open, unclaimed pick list".into()))?,
        };
        let list = self.pick_list(id)?;
        if list.status == "cancelled" {
            // Nothing more is picked, and nobody claims it: the floor puts back what was.
            return Ok(PickListView {
                id,
                put_backs: self.put_backs(&list)?,
                reference: list.reference,
                lines: Vec::new(),
                notices: Vec::new(),
                cancelled: true,
            });
        }
        let mut notices = Vec::new();
        let already_mine = self
            .store
            .pick_list_winner(id)?
            .is_some_and(|claim| claim.user == user.id && claim.order.device == self.device);
        if !already_mine {
            let body = EventBody::PickListClaimed { pick_list: id };
            let event = self.stamp(&user, body, now_ms);
            if let Recorded::New { notices: raised } = self.store.record(&event)? {
                notices.extend(raised.iter().map(|notice| self.notice_text(notice)));
            }
        }
        let progress = self.store.pick_progress(id)?;
        let mut lines = Vec::with_capacity(list.lines.len());
        for line in &list.lines {
            let picked = progress.get(&line.line).copied().unwrap_or(0);
            lines.push(PickLineView {
                id: line.line,
                location: LocationView::from(&self.location(line.location)?),
                item: ItemView::from(&self.item(line.item)?),
                lot: line.lot.clone(),
                qty: line.qty,
                picked,
                done: picked >= line.qty,
            });
        }
        Ok(PickListView {
            id,
            reference: list.reference,
            lines,
            notices,
            cancelled: false,
            put_backs: Vec::new(),
        })
    }

    fn pick_list(&self, id: PickListId) -> Result<PickList, AppError> {
        self.store
            .pick_list(id)?
            .filter(|list| list.warehouse == self.profile().warehouse)
            .ok_or_else(|| AppError::NotFound(format!("pick list {id}")))
    }

    /// One line of one of this warehouse's pick lists that is still picked: a list the ERP
    /// cancelled refuses, saying what to put back.
    fn pick_line_of(&self, pick_list: PickListId, line: u32) -> Result<PickLine, AppError> {
        let list = self.pick_list(pick_list)?;
        if list.status == "cancelled" {
            return Err(self.cancelled(&list)?);
        }
        list.lines
            .into_iter()
            .find(|candidate| candidate.line == line)
            .ok_or_else(|| AppError::NotFound(format!("line {line} of the pick list")))
    }

    /// Picks on one line. The scanned location and item must be the line's; anything else
    /// is refused before a thing is written, naming what was expected.
    pub fn pick_line(&mut self, args: PickArgs, now_ms: u64) -> Result<RecordedView, AppError> {
        let user = self.touch(now_ms)?;
        positive(args.qty)?;
        let line = self.pick_line_of(args.pick_list, args.line)?;
        if args.location != line.location {
            return Err(AppError::WrongLocation {
                expected: self.location(line.location)?.code,
                scanned: self
                    .store
                    .location(args.location)?
                    .map_or_else(|| args.location.to_string(), |location| location.code),
            });
        }
        if args.item != line.item {
            return Err(AppError::WrongItem {
                expected: self.item(line.item)?.sku,
                scanned: self
                    .store
                    .item(args.item)?
                    .map_or_else(|| args.item.to_string(), |item| item.sku),
            });
        }
        let lot = args.lot.clone().or_else(|| line.lot.clone());
        let key = self.key(line.location, line.item, lot.as_deref());
        self.require_lot(&self.item(line.item)?, &key)?;
        let body = EventBody::Picked {
            pick_line: Some(PickLineRef {
                pick_list: args.pick_list,
                line: args.line,
                line_qty: line.qty,
            }),
            location: line.location,
            item: line.item,
            lot: key.lot.clone(),
            qty: args.qty,
        };
        self.record(&user, body, &key, now_ms)
    }

    /// Records that a line could not be picked in full, which raises a count task.
    pub fn short_pick(
        &mut self,
        args: ShortPickArgs,
        now_ms: u64,
    ) -> Result<RecordedView, AppError> {
        let user = self.touch(now_ms)?;
        positive(args.qty_short)?;
        let line = self.pick_line_of(args.pick_list, args.line)?;
        let lot = line.lot.clone().or_else(|| args.lot.clone());
        let key = self.key(line.location, line.item, lot.as_deref());
        self.require_lot(&self.item(line.item)?, &key)?;
        let body = EventBody::ShortPicked {
            pick_line: PickLineRef {
                pick_list: args.pick_list,
                line: args.line,
                line_qty: line.qty,
            },
            location: line.location,
            item: line.item,
            lot: key.lot.clone(),
            qty_short: args.qty_short,
            reason: args.reason,
        };
        self.record(&user, body, &key, now_ms)
    }
}

fn positive(qty: i64) -> Result<(), AppError> {
    if qty <= 0 {
        Err(AppError::BadQuantity(format!(
            "the quantity must be at least 1, got {qty}"
        )))
    } else if qty > MAX_EVENT_QTY {
        Err(AppError::BadQuantity(format!(
            "the quantity can be at most {MAX_EVENT_QTY}, got {qty}"
        )))
    } else {
        Ok(())
    }
}

/// Random bytes for event ids from the operating system.
fn random_bytes() -> [u8; 10] {
    let mut bytes = [0u8; 10];
    getrandom::fill(&mut bytes).expect("the operating system's random source is available");
    bytes
}
