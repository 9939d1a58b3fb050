//! The registry's behaviour on both backends: every body here is written once, against
//! `&dyn Registry`, and run on the SQLite registry (a file in a temporary directory) and on
//! the PostgreSQL one (a real cluster from aisle-pgtest), so both give the same answers to
//! the same calls: tenants and warehouses, one-time enrollment codes, devices and
//! revocation, API keys, quotas, tenant failure marks, and the audit log's coalescing, cap,
//! prune and chain.

use aisle_core::ids::{DeviceId, TenantId};
use aisle_pgtest::PgCluster;
use aisle_server::auth::{self, Scope};
use aisle_server::pg::registry::PgRegistry;
use aisle_server::registry::{AuditRow, CodeRefusal, TenantQuota};
use aisle_server::{Registry, ServerError, SqliteRegistry};

/// Runs `body` on a fresh SQLite registry whose audit log is capped at `audit_max_rows`.
fn on_sqlite(audit_max_rows: u64, body: fn(&dyn Registry)) {
    let dir = tempfile::tempdir().expect("tempdir");
    let registry = SqliteRegistry::open(&dir.path().join("registry.sqlite3"))
        .expect("registry")
        .with_audit_max_rows(audit_max_rows);
    body(&registry);
}

/// Runs `body` on a fresh PostgreSQL registry (with one tenant cluster, the registry's own)
/// whose audit log is capped at `audit_max_rows`.
fn on_postgres(audit_max_rows: u64, body: fn(&dyn Registry)) {
    let cluster = PgCluster::start().expect("a test cluster starts");
    cluster
        .create_database("aisle_registry")
        .expect("registry database");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let registry = PgRegistry::connect(&cluster.url("aisle_registry"), runtime.handle().clone())
        .expect("registry")
        .with_audit_max_rows(audit_max_rows);
    registry
        .add_cluster("main", &cluster.base_url(), None, 1)
        .expect("tenant cluster");
    body(&registry);
}

/// Each body, as a test on each backend.
macro_rules! on_both_backends {
    ($($body:ident $(, cap = $cap:expr)?;)*) => {
        mod sqlite {
            $(#[test]
            fn $body() {
                super::on_sqlite(on_both_backends!(@cap $($cap)?), super::$body);
            })*
        }
        mod postgres {
            $(#[test]
            fn $body() {
                super::on_postgres(on_both_backends!(@cap $($cap)?), super::$body);
            })*
        }
    };
    (@cap $cap:expr) => { $cap };
    (@cap) => { aisle_server::registry::DEFAULT_AUDIT_MAX_ROWS };
}

on_both_backends! {
    tenants_and_warehouses_are_named_once_and_resolved_by_id_or_name;
    codes_are_one_time_and_expire;
    devices_are_listed_found_by_token_and_revoked;
    a_key_is_found_by_its_digest_only_and_can_be_revoked;
    a_quota_is_stored_per_tenant_and_none_means_the_default;
    a_failed_migration_marks_the_tenant_until_cleared;
    repeats_coalesce_and_a_prune_is_recorded_in_the_chain;
    the_cap_prunes_a_prefix_and_records_it_in_the_chain, cap = 10;
    webhooks_sign_with_their_secret_rotate_with_an_overlap_and_disable;
    webhook_delivery_state_moves_with_each_attempt_and_replays;
    a_due_endpoint_is_leased_to_one_worker_at_a_time;
    a_release_is_stored_once_with_its_artifact_and_a_policy_per_tenant;
}

fn is_invalid<T>(result: Result<T, ServerError>) -> bool {
    matches!(result, Err(ServerError::Invalid(_)))
}

fn is_not_found<T>(result: Result<T, ServerError>) -> bool {
    matches!(result, Err(ServerError::NotFound(_)))
}

