//! Fuzzes the CSV import of master data (`aisle_server::import::import_csv`), end to end:
//! the first byte picks the kind of file (items, locations, users, pick lists), the rest is
//! the file, imported into a real tenant database in a temporary data directory made once
//! per process.
//!
//! Invariants: nothing panics; the outcome is either rows written or a specific refusal,
//! an `ImportError` that names a line of the file and says why; never a `ServerError`,
//! which would reach an operator as a database failure caused by their file.
//!
//! The database keeps what earlier inputs imported (opening a fresh one per input would
//! cost more than the import), so a pick list can refer to an item an earlier input made.

#![no_main]

use aisle_server::auth::{IntegrationContext, MasterWrite};
use aisle_server::import::{import_csv, Kind};
use aisle_server::pool::TenantPools;
use aisle_server::storage::SqliteStorage;
use aisle_server::{Registry, SqliteRegistry};
use libfuzzer_sys::fuzz_target;
use std::sync::{Arc, OnceLock};

struct Tenant {
    storage: SqliteStorage,
    context: IntegrationContext<MasterWrite>,
    warehouses: Vec<(aisle_core::ids::WarehouseId, String)>,
}

fn tenant() -> &'static Tenant {
    static TENANT: OnceLock<Tenant> = OnceLock::new();
    TENANT.get_or_init(|| {
        // Kept for the life of the process; the OS removes it from /tmp eventually.
        let data_dir = tempfile::tempdir().expect("temp dir").keep();
        // As `aisle-server` makes it before it opens anything.
        std::fs::create_dir_all(data_dir.join("tenants")).expect("tenants dir");
        let registry = SqliteRegistry::open(&aisle_server::registry_path(&data_dir)).expect("registry");
        let now_ms = 1_780_000_000_000;
        let tenant = registry.add_tenant("fuzz", now_ms).expect("tenant");
        registry
            .add_warehouse(tenant, "main", now_ms)
            .expect("warehouse");
        registry
            .add_warehouse(tenant, "north", now_ms)
            .expect("warehouse");
        let warehouses = registry.list_warehouses(tenant).expect("warehouses");
        let registry = Arc::new(registry);
        let context = IntegrationContext::<MasterWrite>::local_operator(&*registry, tenant)
            .expect("operator context");
        let storage = SqliteStorage::new(TenantPools::new(data_dir, registry, 1));
        Tenant {
            storage,
            context,
            warehouses,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, file)) = data.split_first() else {
        return;
    };
    let kind = match selector % 4 {
        0 => Kind::Items,
        1 => Kind::Locations,
        2 => Kind::Users,
        _ => Kind::PickLists,
    };
    let tenant = tenant();
    let outcome = import_csv(
        &tenant.storage,
        &tenant.context,
        &tenant.warehouses,
        kind,
        file,
        &mut |_bytes| {},
        1_780_000_000_000,
    )
    .unwrap_or_else(|error| panic!("a {kind:?} file made a server error: {error:?}"));
    if let Err(refused) = outcome {
        assert!(
            refused.line >= 1,
            "a refusal names a line of the file: {refused:?}"
        );
        assert!(
            !refused.message.is_empty(),
            "a refusal says why: {refused:?}"
        );
    }
});
