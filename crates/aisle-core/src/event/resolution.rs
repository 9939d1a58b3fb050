//! Resolutions: the automatic decisions of the stock rules, recorded as events.
//!
//! The rules in [`crate::stock`] settle conflicts by themselves: the earliest claim of a pick
//! list wins, negative stock raises a discrepancy and a count task, an over-pick raises a
//! discrepancy, a short pick or a rejected count raises a count task, and a count outside
//! tolerance waits for a manager as a variance. That derived state is the same on every
//! replica, but it has no author and no time, so on its own it is not in the audit trail.
//!
//! The server therefore records each decision it takes while ingesting as one `resolved`
//! event whose body is a [`Resolution`]. It is authored by the server's own identity in the
//! warehouse ([`DeviceId::server`]); [`crate::Event::validate`] refuses a resolution from any
//! other device, so a device can never author one. Devices pull it like any event.
//!
//! A manager's `count_requested` opens a count task too, but it is no automatic decision:
//! the request is itself an event with an author and a time, so no resolution records it.
//!
//! A resolution changes no stock and raises nothing: the rules ignore it, so on-hand
//! quantities, discrepancies and tasks stay a function of the set of floor events. Its id is
//! derived from the decision ([`Resolution::event_id`]), so taking the same decision twice
//! (a third claim of a contested list, say) records it once.

use super::{Event, EventBody, EventVersion, InvalidEvent, Lot, ShortReason};
use crate::hlc::Hlc;
use crate::ids::{
    DeviceId, EventId, ItemId, LocationId, PickListId, TaskId, TenantId, UserId, WarehouseId,
};
use serde::{Deserialize, Serialize};

/// One `pick_list_claimed` event, as a resolution names it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimRef {
    pub event: EventId,
    pub device: DeviceId,
    pub user: UserId,
}

/// What the rules decided, about which events and key, and (by its `rule`) why. Tagged by
/// `rule` on the wire, flattened into the `resolved` body, so a resolution about a stock
/// key carries `location` and `item` where every other event body does.
///
/// `cause` is the event whose arrival at the server led to the decision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum Resolution {
    /// One pick list was claimed from two devices: the earliest claim wins, and the loser's
    /// device is told who won. One per losing device and winner.
    ClaimConflict {
        pick_list: PickListId,
        winner: ClaimRef,
        /// The losing device's earliest claim.
        loser: ClaimRef,
    },
    /// The key went below zero: a negative-stock discrepancy and a count task.
    NegativeStock {
        location: LocationId,
        item: ItemId,
        lot: Option<Lot>,
        on_hand: i64,
        task: TaskId,
        cause: EventId,
    },
    /// More was picked on a pick line than it asks for: an over-pick discrepancy. The key
    /// is the one the causing pick was from.
    OverPick {
        pick_list: PickListId,
        line: u32,
        picked: i64,
        line_qty: i64,
        location: LocationId,
        item: ItemId,
        lot: Option<Lot>,
        cause: EventId,
    },
    /// A short pick asks for a count of its key (raised by the short pick, or raised again
    /// when the count that covered it was rejected).
    ShortPick {
        location: LocationId,
        item: ItemId,
        lot: Option<Lot>,
        task: TaskId,
        short_pick: EventId,
        reason: ShortReason,
        cause: EventId,
    },
    /// A count outside the tolerance (for instance, taken while stock was moving) waits for
    /// a manager's review as a variance.
    CountVariance {
        location: LocationId,
        item: ItemId,
        lot: Option<Lot>,
        counted: EventId,
        counted_qty: i64,
        system_qty: i64,
    },
    /// A manager rejected a count: the key must be counted again.
    Recount {
        location: LocationId,
        item: ItemId,
        lot: Option<Lot>,
        task: TaskId,
        counted: EventId,
        cause: EventId,
    },
}

