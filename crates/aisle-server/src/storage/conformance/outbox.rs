//! The ERP outbox's conformance bodies (issue 16): the messages a push derives are written
//! in its own transaction, once, in order, and read back through the feed alike on every
//! backend; a push that fails leaves neither its events nor its messages.

use super::{context, event, pull_all, Backend};
use crate::auth::IntegrationContext;
use aisle_core::event::{CountDecision, ReviewDecision};
use aisle_core::testkit::{self, counted, key, received};
use aisle_protocol::{ErpMessageBody, FeedEntry};

fn feed(
    backend: &dyn Backend,
    tenant: aisle_core::ids::TenantId,
    after: u64,
    limit: u32,
) -> Vec<FeedEntry> {
    backend
        .storage()
        .erp_feed(&IntegrationContext::for_test(tenant), after, limit)
        .expect("feed")
}

/// A message's type and, for `stock.adjusted`, its before and after.
fn summary(entry: &FeedEntry) -> (&'static str, Option<(i64, i64)>) {
    let data = match &entry.message.body {
        ErpMessageBody::StockAdjusted(data) => Some((data.before, data.after)),
        ErpMessageBody::GoodsReceived(_)
        | ErpMessageBody::PickListCompleted(_)
        | ErpMessageBody::PickListCancelled(_)
        | ErpMessageBody::DiscrepancyOpened(_)
        | ErpMessageBody::DiscrepancyClosed(_) => None,
    };
    (entry.message.body.message_type(), data)
}

pub(crate) fn the_outbox_holds_each_pushs_messages_once_in_order(backend: &dyn Backend) {
    let storage = backend.storage();
    let tenant = backend.add_tenant();
    let context = context(tenant);
    let bin = key(1, 1, None);
    let pending = event(tenant, 5, counted(&bin, 1, 6, CountDecision::NeedsReview));
    let batch = vec![
        event(tenant, 1, received(&bin, 10)),
        event(tenant, 2, testkit::adjusted(&bin, -3)),
        event(tenant, 3, counted(&bin, 6, 7, CountDecision::SelfApproved)),
        pending.clone(),
        event(
            tenant,
            6,
            testkit::reviewed(pending.id, ReviewDecision::Approved),
        ),
    ];
    storage.push(&context, &batch, super::NOW_MS).expect("push");
    let messages = feed(backend, tenant, 0, 100);
    assert_eq!(
        messages.iter().map(summary).collect::<Vec<_>>(),
        [
            ("goods.received", None),
            ("stock.adjusted", Some((10, 7))),
            ("stock.adjusted", Some((7, 6))),
            ("discrepancy.opened", None),
            ("stock.adjusted", Some((6, 1))),
            ("discrepancy.closed", None),
        ],
        "one message per receipt, adjustment and approved variance, and the count variance \
         the review settled opening and closing, in the log's order"
    );
    assert!(
        messages
            .windows(2)
            .all(|pair| pair[0].position < pair[1].position),
        "positions increase"
    );
    assert!(
        messages.iter().all(|entry| entry.message.tenant == tenant),
        "the tenant on every row"
    );

    // The same batch again: every event a duplicate, no message added.
    storage
        .push(&context, &batch, super::NOW_MS)
        .expect("push again");
    // A second approving review of the same count: the same message, kept once.
    let again = event(
        tenant,
        7,
        testkit::reviewed(pending.id, ReviewDecision::Approved),
    );
    storage
        .push(&context, &[again], super::NOW_MS)
        .expect("push review");
    assert_eq!(
        feed(backend, tenant, 0, 100),
        messages,
        "nothing derived twice"
    );

    // The cursor pages through in order.
    let page = feed(backend, tenant, messages[1].position, 1);
    assert_eq!(page, messages[2..3], "after the second, one at a time");
    assert!(feed(backend, tenant, messages[5].position, 100).is_empty());

    // Another tenant's feed is its own.
    let other = backend.add_tenant();
    storage
        .push(
            &super::context(other),
            &[event(other, 1, received(&bin, 1))],
            super::NOW_MS,
        )
        .expect("push");
    assert_eq!(feed(backend, other, 0, 100).len(), 1);
    assert_eq!(feed(backend, tenant, 0, 100).len(), 6);
}

