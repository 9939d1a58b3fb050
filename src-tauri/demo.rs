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
use aisle_protocol::{
    EnrollRequest, EnrollResponse, ErpItem, ErpItems, ErpLocation, ErpLocations, ErpPickLine,
    ErpPickList, ErpPickLists, ErpUser, ErpUsers, MasterBarcode, MasterResponse, PushRequest,
};
use aisle_server::auth::Scope;
use aisle_server::{registry_path, Registry, ServerConfig, SqliteRegistry};
use aisle_store::master::PinHash;
use aisle_sync::{DeviceProfile, EnrollForm, SyncConfig, TokenStore};
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
        SqliteRegistry::open(&registry_path(&server_dir)).map_err(|error| error.to_string())?;
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
async fn seed(registry: &SqliteRegistry, url: &str) -> Result<(TenantId, WarehouseId), String> {
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
    let items = [
        ("BOLT-M6", "Hex bolt M6x30", "4006381333931", false),
        ("NUT-M6", "Hex nut M6", "5901234123457", false),
        ("GLUE-50", "Wood glue 50 ml", "8712345000011", true),
        ("TAPE-19", "Insulating tape 19 mm", "8712345000028", false),
        ("GLOVE-L", "Work gloves, size L", "8712345000035", false),
        ("LAMP-E27", "LED lamp E27 806 lm", "8712345000042", true),
    ]
    .into_iter()
    .map(|(sku, name, ean, lot_tracked)| ErpItem {
        sku: sku.into(),
        name: name.into(),
        base_unit: "each".into(),
        lot_tracked,
        barcodes: vec![MasterBarcode {
            code: ean.into(),
            pack_qty: 1,
        }],
    })
    .collect();
    let locations = [
        ("DOCK-1", "Inbound dock", 0),
        ("A-01-01", "Aisle A, bay 1, level 1", 10),
        ("A-01-02", "Aisle A, bay 1, level 2", 20),
        ("A-02-01", "Aisle A, bay 2, level 1", 30),
        ("B-01-01", "Aisle B, bay 1, level 1", 40),
        ("B-02-01", "Aisle B, bay 2, level 1", 50),
        ("PACK-1", "Packing station", 90),
    ]
    .into_iter()
    .map(|(code, name, walk_order)| ErpLocation {
        warehouse: "main".into(),
        code: code.into(),
        name: name.into(),
        walk_order,
    })
    .collect();
    let mut users = Vec::new();
    for (badge, name, role, pin) in DEMO_USERS {
        let hash = PinHash::new(pin).map_err(|error| error.to_string())?;
        users.push(ErpUser {
            badge: badge.into(),
            name: name.into(),
            role: role.into(),
            pin_hash: Some(hash.as_phc().to_owned()),
            pin: None,
            active: true,
            warehouses: vec!["main".into()],
        });
    }
    let pick_list = |reference: &str, lines: &[(&str, &str, i64)]| ErpPickList {
        warehouse: "main".into(),
        reference: reference.into(),
        status: "open".into(),
        lines: (1..)
            .zip(lines)
            .map(|(line, (sku, location, qty))| ErpPickLine {
                line,
                sku: (*sku).into(),
                location: (*location).into(),
                lot: None,
                qty: *qty,
            })
            .collect(),
    };
    let pick_lists = vec![
        pick_list(
            "SO-1001",
            &[
                ("BOLT-M6", "A-01-01", 4),
                ("NUT-M6", "A-01-02", 4),
                ("TAPE-19", "B-01-01", 1),
            ],
        ),
        pick_list(
            "SO-1002",
            &[("GLOVE-L", "A-02-01", 2), ("BOLT-M6", "A-01-01", 10)],
        ),
    ];
    let erp = Erp {
        http: &http,
        url,
        tenant,
        key: &key.key,
    };
    erp.put("items", &ErpItems { items }).await?;
    erp.put("locations", &ErpLocations { locations }).await?;
    erp.put("users", &ErpUsers { users }).await?;
    erp.put("pick_lists", &ErpPickLists { pick_lists }).await?;
    dock_pc_receipts(registry, &http, url, tenant, warehouse).await?;
    Ok((tenant, warehouse))
}

/// The demo seed's ERP: master data over the ERP API with the seed's API key.
struct Erp<'a> {
    http: &'a reqwest::Client,
    url: &'a str,
    tenant: TenantId,
    key: &'a str,
}

impl Erp<'_> {
    async fn put(&self, collection: &str, body: &impl serde::Serialize) -> Result<(), String> {
        let answer = self
            .http
            .put(format!("{}v1/t/{}/erp/{collection}", self.url, self.tenant))
            .bearer_auth(self.key)
            .json(body)
            .send()
            .await
            .map_err(|error| format!("seeding the demo {collection}: {error}"))?;
        if !answer.status().is_success() {
            let status = answer.status();
            let text = answer.text().await.unwrap_or_default();
            return Err(format!("seeding the demo {collection}: {status} {text}"));
        }
        Ok(())
    }
}

/// A second device, "dock PC", receives the opening stock, so this PC's first sync shows
/// events arriving from elsewhere.
async fn dock_pc_receipts(
    registry: &SqliteRegistry,
    http: &reqwest::Client,
    url: &str,
    tenant: TenantId,
    warehouse: WarehouseId,
) -> Result<(), String> {
    let code = registry
        .create_enrollment_code(tenant, warehouse, 60 * 1000, crate::now_ms() as i64)
        .map_err(|error| error.to_string())?;
    let enrolled: EnrollResponse = http
        .post(format!("{url}v1/enroll"))
        .json(&EnrollRequest {
            code,
            device_name: "dock PC (demo)".into(),
        })
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|error| format!("enrolling the demo dock PC: {error}"))?
        .json()
        .await
        .map_err(|error| error.to_string())?;
    let token = enrolled.token;
    let device: DeviceId = enrolled.device;
    let master: MasterResponse = http
        .get(format!("{url}v1/t/{tenant}/master"))
        .bearer_auth(&token)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|error| format!("reading the demo master data: {error}"))?
        .json()
        .await
        .map_err(|error| error.to_string())?;
    let user: UserId = master
        .users
        .iter()
        .find(|user| user.badge == "9001")
        .map(|user| user.id)
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
        let item: ItemId = master
            .items
            .iter()
            .find(|item| item.sku == sku)
            .map(|item| item.id)
            .ok_or_else(|| format!("demo item {sku} is missing"))?;
        let location: LocationId = master
            .locations
            .iter()
            .find(|row| row.code == location)
            .map(|row| row.id)
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
                receipt: None,
            },
        });
    }
    http.post(format!("{url}v1/t/{tenant}/events"))
        .bearer_auth(&token)
        .json(&PushRequest { events: &events })
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|error| format!("pushing the demo dock PC's receipts: {error}"))?;
    Ok(())
}
