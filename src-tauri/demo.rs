//! Demo mode: a real aisle-server on 127.0.0.1 inside the app, with a demo tenant, so a
//! newcomer sees the whole loop (record offline, sync, pull another device's work)
//! without setting up a server.
//!
//! The server is the real one (`aisle_server::serve`) over its own data directory. It is
//! seeded once, the way a tenant's IT would: the registry makes the tenant, warehouse and
//! an API key; master data goes in over the ERP API; a "dock PC" device enrolls and pushes
//! a few receipts (which this PC then pulls); and this PC enrolls with a one-time code
//! through `aisle_sync::enroll`, its token going to the OS keyring like any other.

use aisle_core::event::EventBody;
use aisle_core::ids::{DeviceId, EventId, ItemId, LocationId, TenantId, UserId, WarehouseId};
use aisle_core::{Event, EventVersion, Hlc};
use aisle_server::auth::Scope;
use aisle_server::{registry_path, Registry, ServerConfig};
use aisle_store::master::PinHash;
use aisle_sync::{DeviceProfile, EnrollForm, SyncConfig, TokenStore};
use serde_json::json;
use std::path::{Path, PathBuf};

/// The profile name of the demo, which is also its keyring entry.
pub const DEMO_PROFILE: &str = "demo";
/// The demo server's port on 127.0.0.1; `AISLE_DEMO_PORT` overrides it.
const DEFAULT_PORT: u16 = 47_810;

/// Badges and PINs of the demo users, shown on the sign-in screen in demo mode.
pub const DEMO_USERS: [(&str, &str, &str, &str); 2] = [
    ("1001", "Pia Picker", "picker", "1234"),
    // Six digits: the tenant minimum for managers and admins (issue 12).
    ("9001", "Max Manager", "manager", "999999"),
];

/// The running demo server; dropping it stops the server.
#[derive(Debug)]
pub struct DemoServer {
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for DemoServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

fn port() -> u16 {
    std::env::var("AISLE_DEMO_PORT")
        .ok()
        .and_then(|port| port.parse().ok())
        .unwrap_or(DEFAULT_PORT)
}

/// Starts the demo server over `data_dir` (seeding it the first time) and returns it with
/// this PC's demo profile, enrolling the PC if it has no demo profile yet.
pub async fn start(
    data_dir: &Path,
    known_profile: Option<DeviceProfile>,
    tokens: &dyn TokenStore,
) -> Result<(DemoServer, DeviceProfile), String> {
    let server_dir: PathBuf = data_dir.join("demo-server");
    std::fs::create_dir_all(&server_dir)
        .map_err(|error| format!("cannot create {}: {error}", server_dir.display()))?;
    let config = ServerConfig::new(server_dir.clone(), 16);
    let address = format!("127.0.0.1:{}", port());
    let listener = tokio::net::TcpListener::bind(&address).await.map_err(|error| {
        format!("cannot start the demo server on {address} ({error}); is another Aisle demo running? set AISLE_DEMO_PORT to use another port")
    })?;
    let url = format!("http://{address}/");
    // Opened (and on the first start, created) before the server task opens it too: two
    // first opens at once would both run the registry's migration, and one would fail.
    let registry =
        Registry::open(&registry_path(&server_dir)).map_err(|error| error.to_string())?;
    let (sender, receiver) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let served = aisle_server::serve(config, listener, async move {
            let _ = receiver.await;
        })
        .await;
        if let Err(error) = served {
            tracing::error!(%error, "the demo server stopped");
        }
    });
    let server = DemoServer {
        shutdown: Some(sender),
    };
    let (tenant, warehouse) = match registry
        .list_tenants()
        .map_err(|error| error.to_string())?
        .into_iter()
        .find(|row| row.name == "demo")
    {
        Some(row) => {
            let warehouse = registry
                .resolve_warehouse(row.id, "main")
                .map_err(|error| error.to_string())?;
            (row.id, warehouse)
        }
        None => seed(&registry, &url).await?,
    };
    if let Some(profile) = known_profile.filter(|profile| {
        profile.tenant == tenant && tokens.load(&profile.name).ok().flatten().is_some()
    }) {
        return Ok((server, profile));
    }
    let code = registry
        .create_enrollment_code(tenant, warehouse, 60 * 60 * 1000, crate::now_ms() as i64)
        .map_err(|error| error.to_string())?;
    let device_name = format!("{} (demo)", hostname());
    let profile = aisle_sync::enroll(
        &EnrollForm {
            server_url: &url,
            code: &code,
            device_name: &device_name,
            profile_name: DEMO_PROFILE,
            allow_insecure_http: false,
        },
        tokens,
        &SyncConfig::default(),
    )
    .await
    .map_err(|error| format!("cannot enroll this PC with the demo server: {error}"))?;
    Ok((server, profile))
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "this PC".into())
}

