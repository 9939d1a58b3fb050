//! Tenant databases: a failed migration takes only its own tenant out of service, and
//! pools evicted under a low cap reopen transparently, and a busy file is retried, not marked.

use crate::support::{receipts, World};
use aisle_server::Registry as _;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_migration_refuses_only_that_tenant() {
    let world = World::start(8).await;
    let (healthy, healthy_warehouse) = world.tenant("healthy");
    let (broken, broken_warehouse) = world.tenant("broken");
    let healthy_device = world.enroll(healthy, healthy_warehouse, "h").await;
    let broken_device = world.enroll(broken, broken_warehouse, "b").await;
    // A file that migration 1 cannot apply to: it already has an `events` table.
    let path = aisle_server::tenant_db_path(world.dir.path(), broken);
    let conn = rusqlite::Connection::open(&path).expect("create");
    conn.execute_batch("CREATE TABLE events (x INTEGER);")
        .expect("sabotage");
    drop(conn);

    let (status, body) = world
        .push(&broken_device, &receipts(&broken_device, 1, 1))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (503, Some("tenant_unavailable")),
        "{body}"
    );
    let message = body["message"].as_str().expect("message");
    assert!(
        !message.contains("events") && !message.contains("sqlite"),
        "no internal detail reaches the client: {message}"
    );
    let state = world.registry.tenant(broken).expect("db").expect("tenant");
    assert!(
        state.failed_migration.is_some(),
        "the registry marks the tenant: {state:?}"
    );
    let (status, body) = world
        .push(&healthy_device, &receipts(&healthy_device, 1, 1))
        .await;
    assert_eq!(status, 200, "other tenants keep serving: {body}");
    // Once the operator fixes the file and clears the mark, the tenant migrates and serves.
    std::fs::remove_file(&path).expect("remove the sabotaged file");
    world
        .registry
        .clear_tenant_failure(broken)
        .expect("clear the mark");
    let (status, body) = world
        .push(&broken_device, &receipts(&broken_device, 1, 1))
        .await;
    assert_eq!(status, 200, "the repaired tenant serves again: {body}");
    let healthy_state = world.registry.tenant(healthy).expect("db").expect("tenant");
    assert_eq!(
        (healthy_state.schema_version, healthy_state.failed_migration),
        (aisle_server::migrate::TENANT_SCHEMA_VERSION, None),
        "the registry records the migrated version"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evicted_tenants_reopen_with_their_data() {
    let world = World::start(1).await;
    let mut devices = Vec::new();
    for n in 0..3 {
        let (tenant, warehouse) = world.tenant(&format!("t{n}"));
        devices.push(world.enroll(tenant, warehouse, "pc").await);
    }
    for round in 0..2u64 {
        for device in &devices {
            let (status, body) = world.push(device, &receipts(device, round * 10, 5)).await;
            assert_eq!(status, 200, "{body}");
        }
    }
    for device in &devices {
        assert_eq!(
            world.pull_all(device).await.len(),
            10,
            "a pool closed by the cap of 1 reopens with everything"
        );
    }
}

/// Another connection holds `path`'s write lock, from when this returns until the returned
/// guard is dropped. Dropping it returns once the lock is released (the holder's thread has
/// rolled back and ended), so what a test does next never races the release.
fn hold_write_lock(path: std::path::PathBuf) -> WriteLock {
    hold_write_lock_in(path, "")
}

/// [`hold_write_lock`], after running `setup` on the file (such as putting it in WAL mode).
fn hold_write_lock_in(path: std::path::PathBuf, setup: &'static str) -> WriteLock {
    let (locked_tx, locked_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let holder = std::thread::spawn(move || {
        let conn = rusqlite::Connection::open(&path).expect("open");
        conn.execute_batch(setup).expect("setup");
        conn.execute_batch("BEGIN IMMEDIATE").expect("write lock");
        locked_tx.send(()).expect("tell");
        let _ = release_rx.recv();
        conn.execute_batch("ROLLBACK").expect("release");
    });
    locked_rx.recv().expect("locked");
    WriteLock {
        release: Some(release_tx),
        holder: Some(holder),
    }
}

struct WriteLock {
    release: Option<std::sync::mpsc::Sender<()>>,
    holder: Option<std::thread::JoinHandle<()>>,
}

impl Drop for WriteLock {
    fn drop(&mut self) {
        drop(self.release.take());
        if let Some(holder) = self.holder.take() {
            holder.join().expect("the lock's holder ends");
        }
    }
}

/// Reopening a tenant whose file's write lock is held past SQLite's busy timeout (10 s): as
/// under load, when the pushes of an evicted copy of its pool are still running. Opening an
/// already migrated and stamped file writes nothing, so the tenant opens; the push itself
/// is answered as a busy database (503 `database_unavailable`, worth a retry), and the
/// tenant serves once the lock is gone. It used to stamp the file again with a write,
/// time out, and be marked as a failed migration: refused until an operator cleared it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_reopened_while_its_file_is_busy_is_not_marked() {
    let world = World::start(1).await;
    let (busy, busy_warehouse) = world.tenant("busy");
    let (other, other_warehouse) = world.tenant("other");
    let busy_device = world.enroll(busy, busy_warehouse, "b").await;
    let other_device = world.enroll(other, other_warehouse, "o").await;
    let (status, body) = world
        .push(&busy_device, &receipts(&busy_device, 1, 1))
        .await;
    assert_eq!(status, 200, "first open: migrated and stamped: {body}");
    let (status, body) = world
        .push(&other_device, &receipts(&other_device, 1, 1))
        .await;
    assert_eq!(status, 200, "evicts the first tenant (cap 1): {body}");

    let release = hold_write_lock(aisle_server::tenant_db_path(world.dir.path(), busy));
    let (status, body) = world
        .push(&busy_device, &receipts(&busy_device, 2, 1))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (503, Some("database_unavailable")),
        "a busy file is worth a retry: {body}"
    );
    drop(release);
    let state = world.registry.tenant(busy).expect("db").expect("tenant");
    assert_eq!(state.failed_migration, None, "not marked: {state:?}");
    let (status, body) = world
        .push(&busy_device, &receipts(&busy_device, 2, 1))
        .await;
    assert_eq!(
        status, 200,
        "the tenant serves once the lock is gone: {body}"
    );
    assert_eq!(
        world.pull_all(&busy_device).await.len(),
        2,
        "both pushes' events"
    );
}

