//! The random floor stories: per device, the events it records and what the server must
//! answer for each the first time it sees it.

use super::{Rng, HOUR_MS, MINUTE_MS};
use crate::support::{event, Device};
use aisle_core::event::{CountDecision, EventBody, Resolution, ReviewDecision, MAX_EVENT_QTY};
use aisle_core::ids::{EventId, ItemId, TaskId, WarehouseId};
use aisle_core::stock::StockKey;
use aisle_core::testkit::{
    adjusted, claimed, count_requested, counted, location, moved, pick_list, picked,
    picked_on_line, received, reviewed, short_picked,
};
use aisle_core::{Event, Lot};
use std::collections::HashMap;

/// What the floor looks like to the generator: the warehouse and the items its keys use.
pub(super) struct Floor {
    pub(super) warehouse: WarehouseId,
    /// Two items master data does not know, one plain catalogue item and the lot-tracked one.
    pub(super) items: [ItemId; 4],
    pub(super) lot_tracked: ItemId,
}

/// A generated event and what the server must answer the first time it sees it.
pub(super) struct Planned {
    pub(super) event: Event,
    /// `None` when the server must apply it, else the reason it must refuse it with.
    pub(super) refusal: Option<&'static str>,
    /// For an event on the lot-tracked item that names no lot (other than a count request),
    /// the key it is about: once applied, it opens a `lot_missing` discrepancy about it.
    pub(super) lot_missing: Option<StockKey>,
}

/// Makes the random floor stories, one stream per device in the order it records them.
pub(super) struct Generator<'a> {
    pub(super) rng: &'a mut Rng,
    floor: &'a Floor,
    devices: &'a [Device],
    now_ms: u64,
    clocks: Vec<u64>,
    pub(super) streams: Vec<Vec<EventId>>,
    pub(super) planned: HashMap<EventId, Planned>,
    /// Every count generated so far, with its decision, for reviews to pick from.
    counts: Vec<(EventId, CountDecision)>,
    serial: u64,
}

impl<'a> Generator<'a> {
    pub(super) fn new(
        rng: &'a mut Rng,
        floor: &'a Floor,
        devices: &'a [Device],
        now_ms: u64,
    ) -> Self {
        // A device's clock is hours behind the server, in step with it, or a few minutes
        // ahead (within the server's 10-minute bound even after every step below). Devices
        // in step start at the same time, so their events often tie on the wall clock.
        let clocks = devices
            .iter()
            .map(|_| match rng.below(4) {
                0 => now_ms - HOUR_MS - rng.below(2 * HOUR_MS),
                1 | 2 => now_ms - 30_000,
                _ => now_ms + MINUTE_MS + rng.below(4 * MINUTE_MS),
            })
            .collect();
        Generator {
            rng,
            floor,
            devices,
            now_ms,
            clocks,
            streams: vec![Vec::new(); devices.len()],
            planned: HashMap::new(),
            counts: Vec::new(),
            serial: 0,
        }
    }

    fn random_key(&mut self) -> StockKey {
        let item = self.floor.items[self.rng.index(self.floor.items.len())];
        let lot = if item == self.floor.lot_tracked {
            [None, Some("L1"), Some("L1"), Some("L2")][self.rng.index(4)]
        } else {
            [None, None, Some("L1"), Some("L2")][self.rng.index(4)]
        };
        StockKey {
            warehouse: self.floor.warehouse,
            location: location(1 + self.rng.below(2) as u16),
            item,
            lot: lot.map(Lot::new),
        }
    }

    fn lot_missing(&self, bin: &StockKey) -> Option<StockKey> {
        (bin.item == self.floor.lot_tracked && bin.lot.is_none()).then(|| bin.clone())
    }

    /// Stamps `body` on the device at `wall_ms` and appends it at a random place of the
    /// device's stream when `anywhere`, else at its end.
    fn record(
        &mut self,
        device_idx: usize,
        wall_ms: u64,
        body: EventBody,
        refusal: Option<&'static str>,
        lot_missing: Option<StockKey>,
        anywhere: bool,
    ) -> EventId {
        self.serial += 1;
        let event = event(&self.devices[device_idx], self.serial, wall_ms, body);
        let id = event.id;
        if let EventBody::Counted { decision, .. } = &event.body {
            self.counts.push((id, *decision));
        }
        let stream = &mut self.streams[device_idx];
        let at = if anywhere {
            self.rng.index(stream.len() + 1)
        } else {
            stream.len()
        };
        stream.insert(at, id);
        let lot_missing = lot_missing.filter(|_| refusal.is_none());
        self.planned.insert(
            id,
            Planned {
                event,
                refusal,
                lot_missing,
            },
        );
        id
    }