pub(crate) fn a_push_that_fails_leaves_neither_its_events_nor_its_messages(backend: &dyn Backend) {
    let storage = backend.storage();
    let tenant = backend.add_tenant();
    let context = context(tenant);
    let bin = key(1, 1, None);
    storage
        .push(
            &context,
            &[event(tenant, 1, received(&bin, 10))],
            super::NOW_MS,
        )
        .expect("the first push makes the database");
    // The outbox now refuses `stock.adjusted` rows: the push's last write fails.
    backend.refuse_outbox_type(tenant, "stock.adjusted");
    let failing = [
        event(tenant, 2, received(&bin, 5)),
        event(tenant, 3, testkit::adjusted(&bin, -1)),
    ];
    assert!(
        storage.push(&context, &failing, super::NOW_MS).is_err(),
        "the outbox write fails the push"
    );
    assert_eq!(
        pull_all(storage, &context, 100).len(),
        1,
        "the failed push's events were rolled back with its messages"
    );
    let messages = feed(backend, tenant, 0, 100);
    assert_eq!(
        messages.iter().map(summary).collect::<Vec<_>>(),
        [("goods.received", None)],
        "only the first push's message"
    );
}

/// `discrepancy.opened` when the rules open one, with its details; nothing while it stays
/// open (a refresh, in a later push); `discrepancy.closed` with the event that closed it;
/// and a new episode (opened again) is a new message.
pub(crate) fn discrepancies_opening_and_closing_reach_the_outbox(backend: &dyn Backend) {
    let storage = backend.storage();
    let tenant = backend.add_tenant();
    let context = context(tenant);
    let bin = key(1, 1, None);
    let push = |serial: u64, body| {
        let pushed = event(tenant, serial, body);
        storage
            .push(&context, std::slice::from_ref(&pushed), super::NOW_MS)
            .expect("push");
        pushed
    };
    let discrepancy_messages = |after: u64| -> Vec<(String, String, String)> {
        feed(backend, tenant, after, 100)
            .into_iter()
            .filter_map(|entry| match entry.message.body {
                ErpMessageBody::DiscrepancyOpened(data) => Some((
                    "opened".to_owned(),
                    data.discrepancy,
                    data.event.to_string(),
                )),
                ErpMessageBody::DiscrepancyClosed(data) => Some((
                    "closed".to_owned(),
                    data.discrepancy,
                    data.event.to_string(),
                )),
                _ => None,
            })
            .collect()
    };
    push(1, received(&bin, 2));
    let short = push(2, testkit::picked(&bin, 5));
    let opened = feed(backend, tenant, 0, 100)
        .into_iter()
        .find_map(|entry| match entry.message.body {
            ErpMessageBody::DiscrepancyOpened(data) => Some(data),
            _ => None,
        })
        .expect("picking 5 of 2 opens negative stock");
    assert_eq!(opened.kind, "negative_stock");
    assert!(
        opened.discrepancy.starts_with("negative_stock/"),
        "{opened:?}"
    );
    assert_eq!(opened.event, short.id);
    assert_eq!(
        opened.details["type"], "negative_stock",
        "{:?}",
        opened.details
    );
    assert_eq!(opened.details["on_hand"], -3, "{:?}", opened.details);

    // Still negative: the discrepancy is refreshed, and the ERP hears nothing new.
    push(3, testkit::picked(&bin, 1));
    assert_eq!(
        discrepancy_messages(0).len(),
        1,
        "{:?}",
        discrepancy_messages(0)
    );

    // A count puts it right: closed, by the count.
    let count = push(4, counted(&bin, 4, -4, CountDecision::SelfApproved));
    let id = opened.discrepancy.clone();
    assert_eq!(
        discrepancy_messages(0),
        [
            ("opened".to_owned(), id.clone(), short.id.to_string()),
            ("closed".to_owned(), id.clone(), count.id.to_string()),
        ]
    );

    // Negative again later: a new episode, a new message.
    let again = push(5, testkit::picked(&bin, 9));
    let all = feed(backend, tenant, 0, 100);
    assert_eq!(
        discrepancy_messages(0).last(),
        Some(&("opened".to_owned(), id, again.id.to_string()))
    );
    let ids: std::collections::BTreeSet<_> = all.iter().map(|entry| entry.message.id).collect();
    assert_eq!(ids.len(), all.len(), "every message has its own id");
}

