//! The idle timeout: a saved setting of the profile that managers change and the floor
//! enforces, counted from the last activity (looking at the session is not activity).

use crate::{site, MANAGER_PIN, NOW, PICKER_PIN};
use aisle_app::{Floor, IdleTimeout};

const MINUTE_MS: u64 = 60 * 1000;

fn minutes(n: u32) -> IdleTimeout {
    IdleTimeout::from_minutes(n).expect("a timeout inside the bounds")
}

#[test]
fn the_idle_timeout_is_a_saved_profile_setting_that_only_managers_change() {
    let mut site = site();
    assert_eq!(
        site.floor.idle_timeout(),
        IdleTimeout::DEFAULT,
        "a new profile starts with the default"
    );

    site.floor
        .sign_in("U-0042", PICKER_PIN, NOW)
        .expect("picker signs in");
    let refused = site
        .floor
        .set_idle_timeout(minutes(30), NOW + 1)
        .expect_err("a picker may not change it");
    assert_eq!(refused.code(), "forbidden");
    assert_eq!(site.floor.idle_timeout(), IdleTimeout::DEFAULT);

    site.floor.sign_out();
    let anonymous = site
        .floor
        .set_idle_timeout(minutes(30), NOW + 2)
        .expect_err("nobody signed in");
    assert_eq!(anonymous.code(), "not_signed_in");

    site.floor
        .sign_in("U-0001", MANAGER_PIN, NOW + 3)
        .expect("manager signs in");
    let saved = site
        .floor
        .set_idle_timeout(minutes(30), NOW + 4)
        .expect("a manager may");
    assert_eq!(saved.minutes(), 30);

    // The setting is the profile's: a floor opened later over the same store has it.
    let profile = site.floor.profile();
    let path = profile.database_path(site._dir.path());
    let reopened =
        Floor::open(&path, profile, &crate::store_key(), site.floor.device()).expect("reopen");
    assert_eq!(
        reopened.idle_timeout().minutes(),
        30,
        "the timeout must survive a restart of the app"
    );
}

#[test]
fn a_session_ends_once_idle_for_the_timeout_counted_from_the_last_activity() {
    let mut site = site();
    site.floor
        .sign_in("U-0001", MANAGER_PIN, NOW)
        .expect("manager signs in");
    site.floor
        .set_idle_timeout(minutes(1), NOW)
        .expect("set 1 minute");
    let floor = &mut site.floor;

    assert!(
        floor.note_activity(NOW + 50_000).is_some(),
        "activity within the timeout keeps the session"
    );
    // Asking who is signed in, as the UI's status checks do, must not keep a session
    // alive by itself.
    assert!(floor.current_user(NOW + 50_000 + MINUTE_MS).is_some());
    assert!(
        floor.current_user(NOW + 50_000 + MINUTE_MS + 1).is_none(),
        "one minute and a millisecond after the last activity the session is over, \
         however often it was looked at"
    );
    assert!(
        floor.note_activity(NOW + 50_000 + MINUTE_MS + 2).is_none(),
        "activity after the end does not bring the session back"
    );
}

#[test]
fn a_longer_timeout_set_during_a_session_applies_to_it() {
    let mut site = site();
    site.floor
        .sign_in("U-0001", MANAGER_PIN, NOW)
        .expect("manager signs in");
    site.floor
        .set_idle_timeout(minutes(60), NOW)
        .expect("set 60 minutes");
    let default_ms = IdleTimeout::DEFAULT.as_ms();
    assert!(
        site.floor.current_user(NOW + default_ms + 1).is_some(),
        "the session now lasts the new timeout, not the default"
    );
    assert!(site.floor.current_user(NOW + 60 * MINUTE_MS + 1).is_none());
}
