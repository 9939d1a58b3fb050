//! What the server tells an ERP (docs/protocol.md, "ERP integration: outbound messages and
//! the feed"): business messages derived from the floor's events, the same in the pull feed
//! (`GET /v1/t/{tenant}/erp/feed`) and in webhook deliveries.
//!
//! A message's `id` is derived from its cause (the floor event, or the count it approves),
//! so it is the same however often it is derived or delivered: a receiver deduplicates by
//! it. `version` is the version of its `data`'s shape, per type; a new field may be added
//! to a version, a changed one makes a new version.

use aisle_core::ids::{
    DeviceId, EventId, ItemId, LocationId, PickListId, TenantId, UserId, WarehouseId,
};
use serde::{Deserialize, Serialize};

/// The version of every message type's `data` shape today.
pub const ERP_MESSAGE_VERSION: u32 = 1;

/// The feed's page size when the ERP asks for none, and its largest.
pub const DEFAULT_FEED_LIMIT: u32 = 100;
pub const MAX_FEED_LIMIT: u32 = 1_000;

/// One business message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErpMessage {
    /// Stable: derived from the message's cause; deduplicate by it.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub id: uuid::Uuid,
    /// The version of `data`'s shape for this `type`.
    pub version: u32,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub tenant: TenantId,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub warehouse: WarehouseId,
    /// When it happened on the floor (the cause's time, ms since the Unix epoch).
    pub occurred_at_ms: u64,
    /// `type` and `data`.
    #[serde(flatten)]
    pub body: ErpMessageBody,
}

/// A message's type and its data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", content = "data")]
pub enum ErpMessageBody {
    /// Goods were received into a location.
    #[serde(rename = "goods.received")]
    GoodsReceived(GoodsReceived),
    /// A key's on-hand changed by an adjustment or an approved count: what inventory
    /// valuation needs.
    #[serde(rename = "stock.adjusted")]
    StockAdjusted(StockAdjusted),
    /// Every line of a pick list is finished: picked in full, or reported short.
    #[serde(rename = "pick_list.completed")]
    PickListCompleted(PickListCompleted),
    /// A pick list the ERP cancelled is settled: everything picked for it is back on a
    /// shelf (at once when nothing was picked).
    #[serde(rename = "pick_list.cancelled")]
    PickListCancelled(PickListCancelled),
    /// Something on the floor needs a person: negative stock, a count variance waiting for
    /// review, an over-pick, a contested pick list, a lot missing.
    #[serde(rename = "discrepancy.opened")]
    DiscrepancyOpened(DiscrepancyOpened),
    /// A discrepancy no longer holds (a count, a review, a later event settled it).
    #[serde(rename = "discrepancy.closed")]
    DiscrepancyClosed(DiscrepancyClosed),
}

impl ErpMessageBody {
    /// The message's `type`.
    pub fn message_type(&self) -> &'static str {
        match self {
            Self::GoodsReceived(_) => "goods.received",
            Self::StockAdjusted(_) => "stock.adjusted",
            Self::PickListCompleted(_) => "pick_list.completed",
            Self::PickListCancelled(_) => "pick_list.cancelled",
            Self::DiscrepancyOpened(_) => "discrepancy.opened",
            Self::DiscrepancyClosed(_) => "discrepancy.closed",
        }
    }
}

/// `goods.received`, version 1: one receipt scan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GoodsReceived {
    /// The floor's `received` event.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub event: EventId,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub location: LocationId,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub item: ItemId,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub lot: Option<String>,
    pub quantity: i64,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub device: DeviceId,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub user: UserId,
    /// The expected receipt (inbound ASN) this was received against, with every line's
    /// expected and received quantities so far; absent for a receipt that named none.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub receipt: Option<ReceiptProgress>,
}

/// An expected receipt's state in a `goods.received`: its reference, and per line what was
/// expected and what has been received against it so far (this receipt included).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReceiptProgress {
    /// The ERP's reference for the expected receipt.
    pub reference: String,
    /// `false` when the reference names no expected receipt the server knows (the receipt
    /// was received against a reference the ERP never sent, or sent later): `lines` is then
    /// empty and everything is in `unexpected`.
    pub known: bool,
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub supplier: String,
    pub lines: Vec<ReceiptLineProgress>,
    /// Units received against the receipt that no line expects.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub unexpected: Vec<ReceiptUnexpected>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReceiptLineProgress {
    pub line: u32,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub item: ItemId,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub lot: Option<String>,
    pub expected: i64,
    pub received: i64,
    /// `received - expected`: above zero an over-receipt, below zero an under-receipt.
    pub difference: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReceiptUnexpected {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub item: ItemId,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub lot: Option<String>,
    pub received: i64,
}