/// `pick_list.completed` once the last line of a master pick list is finished, picked in
/// full or the rest reported short, with the picked and short quantities and the reasons
/// per line; nothing before; and a late pick from an offline PC after it adds nothing.
pub(crate) fn a_finished_pick_list_is_completed_once_with_its_picks_and_shorts(
    backend: &dyn Backend,
) {
    use aisle_core::event::{PickLineRef, ShortReason};
    use aisle_core::stock::StockKey;
    let storage = backend.storage();
    let tenant = backend.add_tenant();
    let context = context(tenant);
    let (list, a, b) = pick_list_pl_1(backend, tenant);
    let pick = |key: &StockKey, line: u32, line_qty: i64, qty: i64| {
        testkit::picked_on_line(key, qty, list.id, line, line_qty)
    };
    let short = |key: &StockKey, qty_short: i64| aisle_core::event::EventBody::ShortPicked {
        pick_line: PickLineRef {
            pick_list: list.id,
            line: 2,
            line_qty: 2,
        },
        location: key.location,
        item: key.item,
        lot: None,
        qty_short,
        reason: ShortReason::Damaged,
    };
    let completed = || -> Vec<aisle_protocol::PickListCompleted> {
        feed(backend, tenant, 0, 1_000)
            .into_iter()
            .filter_map(|entry| match entry.message.body {
                ErpMessageBody::PickListCompleted(data) => Some(data),
                _ => None,
            })
            .collect()
    };
    let push = |events: &[aisle_core::Event]| {
        storage.push(&context, events, super::NOW_MS).expect("push");
    };
    push(&[
        event(tenant, 1, received(&a, 10)),
        event(tenant, 2, received(&b, 10)),
        event(tenant, 3, pick(&a, 1, 3, 2)),
    ]);
    push(&[event(tenant, 4, pick(&a, 1, 3, 1))]);
    push(&[event(tenant, 5, pick(&b, 2, 2, 1))]);
    assert!(completed().is_empty(), "line 2 is not finished yet");

    let last = event(tenant, 6, short(&b, 1));
    push(std::slice::from_ref(&last));
    let messages = completed();
    assert_eq!(messages.len(), 1, "{messages:?}");
    let message = &messages[0];
    assert_eq!(message.pick_list, list.id);
    assert_eq!(message.reference, "PL-1");
    assert_eq!(message.event, last.id, "the short finished the list");
    let lines: Vec<_> = message
        .lines
        .iter()
        .map(|line| {
            (
                line.line,
                line.quantity,
                line.picked,
                line.short,
                line.short_reasons.clone(),
            )
        })
        .collect();
    assert_eq!(
        lines,
        [
            (1, 3, 3, 0, Vec::new()),
            (2, 2, 1, 1, vec!["damaged".to_owned()]),
        ]
    );
    assert_eq!(
        (message.lines[1].item, message.lines[1].location),
        (b.item, b.location)
    );

    // The offline PC's late pick of the shorted unit: the list was completed already.
    push(&[event(tenant, 7, pick(&b, 2, 2, 1))]);
    assert_eq!(completed().len(), 1, "completed once");
}

