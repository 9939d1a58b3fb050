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
                ErpMessageBody::DiscrepancyOpened(data) => {
                    Some(("opened".to_owned(), data.discrepancy, data.event.to_string()))
                }
                ErpMessageBody::DiscrepancyClosed(data) => {
                    Some(("closed".to_owned(), data.discrepancy, data.event.to_string()))
                }
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
    assert!(opened.discrepancy.starts_with("negative_stock/"), "{opened:?}");
    assert_eq!(opened.event, short.id);
    assert_eq!(opened.details["type"], "negative_stock", "{:?}", opened.details);
    assert_eq!(opened.details["on_hand"], -3, "{:?}", opened.details);

    // Still negative: the discrepancy is refreshed, and the ERP hears nothing new.
    push(3, testkit::picked(&bin, 1));
    assert_eq!(discrepancy_messages(0).len(), 1, "{:?}", discrepancy_messages(0));

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
