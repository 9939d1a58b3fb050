//! Shared setup: a data directory with tenants and enrolled devices, a running server, and
//! event builders that stamp events with a device's real tenant, warehouse and device.

use aisle_core::event::EventBody;
use aisle_core::ids::{DeviceId, TenantId, WarehouseId};
use aisle_core::testkit::Events;
use aisle_core::Event;
use aisle_server::{Registry as _, RunningServer, ServerConfig, SqliteRegistry};
use serde_json::Value;
use std::path::Path;

/// A data directory and a server over it; dropping it stops the server.
pub struct World {
    pub dir: tempfile::TempDir,
    pub server: RunningServer,
    pub registry: SqliteRegistry,
    pub http: reqwest::Client,
}

/// An enrolled device and its token.
#[derive(Clone, Debug)]
pub struct Device {
    pub tenant: TenantId,
    pub warehouse: WarehouseId,
    pub device: DeviceId,
    pub token: String,
}

impl World {
    pub async fn start(max_open_tenants: usize) -> World {
        World::start_with(max_open_tenants, |_| {}).await
    }

    /// A world whose server's configuration `configure` changed first (limits, mostly).
    pub async fn start_with(
        max_open_tenants: usize,
        configure: impl FnOnce(&mut ServerConfig),
    ) -> World {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = ServerConfig::new(dir.path().to_owned(), max_open_tenants);
        configure(&mut config);
        let server = RunningServer::start(config).await.expect("server starts");
        let registry =
            SqliteRegistry::open(&aisle_server::registry_path(dir.path())).expect("registry opens");
        World {
            dir,
            server,
            registry,
            http: reqwest::Client::new(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        self.server.url(path)
    }

    /// A tenant with one warehouse.
    pub fn tenant(&self, name: &str) -> (TenantId, WarehouseId) {
        let tenant = self.registry.add_tenant(name, 1).expect("add tenant");
        let warehouse = self
            .registry
            .add_warehouse(tenant, "main", 1)
            .expect("add warehouse");
        (tenant, warehouse)
    }

    pub fn code(&self, tenant: TenantId, warehouse: WarehouseId) -> String {
        self.registry
            .create_enrollment_code(tenant, warehouse, 3_600_000, aisle_server::now_ms())
            .expect("enrollment code")
    }

    /// Enrolls a device through the real `POST /v1/enroll`.
    pub async fn enroll(&self, tenant: TenantId, warehouse: WarehouseId, name: &str) -> Device {
        let code = self.code(tenant, warehouse);
        let (status, body) = post_json(
            &self.http,
            &self.url("/v1/enroll"),
            None,
            &serde_json::json!({ "code": code, "device_name": name }),
        )
        .await;
        assert_eq!(status, 200, "enrollment succeeds: {body}");
        let id = |field: &str| body[field].as_str().expect(field).parse().expect(field);
        Device {
            tenant: TenantId::from_uuid(id("tenant")),
            warehouse: WarehouseId::from_uuid(id("warehouse")),
            device: DeviceId::from_uuid(id("device")),
            token: body["token"].as_str().expect("token").to_owned(),
        }
    }

    pub async fn push(&self, device: &Device, events: &[Event]) -> (u16, Value) {
        push_to(&self.http, &self.url(""), device, device.tenant, events).await
    }

    /// Every event of the device's warehouse, following `next` to the end.
    pub async fn pull_all(&self, device: &Device) -> Vec<(u64, Event)> {
        pull_all_from(&self.http, &self.url(""), device).await
    }
}

/// The address a just-spawned `aisle-server serve` (stdout piped) says it listens on: its
/// first line, `listening on ADDR`.
pub fn listening_addr(server: &mut std::process::Child) -> String {
    use std::io::{BufRead, BufReader};
    let mut line = String::new();
    BufReader::new(server.stdout.take().expect("the server's stdout is piped"))
        .read_line(&mut line)
        .expect("the server says where it listens");
    line.trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("serve prints its address first, got {line:?}"))
        .to_owned()
}

pub async fn post_json(
    http: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    body: &Value,
) -> (u16, Value) {
    let mut request = http.post(url).json(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("request is answered");
    let status = response.status().as_u16();
    (status, response.json().await.expect("answers are json"))
}

pub async fn get_json(http: &reqwest::Client, url: &str, token: &str) -> (u16, Value) {
    let response = http
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .expect("request is answered");
    let status = response.status().as_u16();
    (status, response.json().await.expect("answers are json"))
}

/// Pushes to `/v1/t/{url_tenant}/events` of the server at `base`.
pub async fn push_to(
    http: &reqwest::Client,
    base: &str,
    device: &Device,
    url_tenant: TenantId,
    events: &[Event],
) -> (u16, Value) {
    post_json(
        http,
        &format!("{base}/v1/t/{url_tenant}/events"),
        Some(&device.token),
        &serde_json::json!({ "events": events }),
    )
    .await
}

pub async fn pull_all_from(
    http: &reqwest::Client,
    base: &str,
    device: &Device,
) -> Vec<(u64, Event)> {
    try_pull_all_from(http, base, device)
        .await
        .unwrap_or_else(|(status, body)| panic!("pull succeeds: {status} {body}"))
}

/// Every event of `device`'s tenant log pulled from `base`, or the status and body of the
/// first page that was refused.
pub async fn try_pull_all_from(
    http: &reqwest::Client,
    base: &str,
    device: &Device,
) -> Result<Vec<(u64, Event)>, (u16, Value)> {
    let mut after = 0;
    let mut events = Vec::new();
    loop {
        let (status, body) = get_json(
            http,
            &format!(
                "{base}/v1/t/{}/events?after={after}&limit=200",
                device.tenant
            ),
            &device.token,
        )
        .await;
        if status != 200 {
            return Err((status, body));
        }
        let page = body["events"].as_array().expect("events");
        if page.is_empty() {
            return Ok(events);
        }
        for entry in page {
            let event: Event = serde_json::from_value(entry["event"].clone()).expect("an event");
            events.push((entry["seq"].as_u64().expect("seq"), event));
        }
        after = body["next"].as_u64().expect("next");
    }
}

/// The device an enrollment answer (`POST /v1/enroll`'s 200 body) names.
pub fn device_from(body: &Value) -> Device {
    let id = |field: &str| body[field].as_str().expect(field).parse().expect(field);
    Device {
        tenant: TenantId::from_uuid(id("tenant")),
        warehouse: WarehouseId::from_uuid(id("warehouse")),
        device: DeviceId::from_uuid(id("device")),
        token: body["token"].as_str().expect("token").to_owned(),
    }
}

/// Builds events stamped with the device's tenant, warehouse and device. `serial` makes
/// the id; the same serial always gives the same event.
pub fn event(device: &Device, serial: u64, wall_ms: u64, body: EventBody) -> Event {
    let mut event = Events::default().make_numbered(1, wall_ms, serial, body);
    event.tenant = device.tenant;
    event.warehouse = device.warehouse;
    event.device = device.device;
    event
}

/// `n` receipts of one unit each at location 1, item 1, with serials from `first_serial`.
pub fn receipts(device: &Device, first_serial: u64, n: u64) -> Vec<Event> {
    let key = aisle_core::testkit::key(1, 1, None);
    (0..n)
        .map(|offset| {
            let serial = first_serial + offset;
            event(
                device,
                serial,
                1_700_000_000_000 + serial,
                aisle_core::testkit::received(&key, 1),
            )
        })
        .collect()
}

/// Payloads of every event in a tenant's database file, read directly (not over HTTP).
pub fn stored_events(data_dir: &Path, tenant: TenantId) -> Vec<Event> {
    let path = aisle_server::tenant_db_path(data_dir, tenant);
    if !path.exists() {
        return Vec::new();
    }
    let conn = rusqlite::Connection::open(path).expect("open tenant db");
    let mut statement = conn
        .prepare("SELECT payload FROM events ORDER BY seq")
        .expect("events table");
    let rows = statement
        .query_map([], |row| row.get::<_, String>(0))
        .expect("query");
    rows.map(|payload| serde_json::from_str(&payload.expect("row")).expect("stored event"))
        .collect()
}

/// The seq each result of a push answer carries, in order.
pub fn result_seqs(body: &Value) -> Vec<Option<u64>> {
    body["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|result| result["seq"].as_u64())
        .collect()
}

pub fn result_statuses(body: &Value) -> Vec<String> {
    body["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|result| result["status"].as_str().expect("status").to_owned())
        .collect()
}