fn tenants_and_warehouses_are_named_once_and_resolved_by_id_or_name(registry: &dyn Registry) {
    let globex = registry.add_tenant("globex", 1).expect("tenant");
    let acme = registry.add_tenant("acme", 1).expect("tenant");
    assert!(
        is_invalid(registry.add_tenant("acme", 2)),
        "a tenant name is taken once"
    );
    let names: Vec<String> = registry
        .list_tenants()
        .expect("tenants")
        .into_iter()
        .map(|row| row.name)
        .collect();
    assert_eq!(names, ["acme", "globex"], "tenants by name");
    assert_eq!(registry.resolve_tenant("acme").expect("by name"), acme);
    assert_eq!(
        registry
            .resolve_tenant(&globex.as_uuid().to_string())
            .expect("by id"),
        globex
    );
    assert!(is_not_found(registry.resolve_tenant("initech")));
    let row = registry.tenant(acme).expect("db").expect("acme");
    assert_eq!(
        (row.name.as_str(), row.schema_version, row.failed_migration),
        ("acme", 0, None)
    );
    assert_eq!(
        registry.tenant(TenantId::new_v7(1, [3; 10])).expect("db"),
        None
    );

    let north = registry.add_warehouse(acme, "north", 1).expect("warehouse");
    let main = registry.add_warehouse(acme, "main", 1).expect("warehouse");
    assert!(
        is_invalid(registry.add_warehouse(acme, "main", 2)),
        "a warehouse name is taken once per tenant"
    );
    let globex_main = registry
        .add_warehouse(globex, "main", 2)
        .expect("another tenant may use the name");
    assert_eq!(
        registry.list_warehouses(acme).expect("warehouses"),
        [(main, "main".to_owned()), (north, "north".to_owned())],
        "warehouses by name"
    );
    assert_eq!(
        registry.resolve_warehouse(acme, "main").expect("name"),
        main
    );
    assert_eq!(
        registry
            .resolve_warehouse(acme, &north.as_uuid().to_string())
            .expect("id"),
        north
    );
    assert!(
        is_not_found(registry.resolve_warehouse(acme, &globex_main.as_uuid().to_string())),
        "another tenant's warehouse is not found"
    );
}

fn codes_are_one_time_and_expire(registry: &dyn Registry) {
    let tenant = registry.add_tenant("acme", 1_000).expect("tenant");
    let warehouse = registry.add_warehouse(tenant, "main", 1_000).expect("wh");
    let code = registry
        .create_enrollment_code(tenant, warehouse, 10_000, 1_000)
        .expect("code");
    let enrolled = registry
        .enroll(&code, "pc-1", 2_000)
        .expect("db")
        .expect("fresh code");
    assert_eq!((enrolled.tenant, enrolled.warehouse), (tenant, warehouse));
    assert_eq!(
        registry
            .enroll(&code, "pc-2", 2_000)
            .expect("db")
            .map(|e| e.device),
        Err(CodeRefusal::Used),
        "a code works once"
    );
    let late = registry
        .create_enrollment_code(tenant, warehouse, 10_000, 1_000)
        .expect("code");
    assert_eq!(
        registry
            .enroll(&late, "pc-3", 11_000)
            .expect("db")
            .map(|e| e.device),
        Err(CodeRefusal::Expired)
    );
    assert_eq!(
        registry
            .enroll("not-a-code", "pc-4", 2_000)
            .expect("db")
            .map(|e| e.device),
        Err(CodeRefusal::Unknown)
    );
    assert_eq!(
        registry.list_devices(tenant).expect("devices").len(),
        1,
        "only the fresh code made a device"
    );
}

