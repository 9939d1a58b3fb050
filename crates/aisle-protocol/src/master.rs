//! Master data on the wire: the device's download (`GET /v1/t/{tenant}/master`), which names
//! rows by typed id, and the ERP integration API (`/v1/t/{tenant}/erp/...`), which names
//! them by natural key (SKU, location code, badge, reference) and warehouses by name or id.
//!
//! The ERP shapes are what an ERP sends; whether a record is valid (lengths, a PHC string,
//! a known role) is decided where the server converts it to its domain types.

use aisle_core::ids::{DeviceId, ItemId, LocationId, PickListId, UserId, WarehouseId};
use serde::{Deserialize, Serialize};

/// The query of `GET /v1/t/{tenant}/master`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct MasterQuery {
    /// The `next` of the previous page; 0 (the default) for everything.
    #[serde(default)]
    pub after: u64,
    /// Rows per page (default 500); the server clamps it to 1..=5,000.
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 5_000))]
    pub limit: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MasterBarcode {
    pub code: String,
    /// Base units in one scan of this code (1 for a single, 12 for a case of 12).
    pub pack_qty: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MasterItem {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub id: ItemId,
    pub sku: String,
    pub name: String,
    pub base_unit: String,
    pub lot_tracked: bool,
    pub barcodes: Vec<MasterBarcode>,
    pub version: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MasterLocation {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub id: LocationId,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub warehouse: WarehouseId,
    pub code: String,
    pub name: String,
    /// Pickers are routed through locations in ascending walk order.
    pub walk_order: i64,
    pub version: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MasterUser {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub id: UserId,
    pub badge: String,
    pub name: String,
    /// `picker`, `manager` or `admin`.
    pub role: String,
    /// An argon2id PHC string; devices check PINs against it offline.
    pub pin_hash: String,
    pub active: bool,
    pub version: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MasterPickLine {
    pub line: u32,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub item: ItemId,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub location: LocationId,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub lot: Option<String>,
    pub qty: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MasterPickList {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub id: PickListId,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub warehouse: WarehouseId,
    pub reference: String,
    /// `open`, `done` or `cancelled`.
    pub status: String,
    pub lines: Vec<MasterPickLine>,
    pub version: u64,
}

/// An expected receipt (the ERP's inbound ASN): what a supplier's delivery should hold.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MasterExpectedReceipt {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub id: aisle_core::ids::ReceiptId,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub warehouse: WarehouseId,
    /// The ERP's reference, as printed on the delivery note (the receiver scans it).
    pub reference: String,
    pub supplier: String,
    /// `open` or `closed` (the ERP closed it: no longer offered on the floor).
    pub status: String,
    pub lines: Vec<MasterExpectedLine>,
    pub version: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MasterExpectedLine {
    pub line: u32,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub item: ItemId,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub lot: Option<String>,
    pub qty: i64,
}

/// One of the device's warehouse's PCs, by the name it was enrolled with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MasterDevice {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub id: DeviceId,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MasterResponse {
    pub items: Vec<MasterItem>,
    pub locations: Vec<MasterLocation>,
    pub users: Vec<MasterUser>,
    pub pick_lists: Vec<MasterPickList>,
    /// The warehouse's expected receipts. Absent from older servers.
    #[serde(default)]
    pub expected_receipts: Vec<MasterExpectedReceipt>,
    /// Every PC enrolled in the device's warehouse (revoked ones too: their events stay in
    /// the trail), whole on every page: not versioned, so a device never pages on it.
    #[serde(default)]
    pub devices: Vec<MasterDevice>,
    /// The `after` to ask for next: the highest version in the page, or the request's
    /// `after` when the page is empty.
    pub next: u64,
    pub server_time_ms: i64,
    /// The tenant's PIN policy, whole on every page. Absent from older servers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin_policy: Option<MasterPinPolicy>,
}

/// The fewest digits a PIN may have, per role. A device refuses to sign in a manager or
/// admin whose typed PIN is shorter than `manager_min_digits`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MasterPinPolicy {
    #[cfg_attr(feature = "openapi", schema(minimum = 4, maximum = 12))]
    pub picker_min_digits: u8,
    #[cfg_attr(feature = "openapi", schema(minimum = 4, maximum = 12))]
    pub manager_min_digits: u8,
}

impl MasterResponse {
    /// The versioned rows of the page. The devices are not counted: they come whole on
    /// every page, so an unchanged list never keeps a pull going.
    pub fn n_rows(&self) -> u64 {
        (self.items.len()
            + self.locations.len()
            + self.users.len()
            + self.pick_lists.len()
            + self.expected_receipts.len()) as u64
    }
}

// The ERP integration API. Rows are named by natural keys; warehouses by name or id.

fn default_base_unit() -> String {
    "each".to_owned()
}

fn default_true() -> bool {
    true
}

fn default_status() -> String {
    "open".to_owned()
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ErpItem {
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 64))]
    pub sku: String,
    pub name: String,
    #[serde(default = "default_base_unit")]
    pub base_unit: String,
    #[serde(default)]
    pub lot_tracked: bool,
    #[serde(default)]
    pub barcodes: Vec<MasterBarcode>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ErpItems {
    pub items: Vec<ErpItem>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ErpLocation {
    /// The warehouse's name or id.
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub warehouse: String,
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 64))]
    pub code: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub walk_order: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ErpLocations {
    pub locations: Vec<ErpLocation>,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ErpUser {
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 64))]
    pub badge: String,
    pub name: String,
    /// `picker`, `manager` or `admin`.
    pub role: String,
    /// An argon2id PHC string made at least at the server's PIN cost (128 MiB, 3 passes);
    /// a cheaper one is refused with `weak_pin_hash`. Send this or `pin`, not both.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin_hash: Option<String>,
    /// The plain PIN, 4 to 12 digits and at least the tenant's minimum for the role
    /// (`pin_too_short` otherwise). The server hashes it at its PIN cost and never stores,
    /// logs or echoes it. Send this or `pin_hash`, not both.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9]{4,12}$"))]
    pub pin: Option<String>,
    #[serde(default = "default_true")]
    pub active: bool,
    /// The warehouses the user works in, by name or id. Only their devices get the user;
    /// a warehouse no longer named takes the user off its devices. Empty: no device.
    pub warehouses: Vec<String>,
}

