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
        ErpMessageBody::GoodsReceived(_) => None,
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
            ("stock.adjusted", Some((6, 1))),
        ],
        "one message per receipt, adjustment and approved variance, in the log's order"
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
    assert!(feed(backend, tenant, messages[3].position, 100).is_empty());

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
    assert_eq!(feed(backend, tenant, 0, 100).len(), 4);
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