fn devices_are_listed_found_by_token_and_revoked(registry: &dyn Registry) {
    let tenant = registry.add_tenant("acme", 1).expect("tenant");
    let warehouse = registry.add_warehouse(tenant, "main", 1).expect("wh");
    let mut devices = Vec::new();
    for (n, now_ms) in [(1, 20), (2, 10)] {
        let code = registry
            .create_enrollment_code(tenant, warehouse, 60_000, 1)
            .expect("code");
        devices.push(
            registry
                .enroll(&code, &format!("pc-{n}"), now_ms)
                .expect("db")
                .expect("enrols"),
        );
    }
    let listed: Vec<String> = registry
        .list_devices(tenant)
        .expect("devices")
        .into_iter()
        .map(|row| row.name)
        .collect();
    assert_eq!(listed, ["pc-2", "pc-1"], "oldest enrollment first");
    let found = registry
        .device_by_token(&auth::token_digest(&devices[0].token))
        .expect("db")
        .expect("the token is known");
    assert_eq!(
        (found.id, found.tenant, found.warehouse, found.revoked),
        (devices[0].device, tenant, warehouse, false)
    );
    assert_eq!(
        registry
            .device_by_token(&auth::token_digest("not a token"))
            .expect("db"),
        None
    );
    assert!(registry
        .revoke_device(devices[0].device, 30)
        .expect("revoke"));
    assert!(
        registry
            .revoke_device(devices[0].device, 40)
            .expect("again"),
        "revoking twice finds the device"
    );
    assert!(
        registry
            .device_by_token(&auth::token_digest(&devices[0].token))
            .expect("db")
            .expect("known")
            .revoked
    );
    assert!(
        !registry
            .device_by_token(&auth::token_digest(&devices[1].token))
            .expect("db")
            .expect("known")
            .revoked,
        "the other device is untouched"
    );
    assert!(!registry
        .revoke_device(DeviceId::new_v7(1, [5; 10]), 30)
        .expect("db"));
}

fn a_key_is_found_by_its_digest_only_and_can_be_revoked(registry: &dyn Registry) {
    let tenant = registry.add_tenant("acme", 1_000).expect("tenant");
    let made = registry
        .add_api_key(
            tenant,
            "erp",
            &[Scope::StockRead, Scope::MasterWrite],
            1_000,
        )
        .expect("key");
    let found = registry
        .api_key_by_digest(&auth::token_digest(&made.key))
        .expect("db")
        .expect("the key is known");
    assert_eq!(
        (found.id, found.tenant, found.scopes.clone(), found.revoked),
        (
            made.id,
            tenant,
            vec![Scope::MasterWrite, Scope::StockRead],
            false
        )
    );
    assert_eq!(
        registry
            .api_key_by_digest(&auth::token_digest("aisle_key_nothing"))
            .expect("db"),
        None
    );
    assert!(registry.revoke_api_key(made.id, 2_000).expect("revoke"));
    assert!(
        registry.list_api_keys(tenant).expect("list")[0].revoked,
        "a revoked key is listed as revoked"
    );
    assert!(
        is_invalid(registry.add_api_key(tenant, "none", &[], 1_000)),
        "a key without scopes is refused"
    );
    assert!(
        is_not_found(registry.add_api_key(
            TenantId::new_v7(1, [2; 10]),
            "ghost",
            &[Scope::StockRead],
            1_000
        )),
        "a key for no tenant is refused"
    );
}

fn a_quota_is_stored_per_tenant_and_none_means_the_default(registry: &dyn Registry) {
    let acme = registry.add_tenant("acme", 1).expect("tenant");
    let other = registry.add_tenant("other", 1).expect("tenant");
    assert_eq!(
        registry.tenant_quota(acme).expect("read"),
        TenantQuota::default(),
        "no row means the server's defaults"
    );
    let quota = TenantQuota {
        push_per_sec: Some(50),
        max_bytes: Some(1 << 40),
    };
    registry.set_tenant_quota(acme, quota, 2).expect("set");
    assert_eq!(registry.tenant_quota(acme).expect("read"), quota);
    assert_eq!(
        registry.tenant_quota(other).expect("read"),
        TenantQuota::default(),
        "another tenant keeps the defaults"
    );
    let fewer = TenantQuota {
        push_per_sec: None,
        ..quota
    };
    registry
        .set_tenant_quota(acme, fewer, 3)
        .expect("set again");
    assert_eq!(registry.tenant_quota(acme).expect("read"), fewer);
    let zero = TenantQuota {
        push_per_sec: Some(0),
        max_bytes: None,
    };
    assert!(
        is_invalid(registry.set_tenant_quota(acme, zero, 4)),
        "a zero quota is refused rather than locking the tenant out"
    );
    assert!(is_not_found(registry.set_tenant_quota(
        TenantId::new_v7(1, [4; 10]),
        quota,
        4
    )));
}