/// What changed a key's on-hand in a `stock.adjusted` message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AdjustmentCause {
    /// A manager's adjustment with its reason.
    Adjustment,
    /// A count, approved within tolerance or by a manager's review.
    Count,
}

/// `stock.adjusted`, version 1.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StockAdjusted {
    pub cause: AdjustmentCause,
    /// The `adjusted` or `counted` event.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub event: EventId,
    /// For a count approved by a review: the review (`count_reviewed`) event.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
    pub approved_by: Option<EventId>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub location: LocationId,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub item: ItemId,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub lot: Option<String>,
    /// On-hand before: the projection's for an adjustment, the system quantity the count
    /// was taken against for a count.
    pub before: i64,
    /// On-hand after: before plus the adjustment, or the counted quantity.
    pub after: i64,
    /// `after - before`.
    pub delta: i64,
    /// The adjustment's reason code, or `count`.
    pub reason: String,
}

/// `pick_list.completed`, version 1: sent once per pick list, when the last of its lines is
/// finished (picked in full, or picked in part and the rest reported short).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PickListCompleted {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub pick_list: PickListId,
    /// The ERP's reference for the list.
    pub reference: String,
    /// The floor event (`picked` or `short_picked`) that finished its last line.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub event: EventId,
    /// Every line of the list, in line order.
    pub lines: Vec<CompletedLine>,
}

/// One line of a `pick_list.completed`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CompletedLine {
    pub line: u32,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub item: ItemId,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub location: LocationId,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub lot: Option<String>,
    /// The line's quantity.
    pub quantity: i64,
    /// What was picked against it (more than `quantity` after an over-pick).
    pub picked: i64,
    /// What was reported short; 0 when nothing was.
    pub short: i64,
    /// The reasons given for the shorts (`not_found`, `damaged`, `wrong_item`), in the
    /// order they were recorded; absent when nothing was short.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub short_reasons: Vec<String>,
}

/// `pick_list.cancelled`, version 1: the ERP's cancellation of a pick list, settled. Sent
/// when the cancellation is recorded if nothing was picked for the list, and otherwise when
/// the last unit picked for it is put back. A pick made offline before its PC heard of the
/// cancellation reopens the put-back when it syncs; once that is put back too, another
/// `pick_list.cancelled` is sent with the new totals (its id differs: it comes from the list
/// and the units put back). The latest one for a list is the truth.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PickListCancelled {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub pick_list: PickListId,
    /// The ERP's reference for the list.
    pub reference: String,
    /// The `pick_list_cancelled` event the server recorded for the ERP's request; absent
    /// when the list was cancelled by upserting it with the status `cancelled`.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cancellation: Option<EventId>,
    /// Every line of the list, in line order, with what was picked and where it went back.
    pub lines: Vec<CancelledLine>,
}

/// One line of a `pick_list.cancelled`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CancelledLine {
    pub line: u32,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub item: ItemId,
    /// Where the line was to be picked from.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub location: LocationId,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub lot: Option<String>,
    /// The line's quantity.
    pub quantity: i64,
    /// What was picked against it before the floor stopped; 0 when nothing was.
    pub picked: i64,
    /// Each put-back of what was picked, in the order the floor recorded them.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub put_back: Vec<PutBackLine>,
}

/// Units of a cancelled line put back on a shelf.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PutBackLine {
    /// Where they went: the line's location, or another one a manager chose.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub location: LocationId,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub lot: Option<String>,
    pub qty: i64,
    /// The floor's `put_back` event.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub event: EventId,
}

