//! The admin CLI's master-data commands, part of the `aisle-server` binary: CSV import
//! (`import`), ERP API keys (`api-key`) and stock export (`export stock`).
//!
//! These act as the operator at the server's console, through
//! `IntegrationContext::local_operator` and the same `Storage` the HTTP API uses, so an
//! import is validated and versioned exactly like an ERP upsert. An API key is printed once,
//! on stdout, and never again; PINs from a users file are hashed and never printed.

use aisle_server::auth::{IntegrationContext, MasterWrite, Scope, StockRead};
use aisle_server::import::{self, Kind};
use aisle_server::registry::ApiKeyId;
use aisle_server::storage::Storage;
use aisle_server::Registry;
use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Import items with their barcodes and pack sizes, by SKU.
    #[command(
        after_help = "Example:\n  aisle-server import items acme items.csv\n  imported 2 items into acme (master version 2)\n\nitems.csv:\n  sku,name,base_unit,lot_tracked,barcodes\n  SKU-1,Blue widget,each,no,4006381333931;4006381333948:12\n  SKU-2,Red widget,each,yes,\n\nColumns in any order; sku and name are required. A barcode is `code` or `code:pack_qty`\n(base units per scan), several separated by `;`. One bad row imports nothing of the file."
    )]
    Items(ImportArgs),
    /// Import locations of the tenant's warehouses, by warehouse and code.
    #[command(
        after_help = "Example:\n  aisle-server import locations acme locations.csv\n  imported 2 locations into acme (master version 4)\n\nlocations.csv:\n  warehouse,code,name,walk_order\n  north-dc,A-01-01,Aisle A bay 1,10\n  north-dc,A-01-02,Aisle A bay 2,20\n\nwarehouse is a warehouse's name or id. One bad row imports nothing of the file."
    )]
    Locations(ImportArgs),
    /// Import users, by badge; each PIN is hashed with argon2id and never stored.
    #[command(
        after_help = "Example:\n  aisle-server import users acme users.csv\n  imported 2 users into acme (master version 6)\n\nusers.csv:\n  badge,name,role,pin,active,warehouses\n  B-1001,Ana Lima,picker,4821,yes,north-dc\n  B-1002,Ben Ode,manager,906113,yes,north-dc;south-dc\n\nrole is picker, manager or admin; a PIN is 4 to 12 digits. Delete the file afterwards:\nit holds plain PINs. warehouses names the user's warehouses (names or ids, `;`-separated);
only their PCs get the user. One bad row imports nothing of the file."
    )]
    Users(ImportArgs),
    /// Import pick lists, one row per line, grouped by warehouse and reference.
    #[command(
        after_help = "Example:\n  aisle-server import picklists acme picklists.csv\n  imported 1 pick lists into acme (master version 7)\n\npicklists.csv:\n  warehouse,reference,line,sku,location,qty,lot,status\n  north-dc,SO-1042,1,SKU-1,A-01-01,12,,open\n  north-dc,SO-1042,2,SKU-2,A-01-02,3,L24-07,open\n\nItems are named by SKU and locations by code, and must exist already. A list's lines\nreplace its earlier lines. One bad row imports nothing of the file."
    )]
    Picklists(ImportArgs),
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Tenant name or id.
    tenant: String,
    /// The CSV file, with a header row.
    file: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Make an API key for an ERP integration; prints the key, once.
    #[command(
        after_help = "Example:\n  aisle-server api-key add acme --scope master:write --scope stock:read --name sap-prod\n  aisle_key_9f2c…(64 hex digits)\n\nThe key is printed once and stored only as its SHA-256; the ERP sends it as\n`Authorization: Bearer aisle_key_…`. Scopes: master:write, stock:read, feed:read."
    )]
    Add {
        /// Tenant name or id.
        tenant: String,
        /// A scope the key holds; repeat for several.
        #[arg(long = "scope", required = true)]
        scopes: Vec<Scope>,
        /// A label for operators, e.g. the ERP's name.
        #[arg(long, default_value = "erp")]
        name: String,
    },
    /// List a tenant's API keys: id, name, scopes, active or revoked (never the keys).
    #[command(
        after_help = "Example:\n  aisle-server api-key list acme\n  0193a5c9-…\tsap-prod\tmaster:write stock:read\tactive"
    )]
    List {
        /// Tenant name or id.
        tenant: String,
    },
    /// Revoke an API key at once; its next request gets `401 revoked_key`.
    #[command(
        after_help = "Example:\n  aisle-server api-key revoke 0193a5c9-4e1f-7b20-9c3d-5e6f7a8b9c0d"
    )]
    Revoke { key: ApiKeyId },
}