fn a_failed_migration_marks_the_tenant_until_cleared(registry: &dyn Registry) {
    let acme = registry.add_tenant("acme", 1).expect("tenant");
    let state = |registry: &dyn Registry| {
        let row = registry.tenant(acme).expect("db").expect("tenant");
        (row.schema_version, row.failed_migration)
    };
    registry.record_tenant_version(acme, 7).expect("version");
    assert_eq!(state(registry), (7, None));
    registry
        .mark_tenant_failed(acme, "migration 8: boom")
        .expect("mark");
    assert_eq!(state(registry), (7, Some("migration 8: boom".to_owned())));
    registry.clear_tenant_failure(acme).expect("clear");
    assert_eq!(state(registry), (7, None));
    registry.mark_tenant_failed(acme, "again").expect("mark");
    registry.record_tenant_version(acme, 8).expect("version");
    assert_eq!(
        state(registry),
        (8, None),
        "a successful migration clears the mark"
    );
}

fn refusal(device: DeviceId, reason: &str, detail: String) -> AuditRow {
    AuditRow {
        tenant: None,
        warehouse: None,
        device: Some(device),
        reason: reason.to_owned(),
        detail,
    }
}

fn repeats_coalesce_and_a_prune_is_recorded_in_the_chain(registry: &dyn Registry) {
    let device = DeviceId::new_v7(1, [1; 10]);
    let long = "x".repeat(10_000);
    for at_ms in [60_000, 60_500, 61_000] {
        registry
            .audit(&refusal(device, "tenant_mismatch", long.clone()), at_ms)
            .expect("audit");
    }
    registry
        .audit(&refusal(device, "revoked_token", "GET /x".into()), 200_000)
        .expect("audit");
    registry
        .audit(&refusal(device, "revoked_token", "GET /y".into()), 400_000)
        .expect("audit");
    let entries = registry.audit_entries(None).expect("entries");
    let summary: Vec<(&str, i64, usize, i64, i64)> = entries
        .iter()
        .map(|entry| {
            (
                entry.reason.as_str(),
                entry.count,
                entry.detail.chars().count(),
                entry.first_seen_ms,
                entry.last_seen_ms,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("tenant_mismatch", 3, 256, 60_000, 61_000),
            ("revoked_token", 1, 6, 200_000, 200_000),
            ("revoked_token", 1, 6, 400_000, 400_000),
        ],
        "repeats in a minute are one row, its detail bounded"
    );
    assert_eq!(entries[0].source, format!("device:{device}"));
    assert_eq!(
        registry.audit_entries(Some(1)).expect("newest")[0].detail,
        "GET /y",
        "a limit keeps the newest rows"
    );
    let before = registry.verify_audit().expect("db").expect("intact");
    assert_eq!(before.n_rows, 3);

    let pruned = registry
        .prune_audit_before(300_000, 500_000)
        .expect("prune");
    assert_eq!((pruned.n_rows, pruned.through_id), (2, 2));
    let entries = registry.audit_entries(None).expect("entries");
    let last = entries.last().expect("the record of the prune");
    assert_eq!(last.id, pruned.record_id);
    assert_eq!(last.reason, "audit_pruned");
    assert_eq!(
        last.detail,
        "removed 2 rows (ids 1..=2, seen 1970-01-01T00:01:00Z to 1970-01-01T00:03:20Z); \
         operator pruned rows last seen before 1970-01-01T00:05:00Z",
        "the prune says what it removed, with times in UTC"
    );
    let after = registry
        .verify_audit()
        .expect("db")
        .expect("intact after the prune");
    assert_eq!(
        (after.anchor_id, after.n_rows, after.head_id),
        (2, 2, pruned.record_id)
    );
}

fn the_cap_prunes_a_prefix_and_records_it_in_the_chain(registry: &dyn Registry) {
    let device = DeviceId::new_v7(1, [1; 10]);
    for minute in 0..25 {
        registry
            .audit(
                &refusal(device, "tenant_mismatch", format!("n{minute}")),
                minute * 60_000,
            )
            .expect("audit");
        let n_rows = registry.audit_entries(None).expect("entries").len();
        assert!(n_rows <= 10, "never more than the cap: {n_rows} rows");
    }
    let entries = registry.audit_entries(None).expect("entries");
    assert!(
        entries.iter().any(|entry| entry.reason == "audit_capped"),
        "the prune is recorded: {entries:?}"
    );
    assert_eq!(
        entries
            .iter()
            .rev()
            .find(|entry| entry.reason == "tenant_mismatch")
            .map(|entry| entry.detail.as_str()),
        Some("n24"),
        "the newest refusal is kept: {entries:?}"
    );
    registry
        .verify_audit()
        .expect("db")
        .expect("the chain holds after pruning");
}

fn webhooks_sign_with_their_secret_rotate_with_an_overlap_and_disable(registry: &dyn Registry) {
    use aisle_server::webhooks::sign::Secret;
    let acme = registry.add_tenant("acme", 1).expect("tenant");
    let globex = registry.add_tenant("globex", 1).expect("tenant");
    let first = Secret::from_key([1; 32]);
    let types = vec![
        "pick_list.completed".to_owned(),
        "goods.received".to_owned(),
    ];
    let hook = registry
        .add_webhook(acme, "https://erp.example.com/aisle", &types, &first, 1_000)
        .expect("added");
    assert!(
        is_not_found(registry.add_webhook(
            TenantId::new_v7(1, [9; 10]),
            "https://x.example",
            &[],
            &first,
            1_000
        )),
        "a webhook needs a known tenant"
    );
    let listed = registry.list_webhooks(acme).expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (
            listed[0].id,
            listed[0].url.as_str(),
            listed[0].event_types.clone(),
            listed[0].enabled
        ),
        (
            hook,
            "https://erp.example.com/aisle",
            vec![
                "goods.received".to_owned(),
                "pick_list.completed".to_owned()
            ],
            true
        ),
        "types are kept sorted"
    );
    assert!(
        registry.list_webhooks(globex).expect("list").is_empty(),
        "per tenant"
    );
    assert_eq!(
        registry.webhook_secrets(hook, 2_000).expect("secrets"),
        std::slice::from_ref(&first)
    );

    // A rotation: both sign until the overlap ends, then only the new one.
    let second = Secret::from_key([2; 32]);
    assert!(registry
        .rotate_webhook(hook, &second, 10_000, 3_000)
        .expect("rotate"));
    assert_eq!(
        registry.webhook_secrets(hook, 9_999).expect("secrets"),
        [second.clone(), first.clone()],
        "the new secret first, the old one during the overlap"
    );
    assert_eq!(
        registry.webhook_secrets(hook, 10_000).expect("secrets"),
        [second]
    );
    assert_eq!(
        registry
            .webhook(hook)
            .expect("db")
            .expect("hook")
            .previous_until_ms,
        Some(10_000)
    );

    // A 410 disables it with its reason; enabling clears the reason.
    assert!(registry
        .set_webhook_enabled(hook, false, Some("gone"), 4_000)
        .expect("disable"));
    let row = registry.webhook(hook).expect("db").expect("hook");
    assert_eq!(
        (row.enabled, row.disabled_reason.as_deref()),
        (false, Some("gone"))
    );
    assert!(registry
        .set_webhook_enabled(hook, true, None, 5_000)
        .expect("enable"));
    let row = registry.webhook(hook).expect("db").expect("hook");
    assert_eq!((row.enabled, row.disabled_reason), (true, None));

    let unknown = "0193a5c4-2222-7abc-8def-0123456789ab".parse().expect("id");
    assert!(!registry
        .set_webhook_enabled(unknown, false, None, 1)
        .expect("db"));
    assert!(!registry.rotate_webhook(unknown, &first, 1, 1).expect("db"));
    assert!(registry.webhook(unknown).expect("db").is_none());
    assert!(is_not_found(registry.webhook_secrets(unknown, 1)));
}

