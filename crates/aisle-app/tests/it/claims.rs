//! A pick list claimed on another PC: the list screen names who claimed it and on which PC
//! (by the name the server's master data gives it), and opening it anyway tells the picker
//! the same before a line is picked.

use crate::{site, Site, NOW, PICKER_PIN};
use aisle_app::views::{PickListSummaryView, PickListView};
use aisle_core::event::EventBody;
use aisle_core::ids::{DeviceId, EventId, UserId};
use aisle_core::testkit::{tenant, warehouse};
use aisle_core::{Event, EventVersion, Hlc};

/// Max (the manager of the test site) claims the site's pick list on `device`, as a pull
/// from the server would bring it.
fn claimed_elsewhere(site: &mut Site, device: DeviceId) {
    let claim = Event {
        v: EventVersion::CURRENT,
        id: EventId::new_v7(NOW - 10, [9; 10]),
        tenant: tenant(),
        warehouse: warehouse(),
        device,
        user: UserId::new_v7(1, [12; 10]),
        hlc: Hlc::new(NOW - 10, 0),
        clock_correction_ms: 0,
        replaces: None,
        body: EventBody::PickListClaimed {
            pick_list: site.pick_list,
        },
    };
    site.floor
        .store_mut()
        .apply_remote(&[claim], None)
        .expect("apply the pulled claim");
}

/// The site's pick list as the list screen shows it.
fn site_list(site: &Site) -> PickListSummaryView {
    site.floor
        .pick_lists()
        .expect("lists")
        .into_iter()
        .find(|list| list.id == site.pick_list)
        .expect("the site's list is open")
}

/// Ana signs in and opens the site's pick list, claimed or not.
fn open_as_picker(site: &mut Site) -> PickListView {
    site.floor
        .sign_in("U-0042", PICKER_PIN, NOW)
        .expect("sign in");
    site.floor
        .open_pick_list(Some(site.pick_list), NOW + 1)
        .expect("a claimed list still opens")
}

#[test]
fn a_claim_from_another_pc_names_the_user_and_the_pc() {
    let mut site = site();
    let dock_2 = DeviceId::new_v7(1, [8; 10]);
    site.floor
        .store()
        .upsert_device_name(dock_2, "dock-2")
        .expect("the server named the PC");
    claimed_elsewhere(&mut site, dock_2);
    let list = site_list(&site);
    assert_eq!(list.claimed_by.as_deref(), Some("Max"), "the winner's name");
    assert_eq!(
        list.claimed_on.as_deref(),
        Some("dock-2"),
        "the PC by its enrolled name, not its id"
    );
    assert!(!list.claimed_here, "another PC's claim");

    let opened = open_as_picker(&mut site);
    assert_eq!(
        opened.notices,
        ["this pick list was already claimed by Max on PC dock-2"],
        "the picker is told whose list it is before picking a line"
    );
}

#[test]
fn a_pc_the_server_has_not_named_yet_is_left_out_of_the_list_and_named_by_id() {
    let mut site = site();
    let unnamed = DeviceId::new_v7(1, [6; 10]);
    claimed_elsewhere(&mut site, unnamed);
    let list = site_list(&site);
    assert_eq!(list.claimed_by.as_deref(), Some("Max"));
    assert_eq!(list.claimed_on, None, "no name is made up");

    let opened = open_as_picker(&mut site);
    assert_eq!(
        opened.notices,
        [format!(
            "this pick list was already claimed by Max on PC {unnamed}"
        )]
    );
}

#[test]
fn a_claim_made_on_this_pc_says_so() {
    let mut site = site();
    assert!(!site_list(&site).claimed_here, "nobody has claimed it yet");
    open_as_picker(&mut site);
    let list = site_list(&site);
    assert!(list.claimed_by.is_some(), "the picker's claim won");
    assert!(list.claimed_here, "and it was made on this PC");
}