/// The tenant's items SKU-A and SKU-B at A-1 and B-1, and the pick list PL-1: line 1, 3 x
/// SKU-A at A-1; line 2, 2 x SKU-B at B-1. The list as master data has it, and the two keys.
fn pick_list_pl_1(
    backend: &dyn Backend,
    tenant: aisle_core::ids::TenantId,
) -> (
    aisle_protocol::MasterPickList,
    aisle_core::stock::StockKey,
    aisle_core::stock::StockKey,
) {
    use crate::master::{NewItem, NewLocation, NewPickLine, NewPickList, PickStatus};
    use aisle_core::stock::StockKey;
    let storage = backend.storage();
    let context = context(tenant);
    let erp = IntegrationContext::<crate::auth::MasterWrite>::for_test(tenant);
    let warehouse = testkit::warehouse();
    let item = |sku: &str| NewItem {
        sku: sku.to_owned(),
        name: sku.to_owned(),
        base_unit: "each".to_owned(),
        lot_tracked: false,
        barcodes: Vec::new(),
    };
    let location = |code: &str| NewLocation {
        warehouse,
        code: code.to_owned(),
        name: code.to_owned(),
        walk_order: 1,
    };
    let line = |line: u32, sku: &str, location: &str, qty: i64| NewPickLine {
        line,
        sku: sku.to_owned(),
        location: location.to_owned(),
        lot: None,
        qty,
    };
    storage
        .upsert_items(&erp, &[item("SKU-A"), item("SKU-B")], super::NOW_MS)
        .expect("items")
        .expect("accepted");
    storage
        .upsert_locations(&erp, &[location("A-1"), location("B-1")], super::NOW_MS)
        .expect("locations")
        .expect("accepted");
    storage
        .upsert_pick_lists(
            &erp,
            &[NewPickList {
                warehouse,
                reference: "PL-1".to_owned(),
                status: PickStatus::Open,
                lines: vec![line(1, "SKU-A", "A-1", 3), line(2, "SKU-B", "B-1", 2)],
            }],
            super::NOW_MS,
        )
        .expect("pick list")
        .expect("accepted");
    let master = storage.master_changes(&context, 0, 100).expect("master");
    let list = master.pick_lists[0].clone();
    let key_of = |n: usize| StockKey {
        warehouse,
        location: list.lines[n].location,
        item: list.lines[n].item,
        lot: None,
    };
    (list.clone(), key_of(0), key_of(1))
}