fn webhook_delivery_state_moves_with_each_attempt_and_replays(registry: &dyn Registry) {
    use aisle_server::registry::webhooks::{Attempt, DeliveryOutcome};
    use aisle_server::webhooks::sign::Secret;
    let acme = registry.add_tenant("acme", 1).expect("tenant");
    let hook = registry
        .add_webhook(
            acme,
            "https://erp.example.com/h",
            &[],
            &Secret::from_key([1; 32]),
            1_000,
        )
        .expect("added");
    let due = registry.due_webhooks(1_000).expect("due");
    assert_eq!(
        due.iter()
            .map(|due| (due.row.id, due.delivered_position, due.attempt))
            .collect::<Vec<_>>(),
        [(hook, 0, 0)],
        "a new endpoint is due from the start of the feed"
    );
    let message = uuid::Uuid::from_u128(7);
    let attempt =
        |n: u32, outcome, status, delivered_position, next_attempt, next_attempt_ms| Attempt {
            position: 3,
            message_id: message,
            attempt: n,
            outcome,
            status,
            error: None,
            at_ms: 0,
            delivered_position,
            next_attempt,
            next_attempt_ms,
        };
    let at = |at_ms: i64, attempt: Attempt| Attempt { at_ms, ..attempt };
    registry
        .record_attempts(
            hook,
            &[at(
                2_000,
                attempt(1, DeliveryOutcome::Retry, Some(500), 2, 1, 5_000),
            )],
            2_000,
        )
        .expect("retry");
    assert!(
        registry.due_webhooks(4_999).expect("due").is_empty(),
        "not before its retry"
    );
    let due = registry.due_webhooks(5_000).expect("due");
    assert_eq!((due[0].delivered_position, due[0].attempt), (2, 1));
    registry
        .record_attempts(
            hook,
            &[at(
                5_100,
                attempt(2, DeliveryOutcome::Delivered, Some(200), 3, 0, 0),
            )],
            5_100,
        )
        .expect("delivered");
    let due = registry.due_webhooks(6_000).expect("due");
    assert_eq!((due[0].delivered_position, due[0].attempt), (3, 0));
    registry.skip_webhook_to(hook, 9).expect("skip");
    registry.skip_webhook_to(hook, 4).expect("never back");
    assert_eq!(
        registry.due_webhooks(6_000).expect("due")[0].delivered_position,
        9
    );

    let log = registry.webhook_deliveries(acme, false, 10).expect("log");
    assert_eq!(
        log.iter()
            .map(|row| (row.attempt, row.outcome.as_str(), row.status))
            .collect::<Vec<_>>(),
        [(2, "delivered", Some(200)), (1, "retry", Some(500))],
        "newest first"
    );
    assert_eq!(
        registry
            .webhook_deliveries(acme, true, 10)
            .expect("log")
            .len(),
        1
    );

    assert!(registry.replay_webhook(hook, 3, 7_000).expect("replay"));
    assert_eq!(
        registry.due_webhooks(7_000).expect("due")[0].delivered_position,
        2
    );

    // A 410 disables it with its reason; a disabled endpoint is not due.
    // A run of deliveries recorded at once: each logged, the endpoint where the last left it.
    let delivered = |position: u64, at_ms: i64| Attempt {
        position,
        message_id: uuid::Uuid::from_u128(u128::from(position)),
        at_ms,
        ..attempt(1, DeliveryOutcome::Delivered, Some(204), position, 0, 0)
    };
    registry
        .record_attempts(hook, &[delivered(3, 7_100), delivered(4, 7_200)], 7_200)
        .expect("a run");
    assert_eq!(
        registry.due_webhooks(7_300).expect("due")[0].delivered_position,
        4
    );
    let log = registry.webhook_deliveries(acme, false, 2).expect("log");
    assert_eq!(
        log.iter()
            .map(|row| (row.position, row.at_ms))
            .collect::<Vec<_>>(),
        [(4, 7_200), (3, 7_100)],
        "each attempt at its own time, newest first"
    );
    registry
        .record_attempts(
            hook,
            &[at(
                8_000,
                attempt(1, DeliveryOutcome::Disabled, Some(410), 2, 1, 0),
            )],
            8_000,
        )
        .expect("gone");
    let row = registry.webhook(hook).expect("db").expect("hook");
    assert!(
        !row.enabled
            && row
                .disabled_reason
                .as_deref()
                .is_some_and(|r| r.contains("410"))
    );
    assert!(registry.due_webhooks(9_000).expect("due").is_empty());
}