impl Resolution {
    /// The short name of the rule, as on the wire.
    pub fn rule(&self) -> &'static str {
        match self {
            Self::ClaimConflict { .. } => "claim_conflict",
            Self::NegativeStock { .. } => "negative_stock",
            Self::OverPick { .. } => "over_pick",
            Self::ShortPick { .. } => "short_pick",
            Self::CountVariance { .. } => "count_variance",
            Self::Recount { .. } => "recount",
        }
    }

    /// The stock key the decision is about, when it names one (a claim conflict names a
    /// list).
    pub fn stock_key(&self) -> Option<(LocationId, ItemId, &Option<Lot>)> {
        match self {
            Self::NegativeStock {
                location,
                item,
                lot,
                ..
            }
            | Self::OverPick {
                location,
                item,
                lot,
                ..
            }
            | Self::ShortPick {
                location,
                item,
                lot,
                ..
            }
            | Self::CountVariance {
                location,
                item,
                lot,
                ..
            }
            | Self::Recount {
                location,
                item,
                lot,
                ..
            } => Some((*location, *item, lot)),
            Self::ClaimConflict { .. } => None,
        }
    }

    /// The count task the decision raised, if it raised one.
    pub fn task(&self) -> Option<TaskId> {
        match self {
            Self::NegativeStock { task, .. }
            | Self::ShortPick { task, .. }
            | Self::Recount { task, .. } => Some(*task),
            Self::ClaimConflict { .. } | Self::OverPick { .. } | Self::CountVariance { .. } => None,
        }
    }

    /// The id of the event that records this decision, derived from the decision itself:
    /// the same decision always gets the same id, a different one never does.
    pub fn event_id(&self) -> EventId {
        let mut cause = Vec::with_capacity(48);
        match self {
            Self::ClaimConflict {
                pick_list,
                winner,
                loser,
            } => {
                cause.extend_from_slice(pick_list.as_bytes());
                cause.extend_from_slice(winner.event.as_bytes());
                cause.extend_from_slice(loser.device.as_bytes());
            }
            Self::NegativeStock {
                task, cause: by, ..
            }
            | Self::ShortPick {
                task, cause: by, ..
            }
            | Self::Recount {
                task, cause: by, ..
            } => {
                cause.extend_from_slice(task.as_bytes());
                cause.extend_from_slice(by.as_bytes());
            }
            Self::OverPick {
                pick_list,
                line,
                cause: by,
                ..
            } => {
                cause.extend_from_slice(pick_list.as_bytes());
                cause.extend_from_slice(&line.to_be_bytes());
                cause.extend_from_slice(by.as_bytes());
            }
            Self::CountVariance { counted, .. } => cause.extend_from_slice(counted.as_bytes()),
        }
        EventId::derived(&format!("resolution/{}", self.rule()), &cause)
    }

    /// The `resolved` event that records this decision in one warehouse, authored by the
    /// server's identity there and stamped `hlc` (the caller's clock: this crate has none).
    pub fn into_event(self, tenant: TenantId, warehouse: WarehouseId, hlc: Hlc) -> Event {
        Event {
            v: EventVersion::CURRENT,
            id: self.event_id(),
            tenant,
            warehouse,
            device: DeviceId::server(tenant, warehouse),
            user: UserId::server(tenant, warehouse),
            hlc,
            clock_correction_ms: 0,
            replaces: None,
            body: EventBody::Resolved { resolution: self },
        }
    }

    /// Checks the decision's own fields; the envelope is checked by [`Event::validate`].
    pub(super) fn validate(
        &self,
        lot_ok: impl Fn(&Option<Lot>) -> Result<(), InvalidEvent>,
    ) -> Result<(), InvalidEvent> {
        let bad = |why: &'static str| Err(InvalidEvent::BadResolution(why));
        match self {
            Self::ClaimConflict { winner, loser, .. } => {
                if winner.device == loser.device {
                    return bad("a claim conflict needs two devices");
                }
                Ok(())
            }
            Self::NegativeStock { on_hand, lot, .. } => {
                if *on_hand >= 0 {
                    return bad("negative stock must be below zero");
                }
                lot_ok(lot)
            }
            Self::OverPick {
                picked,
                line_qty,
                lot,
                ..
            } => {
                if *line_qty <= 0 || picked <= line_qty {
                    return bad("an over-pick must pick more than a positive line quantity");
                }
                lot_ok(lot)
            }
            Self::CountVariance {
                counted_qty, lot, ..
            } => {
                if *counted_qty < 0 {
                    return Err(InvalidEvent::NegativeCount(*counted_qty));
                }
                lot_ok(lot)
            }
            Self::ShortPick { lot, .. } | Self::Recount { lot, .. } => lot_ok(lot),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit;

    fn claim(device_n: u16, serial: u8) -> ClaimRef {
        ClaimRef {
            event: EventId::new_v7(1, [serial; 10]),
            device: testkit::device(device_n),
            user: testkit::user(device_n),
        }
    }

    fn conflict() -> Resolution {
        Resolution::ClaimConflict {
            pick_list: testkit::pick_list(7),
            winner: claim(1, 1),
            loser: claim(2, 2),
        }
    }

    fn negative_stock(on_hand: i64) -> Resolution {
        Resolution::NegativeStock {
            location: testkit::location(1),
            item: testkit::item(1),
            lot: Some(Lot::new("L1")),
            on_hand,
            task: TaskId::derived("negative_stock", b"key"),
            cause: EventId::new_v7(1, [9; 10]),
        }
    }

    fn recorded(resolution: Resolution) -> Event {
        resolution.into_event(testkit::tenant(), testkit::warehouse(), Hlc::new(5_000, 1))
    }

    #[test]
    fn wire_form_is_a_resolved_body_tagged_by_rule_with_the_key_flat() {
        let event = recorded(negative_stock(-2));
        let json = serde_json::to_value(&event).expect("serialize");
        assert_eq!(json["v"], 1, "versioned like every event");
        assert_eq!(json["body"]["type"], "resolved", "one new event kind");
        assert_eq!(json["body"]["rule"], "negative_stock", "the rule says why");
        assert_eq!(
            json["body"]["item"],
            testkit::item(1).to_string(),
            "the key sits where every body has it, so history filters find it"
        );
        assert_eq!(json["body"]["on_hand"], -2);
        let back: Event = serde_json::from_value(json).expect("deserialize");
        assert_eq!(back, event, "round trip");
    }

    #[test]
    fn every_rule_round_trips() {
        let cause = EventId::new_v7(1, [9; 10]);
        let resolutions = [
            conflict(),
            negative_stock(-1),
            Resolution::OverPick {
                pick_list: testkit::pick_list(1),
                line: 3,
                picked: 7,
                line_qty: 5,
                location: testkit::location(2),
                item: testkit::item(2),
                lot: None,
                cause,
            },
            Resolution::ShortPick {
                location: testkit::location(2),
                item: testkit::item(2),
                lot: None,
                task: TaskId::derived("short_pick", b"s"),
                short_pick: cause,
                reason: ShortReason::Damaged,
                cause,
            },
            Resolution::CountVariance {
                location: testkit::location(2),
                item: testkit::item(2),
                lot: None,
                counted: cause,
                counted_qty: 3,
                system_qty: 5,
            },
            Resolution::Recount {
                location: testkit::location(2),
                item: testkit::item(2),
                lot: None,
                task: TaskId::derived("recount", b"r"),
                counted: cause,
                cause,
            },
        ];
        for resolution in resolutions {
            let event = recorded(resolution.clone());
            assert_eq!(event.validate(), Ok(()), "{resolution:?} is valid");
            assert_eq!(event.kind(), "resolved");
            let json = serde_json::to_string(&event).expect("serialize");
            assert!(
                json.contains(&format!("\"rule\":\"{}\"", resolution.rule())),
                "{json}"
            );
            let back: Event = serde_json::from_str(&json).expect("deserialize");
            assert_eq!(back, event, "{json}");
        }
    }

    #[test]
    fn an_unknown_rule_does_not_decode() {
        let mut json = serde_json::to_value(recorded(conflict())).expect("serialize");
        json["body"]["rule"] = "gut_feeling".into();
        assert!(
            serde_json::from_value::<Event>(json).is_err(),
            "a rule this build does not know is refused, not misread"
        );
    }

    #[test]
    fn the_same_decision_gets_the_same_id_and_another_does_not() {
        assert_eq!(conflict().event_id(), conflict().event_id());
        let Resolution::ClaimConflict {
            pick_list, winner, ..
        } = conflict()
        else {
            unreachable!()
        };
        let other_loser = Resolution::ClaimConflict {
            pick_list,
            winner: winner.clone(),
            loser: claim(3, 3),
        };
        assert_ne!(
            conflict().event_id(),
            other_loser.event_id(),
            "another loser"
        );
        let same_device_later_claim = Resolution::ClaimConflict {
            pick_list,
            winner,
            loser: claim(2, 4),
        };
        assert_eq!(
            conflict().event_id(),
            same_device_later_claim.event_id(),
            "a device that claims again has lost once, not twice"
        );
        assert_ne!(
            negative_stock(-1).event_id(),
            conflict().event_id(),
            "rules are tagged apart"
        );
        assert_eq!(
            conflict().event_id().as_uuid().get_version_num(),
            8,
            "derived ids are UUIDv8, apart from devices' UUIDv7 events"
        );
    }

    #[test]
    fn only_the_server_identity_may_author_a_resolution() {
        let mut forged = recorded(conflict());
        forged.device = testkit::device(1);
        assert_eq!(
            forged.validate(),
            Err(InvalidEvent::ResolutionNotFromServer),
            "a device's own resolution is refused"
        );
        let mut other_warehouse = recorded(conflict());
        other_warehouse.warehouse = WarehouseId::new_v7(1, [0x77; 10]);
        assert_eq!(
            other_warehouse.validate(),
            Err(InvalidEvent::ResolutionNotFromServer),
            "the server identity of another warehouse is not this one's"
        );
        let mut floor_event = recorded(conflict());
        floor_event.body = testkit::claimed(testkit::pick_list(7));
        assert_eq!(
            floor_event.validate(),
            Err(InvalidEvent::FloorEventFromServer),
            "the server identity records nothing but resolutions"
        );
    }

    #[test]
    fn validation_catches_nonsense_decisions() {
        let mut moved_id = recorded(conflict());
        moved_id.id = EventId::new_v7(1, [3; 10]);
        assert!(
            matches!(moved_id.validate(), Err(InvalidEvent::BadResolution(_))),
            "the id must be the decision's own"
        );
        let cases = [
            negative_stock(0),
            Resolution::ClaimConflict {
                pick_list: testkit::pick_list(7),
                winner: claim(1, 1),
                loser: claim(1, 2),
            },
            Resolution::OverPick {
                pick_list: testkit::pick_list(1),
                line: 1,
                picked: 5,
                line_qty: 5,
                location: testkit::location(2),
                item: testkit::item(2),
                lot: None,
                cause: EventId::new_v7(1, [9; 10]),
            },
        ];
        for resolution in cases {
            assert!(
                matches!(
                    recorded(resolution.clone()).validate(),
                    Err(InvalidEvent::BadResolution(_))
                ),
                "{resolution:?}"
            );
        }
        let mut bad_lot = negative_stock(-1);
        if let Resolution::NegativeStock { lot, .. } = &mut bad_lot {
            *lot = Some(Lot::new(""));
        }
        assert_eq!(recorded(bad_lot).validate(), Err(InvalidEvent::BadLot));
    }
}