/// Makes the demo tenant and fills it: master data over the ERP API, then a dock PC's
/// receipts, so the first sync of this PC pulls real stock.
async fn seed(registry: &Registry, url: &str) -> Result<(TenantId, WarehouseId), String> {
    let now = crate::now_ms() as i64;
    let tenant = registry
        .add_tenant("demo", now)
        .map_err(|error| error.to_string())?;
    let warehouse = registry
        .add_warehouse(tenant, "main", now)
        .map_err(|error| error.to_string())?;
    let key = registry
        .add_api_key(tenant, "demo seed", &[Scope::MasterWrite], now)
        .map_err(|error| error.to_string())?;
    let http = reqwest::Client::new();
    let erp = |collection: &str| format!("{url}v1/t/{tenant}/erp/{collection}");
    let items: Vec<_> = [
        ("BOLT-M6", "Hex bolt M6x30", "4006381333931", false),
        ("NUT-M6", "Hex nut M6", "5901234123457", false),
        ("GLUE-50", "Wood glue 50 ml", "8712345000011", true),
        ("TAPE-19", "Insulating tape 19 mm", "8712345000028", false),
        ("GLOVE-L", "Work gloves, size L", "8712345000035", false),
        ("LAMP-E27", "LED lamp E27 806 lm", "8712345000042", true),
    ]
    .into_iter()
    .map(|(sku, name, ean, lot_tracked)| {
        json!({ "sku": sku, "name": name, "base_unit": "each", "lot_tracked": lot_tracked,
                "barcodes": [{ "code": ean, "pack_qty": 1 }] })
    })
    .collect();
    let locations: Vec<_> = [
        ("DOCK-1", "Inbound dock", 0),
        ("A-01-01", "Aisle A, bay 1, level 1", 10),
        ("A-01-02", "Aisle A, bay 1, level 2", 20),
        ("A-02-01", "Aisle A, bay 2, level 1", 30),
        ("B-01-01", "Aisle B, bay 1, level 1", 40),
        ("B-02-01", "Aisle B, bay 2, level 1", 50),
        ("PACK-1", "Packing station", 90),
    ]
    .into_iter()
    .map(|(code, name, walk)| {
        json!({ "warehouse": "main", "code": code, "name": name, "walk_order": walk })
    })
    .collect();
    let mut users = Vec::new();
    for (badge, name, role, pin) in DEMO_USERS {
        let hash = PinHash::new(pin).map_err(|error| error.to_string())?;
        users.push(
            json!({ "badge": badge, "name": name, "role": role, "pin_hash": hash.as_phc(),
                "warehouses": ["main"] }),
        );
    }
    let pick_lists = json!([
        { "warehouse": "main", "reference": "SO-1001", "lines": [
            { "line": 1, "sku": "BOLT-M6", "location": "A-01-01", "qty": 4 },
            { "line": 2, "sku": "NUT-M6", "location": "A-01-02", "qty": 4 },
            { "line": 3, "sku": "TAPE-19", "location": "B-01-01", "qty": 1 } ] },
        { "warehouse": "main", "reference": "SO-1002", "lines": [
            { "line": 1, "sku": "GLOVE-L", "location": "A-02-01", "qty": 2 },
            { "line": 2, "sku": "BOLT-M6", "location": "A-01-01", "qty": 10 } ] }
    ]);
    for (collection, body) in [
        ("items", json!({ "items": items })),
        ("locations", json!({ "locations": locations })),
        ("users", json!({ "users": users })),
        ("pick_lists", json!({ "pick_lists": pick_lists })),
    ] {
        let answer = http
            .put(erp(collection))
            .bearer_auth(&key.key)
            .json(&body)
            .send()
            .await
            .map_err(|error| format!("seeding the demo {collection}: {error}"))?;
        if !answer.status().is_success() {
            let status = answer.status();
            let text = answer.text().await.unwrap_or_default();
            return Err(format!("seeding the demo {collection}: {status} {text}"));
        }
    }
    dock_pc_receipts(registry, &http, url, tenant, warehouse).await?;
    Ok((tenant, warehouse))
}

