//! Wrong-PIN lockouts (issue 12 §3): five wrong PINs lock a badge on the device, the lock
//! grows, and closing the store does not reset it.

use crate::{profile, store_key};
use aisle_store::lockout::{WrongPin, FIRST_LOCK_MS, MAX_WRONG_PINS};
use aisle_store::pin::{PinCost, PinHash, PinPolicy};
use aisle_store::Store;

#[test]
fn five_wrong_pins_lock_the_badge_and_the_lock_survives_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = profile().database_path(dir.path());
    let now_ms = 1_000_000;
    {
        let mut store = Store::open(&path, profile(), &store_key()).expect("open");
        for n in 1..MAX_WRONG_PINS {
            assert_eq!(
                store.note_wrong_pin("B-7", now_ms).expect("note"),
                WrongPin::TriesLeft(MAX_WRONG_PINS - n),
                "wrong PIN {n} only counts"
            );
        }
        assert_eq!(store.badge_locked_until("B-7", now_ms).expect("read"), None);
    }
    // A restart between the fourth and fifth wrong PIN does not reset the count.
    let mut store = Store::open(&path, profile(), &store_key()).expect("reopen");
    assert_eq!(
        store.note_wrong_pin("B-7", now_ms).expect("note"),
        WrongPin::Locked {
            failures: MAX_WRONG_PINS,
            until_ms: now_ms + FIRST_LOCK_MS
        },
        "the fifth wrong PIN in a row locks for 30 s"
    );
    drop(store);
    let mut store = Store::open(&path, profile(), &store_key()).expect("reopen");
    assert_eq!(
        store.badge_locked_until("B-7", now_ms + 1).expect("read"),
        Some(now_ms + FIRST_LOCK_MS),
        "the lock is in the file, not in memory"
    );
    assert_eq!(
        store.badge_locked_until("B-8", now_ms + 1).expect("read"),
        None,
        "other badges are not locked"
    );
    let after_ms = now_ms + FIRST_LOCK_MS;
    assert_eq!(
        store.badge_locked_until("B-7", after_ms).expect("read"),
        None
    );
    for _ in 1..MAX_WRONG_PINS {
        store.note_wrong_pin("B-7", after_ms).expect("note");
    }
    assert_eq!(
        store.note_wrong_pin("B-7", after_ms).expect("note"),
        WrongPin::Locked {
            failures: MAX_WRONG_PINS,
            until_ms: after_ms + 2 * FIRST_LOCK_MS
        },
        "the second lock lasts twice as long"
    );
    store.clear_wrong_pins("B-7").expect("clear");
    assert_eq!(
        store.badge_locked_until("B-7", after_ms).expect("read"),
        None
    );
}

#[test]
fn new_hashes_carry_the_cost_in_force_and_the_policy_is_kept() {
    let hash = PinHash::new("123456").expect("hash");
    assert_eq!(hash.cost(), Some(PinCost::in_force()));
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(
        &profile().database_path(dir.path()),
        profile(),
        &store_key(),
    )
    .expect("open");
    assert_eq!(store.pin_policy().expect("read"), PinPolicy::DEFAULT);
    let policy = PinPolicy::new(5, 8).expect("policy");
    store.set_pin_policy(policy).expect("write");
    assert_eq!(store.pin_policy().expect("read"), policy);
}
