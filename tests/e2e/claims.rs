//! A pick list claimed on a second PC shows on this one while its picker looks at the pick
//! lists: "Claimed by Pia Picker on PC dock-2". The second PC is enrolled over HTTP and
//! pushes its claim as the sync engine would; this app learns it through live sync (the
//! push wakes its waiting pull), and the Pick screen reads its lists again when the pulled
//! events land, without a key pressed.

use crate::driver::Ui;
use crate::flows::wait_until_synced;
use crate::server::{SecondPc, Seeded, TestServer, PICKER, PICK_LIST_ELSEWHERE};
use aisle_core::event::EventBody;
use aisle_core::ids::{EventId, PickListId, UserId};
use aisle_core::{Event, EventVersion, Hlc};
use serde_json::{json, Value};

/// The name the second PC is enrolled with.
const SECOND_PC: &str = "dock-2";

/// From the menu, with the picker signed in and the app online: the second PC claims
/// [`PICK_LIST_ELSEWHERE`] and the open Pick screen says so, at the normal size and at
/// 640x480. Ends on the menu at the window's normal size.
pub async fn a_claim_on_another_pc_shows_here(ui: &Ui, server: &TestServer, seeded: &Seeded) {
    let second = server.enroll_second_pc(seeded, SECOND_PC).await;
    // The enrollment wakes this app's waiting pull to fetch the new PC's name, but a wake
    // that comes between two waiting pulls is missed (the name then comes with the next
    // round); a round asked for here makes sure the name is in before the claim comes.
    ui.click_action("F10").await;
    ui.wait_for_screen("Sync").await;
    ui.click_action("Enter").await;
    wait_until_synced(ui, "a round after the second PC enrolled").await;
    ui.click_action("Escape").await;
    ui.wait_for_screen("Menu").await;

    ui.click_action("2").await;
    ui.wait_for_screen("Pick").await;
    let free = ui.wait_for_text(".choices", PICK_LIST_ELSEWHERE).await;
    assert!(
        !free.contains(&format!("{PICK_LIST_ELSEWHERE} · 0/1 lines · Claimed")),
        "nobody has claimed {PICK_LIST_ELSEWHERE} yet: {free:?}"
    );

    let (picker, pick_list) = ids_from_master(seeded, &second).await;
    push_claim(seeded, &second, picker, pick_list).await;

    let (_badge, name, _role, _pin) = PICKER;
    // The second PC was enrolled after this app's master data was current: its name came
    // with a master page that had no versioned rows (see aisle_sync::master::apply_unversioned).
    let expected =
        format!("{PICK_LIST_ELSEWHERE} · 0/1 lines · Claimed by {name} on PC {SECOND_PC}");
    // No key is pressed and the screen is not left: only live sync can bring this.
    ui.wait_for_text(".choices", &expected).await;
    ui.screenshot("15-pick-claimed-on-another-pc").await;

    let (width, height) = ui.window_size().await;
    ui.set_window_size(640, 480).await;
    ui.wait_for_text(".choices", &expected).await;
    let hidden = ui.not_in_view(&[".choices li:nth-child(2)"]).await;
    ui.screenshot("16-pick-claimed-on-another-pc-640x480").await;
    assert!(
        hidden.is_empty(),
        "at 640x480 the claimed list stays in view: {hidden:?}"
    );
    ui.set_window_size(width, height).await;
    ui.click_action("Escape").await;
    ui.wait_for_screen("Menu").await;
}

/// The picker's user id and the second pick list's id, as the second PC's master data
/// gives them.
async fn ids_from_master(seeded: &Seeded, second: &SecondPc) -> (UserId, PickListId) {
    let answer = reqwest::Client::new()
        .get(format!(
            "{}v1/t/{}/master?after=0",
            seeded.base_url, seeded.tenant
        ))
        .bearer_auth(&second.token)
        .send()
        .await
        .expect("reach the master-data endpoint");
    let status = answer.status();
    let master: Value = answer.json().await.expect("master data is JSON");
    assert!(status.is_success(), "GET master: {status} {master}");
    let (badge, ..) = PICKER;
    let id_where = |collection: &str, field: &str, value: &str| -> String {
        master[collection]
            .as_array()
            .and_then(|rows| rows.iter().find(|row| row[field] == json!(value)))
            .and_then(|row| row["id"].as_str())
            .unwrap_or_else(|| {
                panic!("master data has {collection} with {field} {value}: {master}")
            })
            .to_owned()
    };
    (
        id_where("users", "badge", badge)
            .parse()
            .expect("a user id"),
        id_where("pick_lists", "reference", PICK_LIST_ELSEWHERE)
            .parse()
            .expect("a pick list id"),
    )
}

/// Pushes the second PC's `pick_list_claimed`, as its sync engine would.
async fn push_claim(seeded: &Seeded, second: &SecondPc, picker: UserId, pick_list: PickListId) {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("the clock is past 1970")
        .as_millis() as u64;
    let mut random = [0u8; 10];
    getrandom::fill(&mut random).expect("random bytes");
    let claim = Event {
        v: EventVersion::CURRENT,
        id: EventId::new_v7(now_ms, random),
        tenant: seeded.tenant,
        warehouse: seeded.warehouse,
        device: second.device,
        user: picker,
        hlc: Hlc::new(now_ms, 0),
        clock_correction_ms: 0,
        replaces: None,
        body: EventBody::PickListClaimed { pick_list },
    };
    let answer = reqwest::Client::new()
        .post(format!("{}v1/t/{}/events", seeded.base_url, seeded.tenant))
        .bearer_auth(&second.token)
        .json(&json!({ "events": [claim] }))
        .send()
        .await
        .expect("reach the push endpoint");
    let status = answer.status();
    let body: Value = answer.json().await.expect("the push answer is JSON");
    assert!(status.is_success(), "pushing the claim: {status} {body}");
    assert_eq!(
        body["results"][0]["status"],
        json!("applied"),
        "the server takes the claim: {body}"
    );
}