/// A second device, "dock PC", receives the opening stock, so this PC's first sync shows
/// events arriving from elsewhere.
async fn dock_pc_receipts(
    registry: &Registry,
    http: &reqwest::Client,
    url: &str,
    tenant: TenantId,
    warehouse: WarehouseId,
) -> Result<(), String> {
    let code = registry
        .create_enrollment_code(tenant, warehouse, 60 * 1000, crate::now_ms() as i64)
        .map_err(|error| error.to_string())?;
    let enrolled: serde_json::Value = http
        .post(format!("{url}v1/enroll"))
        .json(&json!({ "code": code, "device_name": "dock PC (demo)" }))
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|error| format!("enrolling the demo dock PC: {error}"))?
        .json()
        .await
        .map_err(|error| error.to_string())?;
    let token = enrolled["token"].as_str().unwrap_or_default().to_string();
    let device: DeviceId = enrolled["device"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .ok_or("the enrollment answer has no device id")?;
    let master: serde_json::Value = http
        .get(format!("{url}v1/t/{tenant}/master"))
        .bearer_auth(&token)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|error| format!("reading the demo master data: {error}"))?
        .json()
        .await
        .map_err(|error| error.to_string())?;
    let id_of = |collection: &str, field: &str, value: &str| -> Option<String> {
        master[collection]
            .as_array()?
            .iter()
            .find(|row| row[field] == value)
            .and_then(|row| row["id"].as_str().map(str::to_string))
    };
    let user: UserId = id_of("users", "badge", "9001")
        .and_then(|id| id.parse().ok())
        .ok_or("the demo manager is missing")?;
    let opening = [
        ("BOLT-M6", "A-01-01", 40),
        ("NUT-M6", "A-01-02", 60),
        ("TAPE-19", "B-01-01", 12),
        ("GLOVE-L", "A-02-01", 8),
        ("LAMP-E27", "B-02-01", 5),
    ];
    let start_ms = crate::now_ms();
    let mut events = Vec::new();
    for (n, (sku, location, qty)) in opening.into_iter().enumerate() {
        let item: ItemId = id_of("items", "sku", sku)
            .and_then(|id| id.parse().ok())
            .ok_or_else(|| format!("demo item {sku} is missing"))?;
        let location: LocationId = id_of("locations", "code", location)
            .and_then(|id| id.parse().ok())
            .ok_or_else(|| format!("demo location {location} is missing"))?;
        let hlc = Hlc::new(start_ms, n as u16);
        let mut random = [0u8; 10];
        random[0] = n as u8;
        random[1..9].copy_from_slice(&device.as_bytes()[8..16]);
        events.push(Event {
            v: EventVersion::CURRENT,
            id: EventId::new_v7(start_ms, random),
            tenant,
            warehouse,
            device,
            user,
            hlc,
            clock_correction_ms: 0,
            replaces: None,
            body: EventBody::Received {
                location,
                item,
                lot: None,
                expiry: None,
                qty,
            },
        });
    }
    http.post(format!("{url}v1/t/{tenant}/events"))
        .bearer_auth(&token)
        .json(&json!({ "events": events }))
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|error| format!("pushing the demo dock PC's receipts: {error}"))?;
    Ok(())
}
