//! Events kept unread (docs/protocol.md, "Mixed-version fleets"): a page with envelopes is
//! applied with its cursor in one transaction, the keys they touch are marked, and once the
//! build reads their kind they are applied in the server's order and the marks go.

use crate::fresh_store;
use aisle_core::testkit::{count_requested, key, picked, received, Events};
use aisle_store::unread::{AppliedUnread, Unread};

fn envelope(seq: u64, event: &aisle_core::Event, needs: &str) -> Unread {
    Unread {
        seq,
        kind: event.kind().to_owned(),
        needs: needs.to_owned(),
        keys: event.stock_keys(),
        event: serde_json::to_string(event).expect("json"),
    }
}

#[test]
fn envelopes_mark_their_keys_until_a_build_that_reads_them_applies_them() {
    let (_dir, mut store) = fresh_store();
    let mut events = Events::default();
    let (shelf, other) = (key(1, 1, None), key(2, 1, Some("L1")));
    let receipt = events.make(1, 1_000, 0, received(&shelf, 10));
    let request = events.make(1, 1_001, 0, count_requested(&shelf, "check"));
    let pick = events.make(2, 1_002, 0, picked(&other, 1));
    // A kind no build knows yet, with keys the server computed.
    let mut future = serde_json::to_value(&pick).expect("json");
    future["body"]["type"] = serde_json::json!("relabelled");
    let relabelled = Unread {
        seq: 4,
        kind: "relabelled".into(),
        needs: "0.10.0".into(),
        keys: vec![shelf.clone()],
        event: future.to_string(),
    };
    store
        .apply_pulled(
            std::slice::from_ref(&receipt),
            &[
                envelope(2, &request, "0.9.0"),
                envelope(3, &pick, "0.2.0"),
                relabelled,
            ],
            Some(("server_seq", "4")),
        )
        .expect("applied");
    assert_eq!(store.n_unread().expect("n"), 3);
    assert_eq!(
        store.cursor("server_seq").expect("cursor").as_deref(),
        Some("4")
    );
    assert_eq!(store.on_hand(&shelf).expect("on hand"), 10);
    assert_eq!(
        store.needs_update(&shelf).expect("mark").as_deref(),
        Some("0.10.0"),
        "the highest version, compared as numbers"
    );
    assert_eq!(
        store.needs_update(&other).expect("mark").as_deref(),
        Some("0.2.0")
    );
    assert_eq!(store.needs_update(&key(3, 1, None)).expect("mark"), None);
    // The same page again (a retried pull) keeps each envelope once.
    store
        .apply_pulled(&[], &[envelope(3, &pick, "0.2.0")], None)
        .expect("again");
    assert_eq!(store.n_unread().expect("n"), 3);

    // A build that reads count requests but not picks applies only the request.
    let applied = store
        .apply_unread(&|kind| kind == "count_requested")
        .expect("applied");
    assert_eq!(
        applied,
        AppliedUnread {
            n_applied: 1,
            n_left: 2
        }
    );
    assert_eq!(store.open_tasks().expect("tasks").len(), 1);
    // Every kind it knows: the pick too; the unknown kind stays, and so does its mark.
    let applied = store.apply_unread(&|_| true).expect("applied");
    assert_eq!(
        applied,
        AppliedUnread {
            n_applied: 1,
            n_left: 1
        }
    );
    assert_eq!(store.on_hand(&other).expect("on hand"), -1);
    assert_eq!(store.needs_update(&other).expect("mark"), None);
    assert_eq!(
        store.needs_update(&shelf).expect("mark").as_deref(),
        Some("0.10.0")
    );
    assert_eq!(store.event_count().expect("events"), 3);
    let report = store.rebuild_projection().expect("rebuild");
    assert!(report.differences.is_empty(), "{:?}", report.differences);
}