/// A tenant's first open (its file new, its migrations to run) while another connection
/// holds the file's write lock, after `setup` on the file: answered as a busy database, not
/// marked as a failed migration, and migrated on the next request once the lock is gone.
async fn first_open_while_locked(setup: &'static str) {
    let world = World::start(8).await;
    let (tenant, warehouse) = world.tenant("new");
    let device = world.enroll(tenant, warehouse, "n").await;
    let path = aisle_server::tenant_db_path(world.dir.path(), tenant);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("tenant dir");
    }
    let release = hold_write_lock_in(path, setup);
    let (status, body) = world.push(&device, &receipts(&device, 1, 1)).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (503, Some("database_unavailable")),
        "{body}"
    );
    drop(release);
    let state = world.registry.tenant(tenant).expect("db").expect("tenant");
    assert_eq!(state.failed_migration, None, "not marked: {state:?}");
    let (status, body) = world.push(&device, &receipts(&device, 1, 1)).await;
    assert_eq!(status, 200, "migrated once the lock is gone: {body}");
}

/// The file new, in SQLite's default journal mode: the server's switch to WAL needs the
/// lock and fails busy at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_open_of_a_busy_file_is_not_a_failed_migration() {
    first_open_while_locked("").await;
}

/// The file already in WAL mode, so the journal mode needs no lock and the migration's
/// writes wait SQLite's busy timeout (10 s), then fail busy. It used to be marked: the busy
/// error came back wrapped as a migration failure.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_migration_that_meets_a_busy_file_is_not_marked() {
    first_open_while_locked("PRAGMA journal_mode = WAL;").await;
}
