//! Several server instances over HTTP on one PostgreSQL registry and tenant cluster (issue
//! 14, "Several server instances" and "The pull cursor stays exact"). Each instance is a
//! real accept loop on its own loopback port with its own registry pool, tenant pools and
//! limits, as `serve --database` builds them: nothing is shared between instances but the
//! databases. An enrollment code used on one is refused on another, a revocation through
//! one instance's registry is refused by the other at once, the same event pushed through
//! two instances at the same time is `applied` once and `duplicate` once, and a device
//! pulling in a loop while two instances take pushes sees every seq once, in order, with
//! no hole, equal to the final log. The last holds behind PgBouncer in transaction mode too,
//! every instance's registry and tenant pools going through it.
//!
//! Each instance is `RunningServer::start(ServerConfig::postgres(..))`, what `serve
//! --database` runs; the test's own `PgRegistry` stands for the admin commands.

use crate::support::{
    device_from, post_json, pull_all_from, push_to, receipts, result_statuses, Device,
};
use aisle_core::ids::{TenantId, WarehouseId};
use aisle_pgtest::{PgBouncer, PgBouncerOptions, PgCluster};
use aisle_server::pg::registry::PgRegistry;
use aisle_server::{RunningServer, ServerConfig};
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One server instance: its own pools on the shared databases, serving on loopback.
pub(crate) struct Instance {
    pub(crate) addr: SocketAddr,
    /// The admin path's view of the registry (what `aisle-server --database …` commands use).
    pub(crate) registry: Arc<PgRegistry>,
    /// Dropping it stops the instance.
    pub(crate) server: RunningServer,
}

