//! Wrong PINs lock a badge on the PC, and the tenant's PIN minimum holds for managers
//! (issue 12 §3).

use crate::{site, store_key, MANAGER_PIN, NOW, PICKER_PIN};
use aisle_app::views::HistoryArgs;
use aisle_app::Floor;
use aisle_store::pin::PinPolicy;

#[test]
fn five_wrong_pins_lock_the_badge_for_30_s_across_a_restart_and_managers_see_it() {
    let mut site = site();
    for n in 1..5 {
        let error = site
            .floor
            .sign_in("U-0042", "0000", NOW)
            .expect_err("wrong pin");
        assert_eq!(error.code(), "bad_pin", "wrong PIN {n} is only wrong");
    }
    let locked = site
        .floor
        .sign_in("U-0042", "0000", NOW)
        .expect_err("fifth wrong pin");
    assert_eq!(locked.code(), "badge_locked", "the fifth wrong PIN locks");
    assert!(
        locked.to_string().contains("30 seconds"),
        "the message says how long: {locked}"
    );

    // Closing the app and opening it again does not lift the lock, even for the right PIN.
    let path = site.floor.store().path().to_owned();
    let profile = site.floor.profile();
    let device = site.floor.device();
    site.floor = Floor::open(&path, profile, &store_key(), device).expect("reopen");
    let still = site
        .floor
        .sign_in("U-0042", PICKER_PIN, NOW + 10_000)
        .expect_err("still locked");
    assert_eq!(still.code(), "badge_locked");
    assert!(still.to_string().contains("20 seconds"), "{still}");
    site.floor
        .sign_in("U-0042", PICKER_PIN, NOW + 30_000)
        .expect("the lock is over after 30 s");

    // The lock is an event in the log, which a manager sees in the history.
    site.floor.sign_out();
    site.floor
        .sign_in("U-0001", MANAGER_PIN, NOW + 31_000)
        .expect("manager");
    let page = site
        .floor
        .history(
            &HistoryArgs {
                item: None,
                location: None,
                user: None,
                device: None,
                page: None,
            },
            NOW + 31_000,
        )
        .expect("history");
    let lock = page
        .entries
        .iter()
        .find(|entry| entry.kind == "badge_locked")
        .expect("the lock is in the history");
    assert_eq!(lock.device, device.to_string(), "on this PC");
    assert_eq!(lock.hlc_ms, NOW, "at the time of the fifth wrong PIN");
    assert!(
        lock.summary.contains("U-0042") && lock.summary.contains("5 wrong PINs"),
        "{}",
        lock.summary
    );
}

#[test]
fn a_manager_pin_shorter_than_the_tenant_minimum_is_refused_with_its_own_code() {
    let mut site = site();
    // The tenant raises the managers' minimum above the 6 digits of MANAGER_PIN.
    site.floor
        .store()
        .set_pin_policy(PinPolicy::new(4, 8).expect("policy"))
        .expect("policy");
    let error = site
        .floor
        .sign_in("U-0001", MANAGER_PIN, NOW)
        .expect_err("too short for a manager");
    assert_eq!(error.code(), "pin_too_short");
    assert!(error.to_string().contains("ask IT"), "{error}");
    site.floor
        .sign_in("U-0042", PICKER_PIN, NOW)
        .expect("a picker's 4 digits are enough");
}