/// Two workers sharing the registry: a due endpoint goes to one of them, which renews it at
/// each tick; the other gets it only once the lease ran out (its holder died), and nobody
/// gets an endpoint that is not due.
fn a_due_endpoint_is_leased_to_one_worker_at_a_time(registry: &dyn Registry) {
    use aisle_server::webhooks::sign::Secret;
    let acme = registry.add_tenant("acme", 1).expect("tenant");
    let add = |url: &str, at_ms: i64| {
        registry
            .add_webhook(acme, url, &[], &Secret::from_key([1; 32]), at_ms)
            .expect("added")
    };
    let (first, second) = (
        add("https://erp.example.com/a", 1_000),
        add("https://erp.example.com/b", 1_001),
    );
    let ids = |due: Vec<aisle_server::registry::webhooks::DueWebhook>| {
        due.into_iter().map(|due| due.row.id).collect::<Vec<_>>()
    };
    assert_eq!(
        ids(registry
            .lease_due_webhooks("a", 2_000, 30_000)
            .expect("lease")),
        [first, second],
        "worker a takes both, oldest first"
    );
    assert!(
        registry
            .lease_due_webhooks("b", 2_100, 30_000)
            .expect("lease")
            .is_empty(),
        "worker b gets nothing a holds"
    );
    assert_eq!(
        ids(registry
            .lease_due_webhooks("a", 20_000, 30_000)
            .expect("renew")),
        [first, second],
        "a renews its own"
    );
    assert!(
        registry
            .lease_due_webhooks("b", 49_999, 30_000)
            .expect("lease")
            .is_empty(),
        "still a's until 20,000 + 30,000"
    );
    // a died: its leases run out and b takes over.
    assert_eq!(
        ids(registry
            .lease_due_webhooks("b", 50_000, 30_000)
            .expect("lease")),
        [first, second]
    );
    assert!(registry
        .lease_due_webhooks("a", 50_001, 30_000)
        .expect("lease")
        .is_empty());
    // A disabled endpoint is leased to nobody.
    registry
        .set_webhook_enabled(second, false, Some("test"), 50_002)
        .expect("disabled");
    assert_eq!(
        ids(registry
            .lease_due_webhooks("b", 50_003, 30_000)
            .expect("lease")),
        [first]
    );
}