impl Instance {
    pub(crate) fn base(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// A cluster with the registry database, registered as the tenant cluster `main`; the
/// runtime the pools' connections live on; and the runtime the instances serve on.
pub(crate) struct Fleet {
    pub(crate) server: tokio::runtime::Runtime,
    pools: tokio::runtime::Runtime,
    /// When set, the instances reach the registry and the tenant databases through it
    /// (PgBouncer in transaction mode), and only live sync's listener connects directly.
    bouncer: Option<PgBouncer>,
    pub(crate) cluster: PgCluster,
}

impl Fleet {
    pub(crate) fn start() -> Fleet {
        Self::start_via(false)
    }

    /// [`Fleet::start`] with every pool of every instance behind a PgBouncer in transaction
    /// mode with 2 server connections a database: consecutive transactions of one client
    /// land on whichever server connection is free, so any session state would be lost.
    pub(crate) fn start_behind_pgbouncer() -> Fleet {
        Self::start_via(true)
    }

    fn start_via(behind_pgbouncer: bool) -> Fleet {
        let cluster = PgCluster::start().expect("a test cluster starts");
        cluster
            .create_database("aisle_registry")
            .expect("registry database");
        let runtime = || {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime")
        };
        let bouncer = behind_pgbouncer.then(|| {
            PgBouncer::start_with(
                &cluster,
                PgBouncerOptions {
                    pool_size: 2,
                    ..PgBouncerOptions::default()
                },
            )
            .expect("pgbouncer starts (the `pgbouncer` package, scripts/setup.sh)")
        });
        let fleet = Fleet {
            server: runtime(),
            pools: runtime(),
            bouncer,
            cluster,
        };
        let tenants_at = match &fleet.bouncer {
            Some(bouncer) => bouncer.base_url(),
            None => fleet.cluster.base_url(),
        };
        fleet
            .registry()
            .add_cluster("main", &tenants_at, None, 1)
            .expect("the registry's cluster holds tenants too");
        fleet
    }

    /// The registry database's url as the instances reach it.
    fn registry_url(&self) -> String {
        match &self.bouncer {
            Some(bouncer) => bouncer.url("aisle_registry"),
            None => self.cluster.url("aisle_registry"),
        }
    }

    /// A registry of its own on the shared registry database (an instance's view).
    fn registry(&self) -> PgRegistry {
        PgRegistry::connect(&self.registry_url(), self.pools.handle().clone())
            .expect("the registry opens")
    }

    /// One more instance with the default limits, serving on a free loopback port.
    pub(crate) fn instance(&self) -> Instance {
        self.instance_with(aisle_server::limits::Limits::default())
    }

    fn instance_with(&self, limits: aisle_server::limits::Limits) -> Instance {
        self.instance_configured(|config| config.limits = limits)
    }

    /// One more instance, its configuration changed by `configure`.
    fn instance_configured(&self, configure: impl FnOnce(&mut ServerConfig)) -> Instance {
        let mut config = ServerConfig::postgres(self.registry_url(), 64);
        if self.bouncer.is_some() {
            // A LISTEN does not survive transaction pooling (docs/scaling.md).
            config.live_listen_url = Some(self.cluster.url("aisle_registry"));
        }
        configure(&mut config);
        let server = self
            .server
            .block_on(RunningServer::start(config))
            .expect("an instance starts on the PostgreSQL registry");
        Instance {
            addr: server.addr,
            registry: Arc::new(self.registry()),
            server,
        }
    }

    /// A tenant with one warehouse, through `registry`.
    pub(crate) fn tenant(&self, registry: &PgRegistry, name: &str) -> (TenantId, WarehouseId) {
        let tenant = PgRegistry::add_tenant(registry, name, 1).expect("tenant");
        let warehouse = PgRegistry::add_warehouse(registry, tenant, "main", 1).expect("warehouse");
        (tenant, warehouse)
    }
}

/// `POST /v1/enroll` on `instance` with `code`: the status and body.
async fn enroll_at(
    http: &reqwest::Client,
    instance: &Instance,
    code: &str,
    name: &str,
) -> (u16, serde_json::Value) {
    post_json(
        http,
        &format!("{}/v1/enroll", instance.base()),
        None,
        &serde_json::json!({ "code": code, "device_name": name }),
    )
    .await
}

/// A device enrolled through `instance` with a fresh code.
pub(crate) async fn enrolled(http: &reqwest::Client, instance: &Instance, name: &str) -> Device {
    let registry = Arc::clone(&instance.registry);
    let code = off(move || {
        let (tenant, warehouse) = (tenant_of(&registry), warehouse_of(&registry));
        PgRegistry::create_enrollment_code(
            &registry,
            tenant,
            warehouse,
            3_600_000,
            aisle_server::now_ms(),
        )
        .expect("code")
    })
    .await;
    let (status, body) = enroll_at(http, instance, &code, name).await;
    assert_eq!(status, 200, "enrollment succeeds: {body}");
    device_from(&body)
}

/// Registry calls block (they wait on the pools' runtime): from async code, they run here.
async fn off<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(work)
        .await
        .expect("blocking work")
}

fn tenant_of(registry: &PgRegistry) -> TenantId {
    PgRegistry::list_tenants(registry).expect("tenants")[0].id
}

fn warehouse_of(registry: &PgRegistry) -> WarehouseId {
    PgRegistry::list_warehouses(registry, tenant_of(registry)).expect("warehouses")[0].0
}

#[test]
fn a_code_used_on_one_instance_is_refused_on_another() {
    let fleet = Fleet::start();
    let (a, b) = (fleet.instance(), fleet.instance());
    let (tenant, warehouse) = fleet.tenant(&a.registry, "acme");
    let code = PgRegistry::create_enrollment_code(
        &a.registry,
        tenant,
        warehouse,
        3_600_000,
        aisle_server::now_ms(),
    )
    .expect("code");
    let http = reqwest::Client::new();
    fleet.server.block_on(async {
        let (status, body) = enroll_at(&http, &a, &code, "pc-a").await;
        assert_eq!(status, 200, "the code enrols on A: {body}");
        let (status, body) = enroll_at(&http, &b, &code, "pc-b").await;
        assert_eq!(
            (status, body["code"].as_str()),
            (409, Some("code_used")),
            "B refuses the code A spent: {body}"
        );
    });
    assert_eq!(
        PgRegistry::list_devices(&b.registry, tenant)
            .expect("devices")
            .len(),
        1
    );
}

#[test]
fn a_device_revoked_through_one_instance_is_refused_by_the_other_at_once() {
    let fleet = Fleet::start();
    let (a, b) = (fleet.instance(), fleet.instance());
    fleet.tenant(&a.registry, "acme");
    let http = reqwest::Client::new();
    fleet.server.block_on(async {
        let device = enrolled(&http, &a, "pc").await;
        let pull = |instance: &Instance| {
            let request = http
                .get(format!(
                    "{}/v1/t/{}/events?after=0&limit=10",
                    instance.base(),
                    device.tenant
                ))
                .bearer_auth(&device.token);
            async move { request.send().await.expect("answered").status().as_u16() }
        };
        assert_eq!(
            (pull(&a).await, pull(&b).await),
            (200, 200),
            "both serve it"
        );
        let (registry, revoked) = (Arc::clone(&a.registry), device.device);
        assert!(
            off(
                move || PgRegistry::revoke_device(&registry, revoked, aisle_server::now_ms())
                    .expect("revoke")
            )
            .await
        );
        assert_eq!(
            pull(&b).await,
            401,
            "B refuses the token A's registry revoked"
        );
        assert_eq!(pull(&a).await, 401, "so does A");
    });
}

#[test]
fn one_event_pushed_through_two_instances_at_once_is_applied_once() {
    let fleet = Fleet::start();
    let (a, b) = (fleet.instance(), fleet.instance());
    fleet.tenant(&a.registry, "acme");
    let http = reqwest::Client::new();
    fleet.server.block_on(async {
        let device = enrolled(&http, &a, "pc").await;
        for round in 0..10u64 {
            let events = receipts(&device, 1 + round, 1);
            let (base_a, base_b) = (a.base(), b.base());
            let (one, two) = tokio::join!(
                push_to(&http, &base_a, &device, device.tenant, &events),
                push_to(&http, &base_b, &device, device.tenant, &events),
            );
            assert_eq!((one.0, two.0), (200, 200), "both answer: {one:?} {two:?}");
            let mut statuses = [result_statuses(&one.1), result_statuses(&two.1)].concat();
            statuses.sort();
            assert_eq!(
                statuses,
                ["applied", "duplicate"],
                "round {round}: one instance applies it, the other sees the duplicate"
            );
        }
        let log = pull_all_from(&http, &b.base(), &device).await;
        let seqs: Vec<u64> = log.iter().map(|(seq, _)| *seq).collect();
        assert_eq!(
            seqs,
            (1..=10).collect::<Vec<u64>>(),
            "each event stored once"
        );
    });
}

#[test]
fn a_device_pulling_while_two_instances_take_pushes_sees_the_exact_log() {
    pull_the_exact_log_while_two_instances_take_pushes(&Fleet::start());
}

/// The same, with every instance's registry and tenant pools behind PgBouncer in transaction
/// mode (docs/scaling.md: the server keeps no session state, so it works there): pushes and
/// enrollments through two instances, a pull loop through a third, the log exact.
#[test]
fn behind_pgbouncer_in_transaction_mode_the_instances_keep_the_exact_log() {
    let fleet = Fleet::start_behind_pgbouncer();
    pull_the_exact_log_while_two_instances_take_pushes(&fleet);
    // The tenant's database was reached through the bouncer, not around it: the instances
    // have stopped (their own connections are closed), and what is left on the tenant's
    // database is the bouncer's idle server connections, at most its pool of 2.
    let bouncer = fleet.bouncer.as_ref().expect("a bouncer");
    let tenants = fleet
        .cluster
        .psql(
            "postgres",
            "SELECT count(*) FROM pg_stat_activity WHERE datname LIKE 'aisle_t_%'",
        )
        .expect("connections");
    let held = tenants.trim().parse::<u32>().expect("a count");
    assert!(
        (1..=2).contains(&held),
        "the bouncer's server connections, 1 or 2, on the tenant's database: {held} ({bouncer:?})"
    );
}

fn pull_the_exact_log_while_two_instances_take_pushes(fleet: &Fleet) {
    let (a, b, c) = (fleet.instance(), fleet.instance(), fleet.instance());
    fleet.tenant(&a.registry, "acme");
    let http = reqwest::Client::new();
    fleet.server.block_on(async {
        let one = enrolled(&http, &a, "pc-1").await;
        let two = enrolled(&http, &b, "pc-2").await;
        let reader = enrolled(&http, &c, "reader").await;
        const BATCHES: u64 = 30;
        const PER_BATCH: u64 = 5;
        // Serials make event ids, so each device gets its own range.
        let pusher = |instance: &Instance, device: Device, first: u64| {
            let (http, base) = (http.clone(), instance.base());
            tokio::spawn(async move {
                for batch in 0..BATCHES {
                    let events = receipts(&device, first + batch * PER_BATCH, PER_BATCH);
                    let (status, body) =
                        push_to(&http, &base, &device, device.tenant, &events).await;
                    assert_eq!(status, 200, "push answered: {body}");
                }
            })
        };
        let pushers = [
            pusher(&a, one.clone(), 1),
            pusher(&b, two.clone(), 1_000_001),
        ];
        let pushers_done = |pushers: &[tokio::task::JoinHandle<()>]| {
            pushers.iter().all(tokio::task::JoinHandle::is_finished)
        };
        // The reader follows `next` from instance C while the pushes go on, keeping every
        // (seq, id) it is given.
        let mut pulled: Vec<(u64, String)> = Vec::new();
        let mut after = 0u64;
        let total = 2 * BATCHES * PER_BATCH;
        while (pulled.len() as u64) < total {
            // Asked before the page is read: an empty page then proves the log complete. Asked
            // after, the last push could commit between the page's snapshot and the question,
            // and the loop would stop short of it (seen once, as a missing tail).
            let done_before_page = pushers_done(&pushers);
            let response = http
                .get(format!(
                    "{}/v1/t/{}/events?after={after}&limit=7",
                    c.base(),
                    reader.tenant
                ))
                .bearer_auth(&reader.token)
                .send()
                .await
                .expect("answered");
            assert_eq!(response.status().as_u16(), 200);
            let body: serde_json::Value = response.json().await.expect("json");
            for entry in body["events"].as_array().expect("events") {
                pulled.push((
                    entry["seq"].as_u64().expect("seq"),
                    entry["event"]["id"].as_str().expect("id").to_owned(),
                ));
            }
            after = body["next"].as_u64().unwrap_or(after);
            if done_before_page && body["events"] == serde_json::json!([]) {
                break;
            }
        }
        for pusher in pushers {
            pusher.await.expect("every push was answered 200");
        }
        let seqs: Vec<u64> = pulled.iter().map(|(seq, _)| *seq).collect();
        assert_eq!(
            seqs,
            (1..=total).collect::<Vec<u64>>(),
            "no hole, no repeat, in order"
        );
        let final_log: Vec<(u64, String)> = pull_all_from(&http, &a.base(), &reader)
            .await
            .into_iter()
            .map(|(seq, event)| (seq, event.id.to_string()))
            .collect();
        assert_eq!(pulled, final_log, "what the reader pulled is the final log");
        let ids: BTreeSet<&String> = pulled.iter().map(|(_, id)| id).collect();
        assert_eq!(ids.len() as u64, total, "every event once");
    });
}

#[test]
fn two_instances_hold_a_tenant_to_the_configured_rate_together() {
    // 2 requests/s for the tenant (burst 4) across 2 instances: 1/s, burst 2, on each.
    let limits = aisle_server::limits::Limits {
        per_tenant_per_sec: 2,
        instances: 2,
        rate_limited_delay: Duration::ZERO,
        ..aisle_server::limits::Limits::default()
    };
    let fleet = Fleet::start();
    let (a, b) = (
        fleet.instance_with(limits.clone()),
        fleet.instance_with(limits),
    );
    fleet.tenant(&a.registry, "acme");
    let http = reqwest::Client::new();
    fleet.server.block_on(async {
        // Enrolment is not a tenant request, so it takes nothing from the tenant's buckets.
        let device = enrolled(&http, &a, "pc").await;
        let started = Instant::now();
        let mut answered = [0usize; 2];
        let mut refused = [0usize; 2];
        for round in 0..40 {
            let side = round % 2;
            let instance = [&a, &b][side];
            let status = http
                .get(format!("{}/v1/t/{}/events?after=0&limit=1", instance.base(), device.tenant))
                .bearer_auth(&device.token)
                .send()
                .await
                .expect("answered")
                .status()
                .as_u16();
            match status {
                200 => answered[side] += 1,
                429 => refused[side] += 1,
                other => panic!("unexpected status {other}"),
            }
        }
        // The bound follows the time the requests took, not a guess at it: the tenant's
        // burst (4) plus its rate (2/s) over that time, rounded up.
        let allowed = 4 + (2.0 * started.elapsed().as_secs_f64()).ceil() as usize;
        let n_answered = answered[0] + answered[1];
        assert!(
            n_answered <= allowed,
            "two instances together answered {n_answered} of 40, beyond the {allowed} the tenant's rate allows ({answered:?} answered, {refused:?} refused)"
        );
        assert!(
            answered.iter().all(|n| *n >= 1) && refused.iter().all(|n| *n >= 1),
            "each instance answers its share and refuses beyond it: {answered:?} {refused:?}"
        );
    });
}

/// Webhook deliveries with every instance running the delivery worker: each endpoint is
/// leased to one worker at a time, so a receiver that acknowledges everything gets each
/// message exactly once, in the feed's order, though two workers poll for it (without the
/// lease both would send every message).
#[test]
fn with_two_instances_delivering_each_webhook_message_arrives_once_in_order() {
    use aisle_server::webhooks::sign::Secret;
    let fleet = Fleet::start();
    let configure = |config: &mut ServerConfig| {
        config.webhooks.policy.allow_http_loopback = true;
        config.webhooks.tick = Duration::from_millis(50);
    };
    let (a, b) = (
        fleet.instance_configured(configure),
        fleet.instance_configured(configure),
    );
    let (tenant, _) = fleet.tenant(&a.registry, "acme");
    let http = reqwest::Client::new();
    fleet.server.block_on(async {
        let got: Arc<std::sync::Mutex<Vec<String>>> = Arc::default();
        let log = Arc::clone(&got);
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: axum::http::HeaderMap| {
                let log = Arc::clone(&log);
                async move {
                    let id = headers
                        .get("webhook-id")
                        .and_then(|value| value.to_str().ok())
                        .unwrap_or_default()
                        .to_owned();
                    log.lock().expect("log").push(id);
                    axum::http::StatusCode::NO_CONTENT
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        let registry = Arc::clone(&a.registry);
        let feed_key = off(move || {
            PgRegistry::add_webhook(
                &registry,
                tenant,
                &url,
                &[],
                &Secret::from_key([3; 32]),
                aisle_server::now_ms(),
            )
            .expect("webhook");
            PgRegistry::add_api_key(
                &registry,
                tenant,
                "erp",
                &[aisle_server::auth::Scope::FeedRead],
                aisle_server::now_ms(),
            )
            .expect("key")
            .key
        })
        .await;
        let device = enrolled(&http, &a, "dock-1").await;
        for (n, instance) in [&a, &b, &a, &b].into_iter().enumerate() {
            let first = 1 + 15 * n as u64;
            let (status, body) = push_to(
                &http,
                &instance.base(),
                &device,
                tenant,
                &receipts(&device, first, 15),
            )
            .await;
            assert_eq!(status, 200, "{body}");
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        while got.lock().expect("got").len() < 60 {
            assert!(Instant::now() < deadline, "60 deliveries within a minute");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // Time for a second worker's duplicate, were there one to come.
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        let feed: serde_json::Value = http
            .get(format!("{}/v1/t/{tenant}/erp/feed?limit=1000", b.base()))
            .bearer_auth(&feed_key)
            .send()
            .await
            .expect("feed")
            .json()
            .await
            .expect("json");
        let order: Vec<String> = feed["messages"]
            .as_array()
            .expect("messages")
            .iter()
            .map(|entry| entry["message"]["id"].as_str().expect("id").to_owned())
            .collect();
        assert_eq!(order.len(), 60);
        assert_eq!(
            *got.lock().expect("got"),
            order,
            "each message once, in the feed's order"
        );
    });
    drop((a, b));
}

/// A push on one instance wakes the delivery worker of another (through LISTEN/NOTIFY, as
/// live sync's waiting pulls are woken): instance A runs no worker, B's looks at the
/// registry only once an hour unless woken, and the receiver still gets A's message.
#[test]
fn a_push_on_one_instance_wakes_the_webhook_worker_of_another() {
    use aisle_server::webhooks::sign::Secret;
    let fleet = Fleet::start();
    let a = fleet.instance_configured(|config| config.webhooks.enabled = false);
    let b = fleet.instance_configured(|config| {
        config.webhooks.policy.allow_http_loopback = true;
        config.webhooks.tick = Duration::from_secs(3_600);
    });
    let (tenant, _) = fleet.tenant(&a.registry, "acme");
    let http = reqwest::Client::new();
    fleet.server.block_on(async {
        let got: Arc<std::sync::Mutex<usize>> = Arc::default();
        let count = Arc::clone(&got);
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move || {
                let count = Arc::clone(&count);
                async move {
                    *count.lock().expect("count") += 1;
                    axum::http::StatusCode::NO_CONTENT
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        let device = enrolled(&http, &a, "dock-1").await;
        let registry = Arc::clone(&a.registry);
        off(move || {
            PgRegistry::add_webhook(
                &registry,
                tenant,
                &url,
                &[],
                &Secret::from_key([4; 32]),
                aisle_server::now_ms(),
            )
            .expect("webhook")
        })
        .await;
        let (status, body) =
            push_to(&http, &a.base(), &device, tenant, &receipts(&device, 1, 3)).await;
        assert_eq!(status, 200, "{body}");
        // Far less than B's hour-long tick: only the wake from A's push can bring them.
        let deadline = Instant::now() + Duration::from_secs(60);
        while *got.lock().expect("count") < 3 {
            assert!(
                Instant::now() < deadline,
                "B's worker delivers A's messages without waiting for its tick"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    drop((a, b));
}