/// The ERP cancels PL-1 after 2 units of line 1 were picked: the server logs its
/// `pick_list_cancelled` once (a second request writes nothing), the list's master record
/// says `cancelled`, a device cannot record a cancellation, a pick made offline before the
/// cancellation adds to what must go back, the list is never `pick_list.completed`, and
/// `pick_list.cancelled` comes once, with the put-backs, when the last unit is back. A list
/// with nothing picked is settled at once; a finished one is refused; an unknown one too.
pub(crate) fn a_cancelled_pick_list_is_settled_by_its_put_backs(backend: &dyn Backend) {
    use crate::master::{NewPickLine, NewPickList, PickStatus};
    use crate::storage::Cancellation;
    use aisle_core::event::EventBody;
    let storage = backend.storage();
    let tenant = backend.add_tenant();
    let context = context(tenant);
    let erp = IntegrationContext::<crate::auth::MasterWrite>::for_test(tenant);
    let (list, a, b) = pick_list_pl_1(backend, tenant);
    let push =
        |events: &[aisle_core::Event]| storage.push(&context, events, super::NOW_MS).expect("push");
    let pick = |serial: u64, qty: i64| {
        event(
            tenant,
            serial,
            testkit::picked_on_line(&a, qty, list.id, 1, 3),
        )
    };
    let put_back = |serial: u64, qty: i64| {
        event(
            tenant,
            serial,
            EventBody::PutBack {
                pick_list: list.id,
                line: 1,
                location: b.location,
                item: a.item,
                lot: None,
                qty,
            },
        )
    };
    let cancelled = || -> Vec<aisle_protocol::PickListCancelled> {
        feed(backend, tenant, 0, 1_000)
            .into_iter()
            .filter_map(|entry| match entry.message.body {
                ErpMessageBody::PickListCancelled(data) => Some(data),
                _ => None,
            })
            .collect()
    };
    let offline_pick = pick(4, 1);
    push(&[
        event(tenant, 1, received(&a, 10)),
        event(tenant, 2, received(&b, 10)),
        pick(3, 2),
    ]);

    let cancel = |reference: &str| {
        storage
            .cancel_pick_list(&erp, reference, None, super::NOW_MS + 1_000)
            .expect("cancel")
    };
    let Cancellation::Cancelled {
        pick_list,
        event: cancellation,
        seq,
        already: false,
        ..
    } = cancel("PL-1")
    else {
        panic!("PL-1 is cancelled");
    };
    assert_eq!(pick_list, list.id);
    assert_eq!(
        cancel("PL-1"),
        Cancellation::Cancelled {
            pick_list,
            warehouse: testkit::warehouse(),
            event: cancellation,
            seq,
            already: true,
        },
        "cancelling again answers as the first time"
    );
    let pulled = storage.pull(&context, 0, 100).expect("pull");
    let logged: Vec<_> = pulled
        .events
        .iter()
        .filter(|pulled| pulled.event.get().contains(&cancellation.to_string()))
        .collect();
    assert_eq!(logged.len(), 1, "devices pull the cancellation, once");
    let master = storage.master_changes(&context, 0, 100).expect("master");
    assert_eq!(master.pick_lists[0].status, "cancelled");
    let forged = aisle_core::Event::pick_list_cancelled(
        tenant,
        testkit::warehouse(),
        testkit::pick_list(9),
        aisle_core::Hlc::new(super::NOW_MS as u64, 0),
    );
    assert_eq!(
        push(&[forged])[0].reason.as_deref(),
        Some("server_only"),
        "only the server records a cancellation"
    );
    assert!(cancelled().is_empty(), "2 units are still to go back");

    // A pick made offline before the PC heard of it, synced now, and one that finishes
    // line 1: the list is not completed, and 3 units must go back.
    push(&[offline_pick]);
    push(&[put_back(5, 2)]);
    assert!(cancelled().is_empty(), "1 unit is still to go back");
    push(&[put_back(6, 1)]);
    let messages = cancelled();
    assert_eq!(messages.len(), 1, "{messages:?}");
    let message = &messages[0];
    assert_eq!(
        (message.reference.as_str(), message.cancellation),
        ("PL-1", Some(cancellation))
    );
    let lines: Vec<_> = message
        .lines
        .iter()
        .map(|line| {
            (
                line.line,
                line.picked,
                line.put_back.iter().map(|put| put.qty).collect::<Vec<_>>(),
            )
        })
        .collect();
    assert_eq!(lines, [(1, 3, vec![2, 1]), (2, 0, vec![])]);
    assert_eq!(
        message.lines[0].put_back[0].location, b.location,
        "where it went back"
    );
    push(&[put_back(7, 1)]);
    assert_eq!(
        cancelled().len(),
        1,
        "settled once: an extra put-back sends nothing"
    );
    let completed = feed(backend, tenant, 0, 1_000)
        .iter()
        .filter(|entry| matches!(entry.message.body, ErpMessageBody::PickListCompleted(_)))
        .count();
    assert_eq!(completed, 0, "a cancelled list is never completed");

    // PL-2, nothing picked: settled at once. PL-3, picked in full: refused.
    let one_line = |reference: &str| NewPickList {
        warehouse: testkit::warehouse(),
        reference: reference.to_owned(),
        status: PickStatus::Open,
        lines: vec![NewPickLine {
            line: 1,
            sku: "SKU-A".to_owned(),
            location: "A-1".to_owned(),
            lot: None,
            qty: 1,
        }],
    };
    storage
        .upsert_pick_lists(&erp, &[one_line("PL-2"), one_line("PL-3")], super::NOW_MS)
        .expect("pick lists")
        .expect("accepted");
    let lists = storage.master_changes(&context, 0, 100).expect("master");
    let pl_3 = lists
        .pick_lists
        .iter()
        .find(|list| list.reference == "PL-3")
        .expect("PL-3");
    push(&[event(
        tenant,
        8,
        testkit::picked_on_line(&a, 1, pl_3.id, 1, 1),
    )]);
    assert!(matches!(cancel("PL-2"), Cancellation::Cancelled { .. }));
    let messages = cancelled();
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert_eq!(messages[1].reference, "PL-2");
    assert_eq!(messages[1].lines[0].picked, 0);
    assert_eq!(cancel("PL-3"), Cancellation::Complete);
    assert_eq!(cancel("PL-404"), Cancellation::Unknown);
}