#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// Print a tenant's on-hand stock (the server's projection) to stdout.
    #[command(
        after_help = "Example:\n  aisle-server export stock acme --warehouse north-dc --format csv > stock.csv\n\nCSV columns: warehouse,location,sku,lot,on_hand,location_id,item_id (location and sku\nare empty when master data does not know the id). JSON is the body of\nGET /v1/t/{tenant}/erp/stock."
    )]
    Stock {
        /// Tenant name or id.
        tenant: String,
        /// Only this warehouse (name or id); all of the tenant's when absent.
        #[arg(long)]
        warehouse: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Csv)]
        format: Format,
    },
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Csv,
    Json,
}

#[derive(Debug, Args)]
pub struct SetPinPolicyArgs {
    /// Tenant name or id.
    tenant: String,
    /// The fewest digits of a picker's PIN.
    #[arg(long, default_value_t = 4)]
    picker_min: u8,
    /// The fewest digits of a manager's or admin's PIN.
    #[arg(long, default_value_t = 6)]
    manager_min: u8,
}

/// `tenant set-pin-policy`: stores the tenant's PIN minimums in its database, from where
/// ERP upserts, imports and devices' master-data pulls read them.
pub fn set_pin_policy(
    storage: &dyn Storage,
    registry: Arc<dyn Registry>,
    args: SetPinPolicyArgs,
) -> anyhow::Result<()> {
    let policy =
        aisle_pin::PinPolicy::new(args.picker_min, args.manager_min).map_err(anyhow::Error::msg)?;
    let tenant = registry.resolve_tenant(&args.tenant)?;
    let context = IntegrationContext::<MasterWrite>::local_operator(&*registry, tenant)?;
    storage.set_pin_policy(&context, policy)?;
    println!(
        "{}: pickers need {} digits, managers and admins {}",
        args.tenant, policy.picker_min_digits, policy.manager_min_digits
    );
    Ok(())
}

pub fn import(
    storage: &dyn Storage,
    registry: Arc<dyn Registry>,
    command: ImportCommand,
) -> anyhow::Result<()> {
    let (kind, args) = match command {
        ImportCommand::Items(args) => (Kind::Items, args),
        ImportCommand::Locations(args) => (Kind::Locations, args),
        ImportCommand::Users(args) => (Kind::Users, args),
        ImportCommand::Picklists(args) => (Kind::PickLists, args),
    };
    let tenant = registry.resolve_tenant(&args.tenant)?;
    let context = IntegrationContext::<MasterWrite>::local_operator(&*registry, tenant)?;
    let warehouses = registry.list_warehouses(tenant)?;
    let file = std::fs::File::open(&args.file)
        .with_context(|| format!("cannot open {}", args.file.display()))?;
    let size = file.metadata().map_or(0, |metadata| metadata.len());
    // A bar only for a person watching; scripts and tests read plain stderr.
    let bar = if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(size);
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {bytes}/{total_bytes} {eta}")
        {
            bar.set_style(style);
        }
        bar.set_message(format!("reading {}", kind.noun()));
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let outcome = import::import_csv(
        storage,
        &context,
        &warehouses,
        kind,
        std::io::BufReader::new(file),
        &mut |bytes| bar.set_position(bytes),
        aisle_server::now_ms(),
    )
    .with_context(|| format!("importing {}", args.file.display()))?;
    bar.finish_and_clear();
    match outcome {
        Ok(upserted) => {
            println!(
                "imported {} {} into {} (master version {})",
                upserted.n_records,
                kind.noun(),
                args.tenant,
                upserted.version
            );
            Ok(())
        }
        Err(refused) => anyhow::bail!(
            "{}: {refused}; nothing from the file was imported",
            args.file.display()
        ),
    }
}