    /// The device's clock, one random step on.
    fn tick(&mut self, device_idx: usize) -> u64 {
        // Half the steps are 0-3 ms: ties with the device's own last event and others'.
        self.clocks[device_idx] += if self.rng.one_in(2) {
            self.rng.below(4)
        } else {
            1 + self.rng.below(2_000)
        };
        self.clocks[device_idx]
    }

    pub(super) fn random_event(&mut self, device_idx: usize) {
        let wall_ms = self.tick(device_idx);
        let bin = self.random_key();
        let lot_missing = self.lot_missing(&bin);
        let list = pick_list(1 + self.rng.below(2) as u16);
        let roll = self.rng.below(100);
        let (body, refusal, lot_missing) = match roll {
            0..=15 => {
                // Now and then exactly the bound, which is still a valid quantity.
                let qty = if self.rng.one_in(20) {
                    MAX_EVENT_QTY
                } else {
                    1 + self.rng.below(20) as i64
                };
                (received(&bin, qty), None, lot_missing)
            }
            16..=25 => (
                picked(&bin, 1 + self.rng.below(8) as i64),
                None,
                lot_missing,
            ),
            26..=31 => {
                let qty = 1 + self.rng.below(4) as i64;
                let line = 1 + self.rng.below(2) as u32;
                // The line's quantity as each picking device saw it: the latest pick's counts.
                let line_qty = 3 + self.rng.below(4) as i64;
                let body = picked_on_line(&bin, qty, list, line, line_qty);
                (body, None, lot_missing)
            }
            32..=39 => {
                let mut body = moved(&bin, 1, 1 + self.rng.below(6) as i64);
                if let EventBody::Moved {
                    to,
                    over_source_confirmed,
                    ..
                } = &mut body
                {
                    *to = loop {
                        let candidate = location(1 + self.rng.below(3) as u16);
                        if candidate != bin.location {
                            break candidate;
                        }
                    };
                    *over_source_confirmed = self.rng.one_in(4);
                }
                (body, None, lot_missing)
            }
            40..=46 => {
                let size = 1 + self.rng.below(5) as i64;
                let delta = if self.rng.one_in(2) { -size } else { size };
                (adjusted(&bin, delta), None, lot_missing)
            }
            47..=58 => {
                let counted_qty = self.rng.below(16) as i64;
                let system_qty = self.rng.below(16) as i64;
                let decision = if counted_qty == system_qty || self.rng.one_in(3) {
                    CountDecision::SelfApproved
                } else {
                    CountDecision::NeedsReview
                };
                let body = counted(&bin, counted_qty, system_qty, decision);
                (body, None, lot_missing)
            }
            59..=72 if !self.counts.is_empty() => (self.random_review(), None, None),
            59..=77 => (claimed(list), None, None),
            78..=80 => {
                let body = short_picked(&bin, list, 1 + self.rng.below(3) as i64);
                (body, None, lot_missing)
            }
            // A request to count records no stock, so without a lot it opens no lot_missing.
            81..=83 => (count_requested(&bin, "please look"), None, None),
            84..=89 => {
                self.far_ahead(device_idx, &bin);
                return;
            }
            90..=96 => (self.beyond_bound(&bin), Some("invalid_event"), None),
            _ => (forged_resolution(&bin), Some("server_only"), None),
        };
        self.record(device_idx, wall_ms, body, refusal, lot_missing, false);
    }

    /// A review of a count of any device, mostly of one that waits for review.
    fn random_review(&mut self) -> EventBody {
        let waiting: Vec<EventId> = self
            .counts
            .iter()
            .filter(|(_, decision)| *decision == CountDecision::NeedsReview)
            .map(|(id, _)| *id)
            .collect();
        let count = if !waiting.is_empty() && !self.rng.one_in(4) {
            waiting[self.rng.index(waiting.len())]
        } else {
            self.counts[self.rng.index(self.counts.len())].0
        };
        let decision = if self.rng.one_in(2) {
            ReviewDecision::Approved
        } else {
            ReviewDecision::Rejected
        };
        reviewed(count, decision)
    }