/// The bytes of a release's artifact, read back as the download endpoint reads them: its
/// file on SQLite, its chunks on PostgreSQL.
fn artifact_bytes(registry: &dyn Registry, release: &aisle_server::registry::Release) -> Vec<u8> {
    match registry.release_artifact(release).expect("artifact") {
        aisle_server::registry::Artifact::File(path) => std::fs::read(path).expect("file"),
        aisle_server::registry::Artifact::Chunks { n } => (0..n)
            .flat_map(|index| registry.release_chunk(release, index).expect("chunk"))
            .collect(),
    }
}

fn a_release_is_stored_once_with_its_artifact_and_a_policy_per_tenant(registry: &dyn Registry) {
    use aisle_server::registry::{NewRelease, UpdatePolicy};
    let new = |version: &str, channel: &str| NewRelease {
        target: "linux-x86_64".into(),
        version: version.into(),
        channel: channel.into(),
        file_name: "Aisle.AppImage.tar.gz".into(),
        signature: "c2lnbmF0dXJl".into(),
        notes: "fixes".into(),
    };
    // Three and a bit chunks on PostgreSQL.
    let artifact: Vec<u8> = (0..(3 * 1024 * 1024 + 17))
        .map(|n| (n % 253) as u8)
        .collect();
    let stored = registry
        .add_release(&new("0.3.0", "stable"), &artifact, 10)
        .expect("stored");
    assert_eq!(stored.size, artifact.len() as u64);
    assert_eq!(
        artifact_bytes(registry, &stored),
        artifact,
        "the artifact, byte for byte"
    );
    registry
        .add_release(&new("0.10.0", "stable"), b"newer", 11)
        .expect("stored");
    assert!(
        is_invalid(registry.add_release(&new("0.3.0", "beta"), b"again", 12)),
        "a target and version is stored once"
    );
    for (bad, why) in [
        (
            NewRelease {
                version: "3".into(),
                ..new("x", "stable")
            },
            "not semver",
        ),
        (
            NewRelease {
                target: "../etc".into(),
                ..new("0.5.0", "stable")
            },
            "a path in the target",
        ),
        (
            NewRelease {
                file_name: "a/b".into(),
                ..new("0.5.0", "stable")
            },
            "a path in the file name",
        ),
        (
            NewRelease {
                signature: " ".into(),
                ..new("0.5.0", "stable")
            },
            "no signature",
        ),
    ] {
        assert!(is_invalid(registry.add_release(&bad, b"x", 13)), "{why}");
    }
    assert!(
        is_invalid(registry.add_release(&new("0.6.0", "stable"), b"", 13)),
        "an empty artifact"
    );
    let versions: Vec<String> = registry
        .releases()
        .expect("releases")
        .iter()
        .map(|release| release.version.to_string())
        .collect();
    assert_eq!(versions, ["0.10.0", "0.3.0"], "newest first, as versions");
    assert_eq!(
        registry
            .release("linux-x86_64", "0.3.0")
            .expect("db")
            .map(|r| r.sha256),
        Some(stored.sha256.clone())
    );
    assert_eq!(registry.release("linux-x86_64", "0.9.0").expect("db"), None);

    let acme = registry.add_tenant("acme", 1).expect("tenant");
    let other = registry.add_tenant("other", 1).expect("tenant");
    assert_eq!(
        registry.update_policy(acme).expect("policy"),
        UpdatePolicy::default()
    );
    let policy = UpdatePolicy {
        channel: "beta".into(),
        pin: Some(semver::Version::new(0, 3, 0)),
        rollout_pct: 25,
    };
    registry.set_update_policy(acme, &policy, 20).expect("set");
    assert_eq!(registry.update_policy(acme).expect("policy"), policy);
    assert_eq!(
        registry.update_policy(other).expect("policy"),
        UpdatePolicy::default()
    );
    let bad = UpdatePolicy {
        rollout_pct: 101,
        ..UpdatePolicy::default()
    };
    assert!(is_invalid(registry.set_update_policy(acme, &bad, 21)));
    assert!(is_not_found(registry.set_update_policy(
        aisle_core::ids::TenantId::new_v7(1, [9; 10]),
        &policy,
        22
    )));
}
