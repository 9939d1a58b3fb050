//! A device on SQLite verifies the checksum a server on PostgreSQL sends: for the same random
//! events in the same arrival order, the two backends hold the same stock rows (the
//! reference's) and give the same checksum, page by page.

#![cfg(feature = "pg")]

use crate::backend::postgres::PgBackend;
use crate::backend::sqlite::SqliteBackend;
use crate::backend::Backend;
use crate::scenario::random_log;
use aisle_core::stock::reference;
use aisle_core::Event;
use proptest::prelude::*;

proptest! {
    // Each case creates a PostgreSQL database; the rules themselves are searched far wider
    // in aisle-core's property tests.
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn the_same_events_give_the_same_rows_and_checksums_on_both(log in random_log(), split in 0usize..40, page in 1usize..8) {
        let mut sqlite = SqliteBackend::new();
        let mut postgres = PgBackend::new();
        // Newest first, in two transactions, then everything again as duplicates.
        let arrival: Vec<&Event> = log.iter().rev().collect();
        let (first, second) = arrival.split_at(split.min(arrival.len()));
        for backend in [&mut sqlite as &mut dyn Backend, &mut postgres] {
            backend.ingest(first);
            backend.ingest(second);
            backend.ingest(&arrival);
        }
        let rows = sqlite.stock_rows();
        prop_assert_eq!(&rows, &postgres.stock_rows(), "stock rows, key by key");
        prop_assert_eq!(sqlite.snapshot(), postgres.snapshot());
        prop_assert_eq!(sqlite.snapshot(), reference::evaluate(&log));
        for events in log.chunks(page) {
            prop_assert_eq!(sqlite.page_checksum(events), postgres.page_checksum(events));
        }
    }

    #[test]
    fn keys_read_ahead_for_events_never_applied_leave_no_row(log in random_log(), applied in 0usize..40) {
        let mut sqlite = SqliteBackend::new();
        let mut postgres = PgBackend::new();
        // The whole log is read ahead, but only its first events are applied: the keys
        // created ahead for the rest must be gone at commit.
        let all: Vec<&Event> = log.iter().collect();
        let first = &all[..applied.min(all.len())];
        sqlite.ingest(first);
        postgres.ingest_with_read_ahead(&all, first);
        prop_assert_eq!(sqlite.stock_rows(), postgres.stock_rows(), "stock rows, key by key");
        prop_assert_eq!(sqlite.snapshot(), postgres.snapshot());
        // And the keys they do create later are created then, as if never read ahead.
        let rest = &all[first.len()..];
        sqlite.ingest(rest);
        postgres.ingest(rest);
        prop_assert_eq!(sqlite.stock_rows(), postgres.stock_rows(), "stock rows after the rest");
        prop_assert_eq!(postgres.snapshot(), reference::evaluate(&log));
    }
}