/// The ERP's expected receipt ASN-1 (line 1: 10 x SKU-A; line 2: 4 x SKU-B) reaches devices
/// with master data, and each `goods.received` against it carries expected against received
/// per line so far: an under-receipt, then an over-receipt, and an item it did not announce.
/// A receipt against a reference the server does not know says so; a plain one carries none.
pub(crate) fn goods_received_against_an_expected_receipt_says_what_is_still_expected(
    backend: &dyn Backend,
) {
    use crate::master::{NewExpectedLine, NewExpectedReceipt};
    let storage = backend.storage();
    let tenant = backend.add_tenant();
    let context = context(tenant);
    let erp = IntegrationContext::<crate::auth::MasterWrite>::for_test(tenant);
    let (_, a, b) = pick_list_pl_1(backend, tenant);
    let line = |line: u32, sku: &str, qty: i64| NewExpectedLine {
        line,
        sku: sku.to_owned(),
        lot: None,
        qty,
    };
    storage
        .upsert_expected_receipts(
            &erp,
            &[NewExpectedReceipt {
                warehouse: testkit::warehouse(),
                reference: "ASN-1".to_owned(),
                supplier: "Bolt & Co".to_owned(),
                closed: false,
                lines: vec![line(1, "SKU-A", 10), line(2, "SKU-B", 4)],
            }],
            super::NOW_MS,
        )
        .expect("expected receipts")
        .expect("accepted");
    let master = storage.master_changes(&context, 0, 100).expect("master");
    assert_eq!(master.expected_receipts.len(), 1, "devices pull it");
    let asn = &master.expected_receipts[0];
    assert_eq!(
        (
            asn.reference.as_str(),
            asn.supplier.as_str(),
            asn.status.as_str()
        ),
        ("ASN-1", "Bolt & Co", "open")
    );
    assert_eq!(
        asn.lines
            .iter()
            .map(|line| (line.item, line.qty))
            .collect::<Vec<_>>(),
        [(a.item, 10), (b.item, 4)]
    );
    let against = |serial: u64, key: &aisle_core::stock::StockKey, qty: i64, reference: &str| {
        let mut body = received(key, qty);
        if let aisle_core::event::EventBody::Received { receipt, .. } = &mut body {
            *receipt = Some(reference.to_owned());
        }
        event(tenant, serial, body)
    };
    let other = aisle_core::stock::StockKey {
        item: testkit::item(99),
        ..a.clone()
    };
    storage
        .push(
            &context,
            &[
                against(1, &a, 6, "ASN-1"),
                against(2, &b, 5, "ASN-1"),
                against(3, &other, 1, "ASN-1"),
                against(4, &a, 2, "ASN-404"),
                event(tenant, 5, received(&a, 3)),
            ],
            super::NOW_MS,
        )
        .expect("push");
    let receipts: Vec<aisle_protocol::GoodsReceived> = feed(backend, tenant, 0, 1_000)
        .into_iter()
        .filter_map(|entry| match entry.message.body {
            ErpMessageBody::GoodsReceived(data) => Some(data),
            _ => None,
        })
        .collect();
    assert_eq!(receipts.len(), 5, "{receipts:?}");
    let lines = |n: usize| -> Vec<(u32, i64, i64, i64)> {
        receipts[n]
            .receipt
            .as_ref()
            .expect("against a receipt")
            .lines
            .iter()
            .map(|line| (line.line, line.expected, line.received, line.difference))
            .collect()
    };
    assert_eq!(
        lines(0),
        [(1, 10, 6, -4), (2, 4, 0, -4)],
        "after the first scan"
    );
    assert_eq!(lines(1), [(1, 10, 6, -4), (2, 4, 5, 1)], "SKU-B over by 1");
    let third = receipts[2].receipt.as_ref().expect("against a receipt");
    assert_eq!(
        third
            .unexpected
            .iter()
            .map(|extra| (extra.item, extra.received))
            .collect::<Vec<_>>(),
        [(other.item, 1)],
        "an item the ERP did not announce"
    );
    let unknown = receipts[3].receipt.as_ref().expect("names a reference");
    assert!(!unknown.known && unknown.lines.is_empty(), "{unknown:?}");
    assert_eq!(unknown.reference, "ASN-404");
    assert_eq!(receipts[4].receipt, None, "a plain receipt");
    // A later push counts what the log holds against the receipt, not only its own events.
    storage
        .push(&context, &[against(6, &a, 4, "ASN-1")], super::NOW_MS)
        .expect("a later push");
    let later = feed(backend, tenant, 0, 1_000)
        .into_iter()
        .rev()
        .find_map(|entry| match entry.message.body {
            ErpMessageBody::GoodsReceived(data) => data.receipt,
            _ => None,
        })
        .expect("the later receipt's message");
    assert_eq!(
        later
            .lines
            .iter()
            .map(|line| (line.line, line.expected, line.received, line.difference))
            .collect::<Vec<_>>(),
        [(1, 10, 10, 0), (2, 4, 5, 1)],
        "6 + 4 of SKU-A against 10 expected; the plain receipt and ASN-404's do not count"
    );
}