pub fn api_key(registry: &dyn Registry, command: ApiKeyCommand, now_ms: i64) -> anyhow::Result<()> {
    match command {
        ApiKeyCommand::Add {
            tenant,
            scopes,
            name,
        } => {
            let tenant_id = registry.resolve_tenant(&tenant)?;
            let made = registry.add_api_key(tenant_id, &name, &scopes, now_ms)?;
            let mut stdout = std::io::stdout();
            writeln!(stdout, "{}", made.key)?;
            stdout.flush()?;
            eprintln!(
                "api key {} for {tenant}: store it now, it is not shown again",
                made.id
            );
        }
        ApiKeyCommand::List { tenant } => {
            let tenant = registry.resolve_tenant(&tenant)?;
            for key in registry.list_api_keys(tenant)? {
                let scopes: Vec<&str> = key.scopes.iter().map(|scope| scope.as_str()).collect();
                let state = if key.revoked { "revoked" } else { "active" };
                println!("{}\t{}\t{}\t{state}", key.id, key.name, scopes.join(" "));
            }
        }
        ApiKeyCommand::Revoke { key } => {
            if !registry.revoke_api_key(key, now_ms)? {
                anyhow::bail!("no api key {key}");
            }
            println!("revoked {key}");
        }
    }
    Ok(())
}

pub fn export(
    storage: &dyn Storage,
    registry: Arc<dyn Registry>,
    command: ExportCommand,
) -> anyhow::Result<()> {
    let ExportCommand::Stock {
        tenant,
        warehouse,
        format,
    } = command;
    let tenant = registry.resolve_tenant(&tenant)?;
    let context = IntegrationContext::<StockRead>::local_operator(&*registry, tenant)?;
    let warehouses = registry.list_warehouses(tenant)?;
    let only = match warehouse.as_deref() {
        None => None,
        Some(id_or_name) => Some(
            aisle_server::master::resolve_warehouse(&warehouses, id_or_name)
                .with_context(|| format!("no warehouse {id_or_name:?} in this tenant"))?,
        ),
    };
    let rows = storage.tenant_stock(&context, only)?;
    let stdout = std::io::stdout();
    match format {
        Format::Json => {
            let body = aisle_protocol::ErpStockResponse {
                rows,
                server_time_ms: aisle_server::now_ms(),
            };
            let mut out = stdout.lock();
            serde_json::to_writer_pretty(&mut out, &body)?;
            writeln!(out)?;
        }
        Format::Csv => {
            let name_of = |id: &aisle_core::ids::WarehouseId| {
                warehouses
                    .iter()
                    .find(|(warehouse, _)| warehouse == id)
                    .map_or_else(|| id.to_string(), |(_, name)| name.clone())
            };
            let mut out = csv::Writer::from_writer(stdout.lock());
            out.write_record([
                "warehouse",
                "location",
                "sku",
                "lot",
                "on_hand",
                "location_id",
                "item_id",
            ])?;
            for row in rows {
                out.write_record([
                    name_of(&row.warehouse),
                    row.location_code.unwrap_or_default(),
                    row.sku.unwrap_or_default(),
                    row.lot.unwrap_or_default(),
                    row.on_hand.to_string(),
                    row.location.to_string(),
                    row.item.to_string(),
                ])?;
            }
            out.flush()?;
        }
    }
    Ok(())
}