/// `discrepancy.opened`, version 1.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DiscrepancyOpened {
    /// The discrepancy's id: the same on every replica, on the server's stock endpoint and
    /// in the `discrepancy.closed` that ends it (e.g. `negative_stock/…`).
    pub discrepancy: String,
    /// `negative_stock`, `count_variance`, `over_pick`, `pick_list_contested` or
    /// `lot_missing`.
    pub kind: String,
    /// The floor event that opened it.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub event: EventId,
    /// The kind's details (its stock key, quantities, the events involved), as the
    /// server's stock endpoint shows them; `type` repeats `kind`.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub details: serde_json::Value,
}

/// `discrepancy.closed`, version 1.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DiscrepancyClosed {
    /// The id its `discrepancy.opened` carried.
    pub discrepancy: String,
    pub kind: String,
    /// The floor event that closed it.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub event: EventId,
}

/// One message at its place in the tenant's feed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FeedEntry {
    /// The message's place: strictly increasing in the tenant's feed.
    pub position: u64,
    pub message: ErpMessage,
}

/// `GET /v1/t/{tenant}/erp/feed`: the messages after the cursor, in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FeedResponse {
    pub messages: Vec<FeedEntry>,
    /// The cursor for the next page (`after=`): the last message's position, or the
    /// cursor asked with when there is nothing new.
    pub next: u64,
}

/// The feed's query.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct FeedQuery {
    /// The position after which to read; 0 (or absent) from the start.
    pub after: Option<u64>,
    /// Messages at most (default 100, at most 1,000).
    pub limit: Option<u32>,
}

// Webhook endpoints through the ERP API (scope `webhooks:manage`): what `aisle-server
// webhook …` does for the operator, for the tenant's own ERP.

/// `POST /v1/t/{tenant}/erp/webhooks`: an endpoint to add.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    /// Where deliveries are POSTed: `https`, resolving to public addresses only (unless the
    /// server's operator allowed a range or loopback `http`).
    pub url: String,
    /// The message types it takes (`goods.received`, `pick_list.completed`, …); empty or
    /// absent: every type.
    #[serde(default)]
    pub event_types: Vec<String>,
}

/// The endpoint just added, with its signing secret: the only time the secret is shown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookCreated {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub id: uuid::Uuid,
    /// `whsec_…`: verify each delivery's `webhook-signature` with it.
    pub secret: String,
}

/// An endpoint, never its secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookView {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub id: uuid::Uuid,
    pub url: String,
    /// Empty: every type.
    pub event_types: Vec<String>,
    pub enabled: bool,
    /// Why it is disabled: `gone` (the receiver answered 410) or who disabled it and why.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub disabled_reason: Option<String>,
    pub created_ms: i64,
    /// After a rotation: until when the previous secret signs too.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub previous_secret_until_ms: Option<i64>,
}

/// `GET /v1/t/{tenant}/erp/webhooks`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhooksResponse {
    pub webhooks: Vec<WebhookView>,
}

/// `POST …/webhooks/{id}/rotate`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RotateWebhook {
    /// Hours the old secret keeps signing next to the new one (default 24, at most 168).
    #[serde(default)]
    pub overlap_hours: Option<u64>,
}

/// A rotated endpoint's new secret, shown this once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookSecret {
    pub secret: String,
    /// Until when deliveries carry the old secret's signature too.
    pub previous_secret_until_ms: i64,
}

/// `POST …/webhooks/{id}/disable`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DisableWebhook {
    /// Why, for whoever lists the endpoints (at most 200 characters).
    #[serde(default)]
    pub reason: Option<String>,
}

/// `POST …/webhooks/{id}/replay`: send the endpoint's messages again from a feed position.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ReplayWebhook {
    /// The first feed position to send again (a dead-lettered delivery's `position`).
    pub from: u64,
}

/// One delivery attempt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeliveryView {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub endpoint: uuid::Uuid,
    pub position: u64,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub message_id: uuid::Uuid,
    pub attempt: u32,
    pub at_ms: i64,
    /// `delivered`, `retry`, `dead` or `disabled`.
    pub outcome: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error: Option<String>,
}

/// `GET /v1/t/{tenant}/erp/webhooks/deliveries`, newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeliveriesResponse {
    pub deliveries: Vec<DeliveryView>,
}

/// The delivery log's query.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct DeliveriesQuery {
    /// Only attempts that did not deliver.
    pub failed: Option<bool>,
    /// Attempts at most (default 50, at most 1,000).
    pub limit: Option<u32>,
}