    /// An event from a clock that jumped far ahead (the device's own clock comes back).
    fn far_ahead(&mut self, device_idx: usize, bin: &StockKey) {
        let wall_ms = match self.rng.below(3) {
            // The year 6429, the largest wall time an hlc holds.
            0 => aisle_core::hlc::MAX_WALL_MS,
            1 => self.now_ms + 15 * MINUTE_MS + self.rng.below(24 * HOUR_MS),
            _ => self.now_ms + 30 * 365 * 24 * HOUR_MS,
        };
        let body = match self.rng.below(3) {
            0 => counted(bin, 7, 0, CountDecision::SelfApproved),
            1 => received(bin, 3),
            _ => picked(bin, 2),
        };
        self.record(device_idx, wall_ms, body, Some("clock_ahead"), None, false);
    }

    fn beyond_bound(&mut self, bin: &StockKey) -> EventBody {
        let over = MAX_EVENT_QTY + 1;
        match self.rng.below(7) {
            0 => received(bin, i64::MAX),
            1 => received(bin, over),
            2 => picked(bin, over),
            3 => moved(bin, 3, over),
            4 => adjusted(bin, -over),
            5 => adjusted(bin, i64::MIN),
            _ => counted(bin, over, 0, CountDecision::SelfApproved),
        }
    }

    /// Makes sure every seed covers each refusal, lot-less events on the lot-tracked item
    /// (one that opens `lot_missing`, a count request that does not), and one count that two
    /// devices review differently at different times.
    pub(super) fn cover_everything(&mut self) {
        let n_devices = self.devices.len();
        let reasons = |generator: &Self, reason: &str| {
            generator
                .planned
                .values()
                .any(|planned| planned.refusal == Some(reason))
        };
        let lot_less = StockKey {
            warehouse: self.floor.warehouse,
            location: location(1),
            item: self.floor.lot_tracked,
            lot: None,
        };
        let device_idx = self.rng.index(n_devices);
        let wall_ms = self.tick(device_idx);
        let receipt = received(&lot_less, 4);
        let missing = Some(lot_less.clone());
        self.record(device_idx, wall_ms, receipt, None, missing, true);
        let device_idx = self.rng.index(n_devices);
        let wall_ms = self.tick(device_idx);
        let request = count_requested(&lot_less, "which lot?");
        self.record(device_idx, wall_ms, request, None, None, true);

        let counting = self.rng.index(n_devices);
        let wall_ms = self.tick(counting);
        let bin = self.random_key();
        let missing = self.lot_missing(&bin);
        let body = counted(&bin, 3, 9, CountDecision::NeedsReview);
        let count = self.record(counting, wall_ms, body, None, missing, true);
        let approving = self.rng.index(n_devices);
        let rejecting = (approving + 1 + self.rng.index(n_devices - 1)) % n_devices;
        for (device_idx, decision) in [
            (approving, ReviewDecision::Approved),
            (rejecting, ReviewDecision::Rejected),
        ] {
            let wall_ms = self.tick(device_idx);
            self.record(
                device_idx,
                wall_ms,
                reviewed(count, decision),
                None,
                None,
                true,
            );
        }

        let bin = self.random_key();
        if !reasons(self, "clock_ahead") {
            let device_idx = self.rng.index(n_devices);
            self.far_ahead(device_idx, &bin);
        }
        if !reasons(self, "invalid_event") {
            let device_idx = self.rng.index(n_devices);
            let body = self.beyond_bound(&bin);
            let wall_ms = self.tick(device_idx);
            self.record(device_idx, wall_ms, body, Some("invalid_event"), None, true);
        }
        if !reasons(self, "server_only") {
            let device_idx = self.rng.index(n_devices);
            let wall_ms = self.tick(device_idx);
            let body = forged_resolution(&bin);
            self.record(device_idx, wall_ms, body, Some("server_only"), None, true);
        }
    }
}

/// A `resolved` event as a device might forge one: only the server records those.
pub(super) fn forged_resolution(bin: &StockKey) -> EventBody {
    EventBody::Resolved {
        resolution: Resolution::NegativeStock {
            location: bin.location,
            item: bin.item,
            lot: bin.lot.clone(),
            on_hand: -1,
            task: TaskId::derived("negative_stock", b"forged"),
            cause: EventId::derived("forged", b"cause"),
        },
    }
}