impl std::fmt::Debug for ErpUser {
    // Hand-written so neither a plain PIN nor a hash reaches a log through `{:?}`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ErpUser")
            .field("badge", &self.badge)
            .field("role", &self.role)
            .field("active", &self.active)
            .field("warehouses", &self.warehouses)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ErpUsers {
    pub users: Vec<ErpUser>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ErpPickLine {
    pub line: u32,
    pub sku: String,
    /// The location's code in the list's warehouse.
    pub location: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lot: Option<String>,
    pub qty: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ErpPickList {
    /// The warehouse's name or id.
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub warehouse: String,
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 64))]
    pub reference: String,
    /// `open` (the default), `done` or `cancelled`.
    #[serde(default = "default_status")]
    pub status: String,
    pub lines: Vec<ErpPickLine>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ErpPickLists {
    pub pick_lists: Vec<ErpPickList>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErpUpsertResponse {
    pub upserted: usize,
    /// The master version of the last record written: devices that pulled up to it have
    /// the batch.
    pub version: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ErpExpectedLine {
    pub line: u32,
    pub sku: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lot: Option<String>,
    pub qty: i64,
}

/// An expected receipt (inbound ASN) as the ERP sends it; upserted by warehouse and
/// reference, its lines replacing the earlier ones.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ErpExpectedReceipt {
    /// The warehouse's name or id.
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub warehouse: String,
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 64))]
    pub reference: String,
    #[cfg_attr(feature = "openapi", schema(max_length = 200))]
    #[serde(default)]
    pub supplier: String,
    /// `open` (the default) or `closed`.
    #[serde(default = "default_status")]
    pub status: String,
    pub lines: Vec<ErpExpectedLine>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ErpExpectedReceipts {
    pub expected_receipts: Vec<ErpExpectedReceipt>,
}

/// The query of `POST /v1/t/{tenant}/erp/pick_lists/{reference}/cancel`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct ErpCancelQuery {
    /// The warehouse's name or id; needed only when the reference is used in several.
    pub warehouse: Option<String>,
}

/// The answer to a pick list's cancellation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErpCancelResponse {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub pick_list: PickListId,
    pub reference: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub warehouse: WarehouseId,
    /// The `pick_list_cancelled` event devices pull; its seq in the warehouse's log.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub cancellation: aisle_core::ids::EventId,
    pub seq: u64,
    /// True when an earlier request had cancelled the list: nothing new was written.
    pub already_cancelled: bool,
}

/// The query of `GET /v1/t/{tenant}/erp/stock`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct ErpStockQuery {
    /// A warehouse's name or id; all of the tenant's warehouses when absent.
    pub warehouse: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErpStockRow {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub warehouse: WarehouseId,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub location: LocationId,
    /// Absent when master data has no such location.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub location_code: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub item: ItemId,
    /// Absent when master data has no such item.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sku: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub lot: Option<String>,
    pub on_hand: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErpStockResponse {
    pub rows: Vec<ErpStockRow>,
    pub server_time_ms: i64,
}
