//! Event builders for tests, benchmarks and demo data.
//!
//! A small fixed world of ids (devices, users, items, locations, pick lists in one tenant
//! and warehouse, each named by a number) and one function per event type, so a test
//! reads like the floor story it tells. Pure like the rest of the crate: ids come from
//! counters, never from randomness.

use crate::event::{
    CountDecision, Event, EventBody, EventVersion, PickLineRef, ReviewDecision, ShortReason,
};
use crate::ids::{
    DeviceId, EventId, ItemId, LocationId, PickListId, TenantId, UserId, WarehouseId,
};
use crate::stock::StockKey;
use crate::{Hlc, Lot};
pub fn device(n: u16) -> DeviceId {
    DeviceId::new_v7(1, numbered(n))
}
pub fn user(n: u16) -> UserId {
    UserId::new_v7(1, numbered(n))
}
pub fn item(n: u16) -> ItemId {
    ItemId::new_v7(1, numbered(n))
}
pub fn location(n: u16) -> LocationId {
    LocationId::new_v7(1, numbered(n))
}
pub fn pick_list(n: u16) -> PickListId {
    PickListId::new_v7(1, numbered(n))
}
/// Ten random-looking bytes that differ for every `n`.
fn numbered(n: u16) -> [u8; 10] {
    let [high, low] = n.to_be_bytes();
    [high, low, 0x5a, high, low, 0xa5, high, low, 0x3c, 0xc3]
}

pub fn tenant() -> TenantId {
    TenantId::new_v7(1, [0xee; 10])
}
pub fn warehouse() -> WarehouseId {
    WarehouseId::new_v7(1, [0xaa; 10])
}

pub fn key(location_n: u16, item_n: u16, lot: Option<&str>) -> StockKey {
    StockKey {
        warehouse: warehouse(),
        location: location(location_n),
        item: item(item_n),
        lot: lot.map(Lot::new),
    }
}

/// Makes events with unique ids; the caller chooses device and hlc.
#[derive(Debug, Default)]
pub struct Events {
    next_id: u64,
}

impl Events {
    pub fn make(&mut self, device_n: u16, wall_ms: u64, counter: u16, body: EventBody) -> Event {
        self.next_id += 1;
        build(device_n, Hlc::new(wall_ms, counter), self.next_id, body)
    }

    /// Like [`Events::make`] with counter 0, the caller choosing the serial that makes the
    /// id unique, so separate processes (or runs) can agree on ids.
    pub fn make_numbered(
        &mut self,
        device_n: u16,
        wall_ms: u64,
        serial: u64,
        body: EventBody,
    ) -> Event {
        build(device_n, Hlc::new(wall_ms, 0), serial, body)
    }
}

fn build(device_n: u16, hlc: Hlc, serial: u64, body: EventBody) -> Event {
    let mut random = [0u8; 10];
    random[..8].copy_from_slice(&serial.to_be_bytes());
    Event {
        v: EventVersion::CURRENT,
        id: EventId::new_v7(hlc.wall_ms, random),
        tenant: tenant(),
        warehouse: warehouse(),
        device: device(device_n),
        user: user(device_n),
        hlc,
        clock_correction_ms: 0,
        replaces: None,
        body,
    }
}

pub fn received(k: &StockKey, qty: i64) -> EventBody {
    EventBody::Received {
        location: k.location,
        item: k.item,
        lot: k.lot.clone(),
        expiry: None,
        qty,
        receipt: None,
    }
}
pub fn picked(k: &StockKey, qty: i64) -> EventBody {
    EventBody::Picked {
        pick_line: None,
        location: k.location,
        item: k.item,
        lot: k.lot.clone(),
        qty,
    }
}
pub fn picked_on_line(
    k: &StockKey,
    qty: i64,
    list: PickListId,
    line: u32,
    line_qty: i64,
) -> EventBody {
    EventBody::Picked {
        pick_line: Some(PickLineRef {
            pick_list: list,
            line,
            line_qty,
        }),
        location: k.location,
        item: k.item,
        lot: k.lot.clone(),
        qty,
    }
}
pub fn moved(from: &StockKey, to_location: u16, qty: i64) -> EventBody {
    EventBody::Moved {
        from: from.location,
        to: location(to_location),
        item: from.item,
        lot: from.lot.clone(),
        qty,
        over_source_confirmed: false,
    }
}
pub fn adjusted(k: &StockKey, delta: i64) -> EventBody {
    EventBody::Adjusted {
        location: k.location,
        item: k.item,
        lot: k.lot.clone(),
        delta,
        reason: "damaged".into(),
        note: String::new(),
    }
}
pub fn counted(
    k: &StockKey,
    counted_qty: i64,
    system_qty: i64,
    decision: CountDecision,
) -> EventBody {
    EventBody::Counted {
        count_task: None,
        location: k.location,
        item: k.item,
        lot: k.lot.clone(),
        counted_qty,
        system_qty,
        blind: false,
        decision,
    }
}
pub fn reviewed(counted: EventId, decision: ReviewDecision) -> EventBody {
    EventBody::CountReviewed { counted, decision }
}
pub fn short_picked(k: &StockKey, list: PickListId, qty_short: i64) -> EventBody {
    EventBody::ShortPicked {
        pick_line: PickLineRef {
            pick_list: list,
            line: 1,
            line_qty: 5,
        },
        location: k.location,
        item: k.item,
        lot: k.lot.clone(),
        qty_short,
        reason: ShortReason::NotFound,
    }
}
pub fn claimed(list: PickListId) -> EventBody {
    EventBody::PickListClaimed { pick_list: list }
}
pub fn count_requested(k: &StockKey, note: &str) -> EventBody {
    EventBody::CountRequested {
        location: k.location,
        item: k.item,
        lot: k.lot.clone(),
        note: note.into(),
    }
}
