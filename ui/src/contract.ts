// The shapes of docs/desktop-commands.md, the contract with the Rust side.
//
// Field names are the JSON names (camelCase). Ids are UUID strings, quantities are
// integers in the item's base unit, dates are `YYYY-MM-DD`, times are HLC milliseconds.

/** Every `code` a command may reject with, plus two the UI itself produces. */
export const ERROR_CODES = [
  "no_profile",
  "not_signed_in",
  "forbidden",
  "bad_scan",
  "unknown_barcode",
  "unknown_location",
  "wrong_location",
  "wrong_item",
  "bad_quantity",
  "bad_pin",
  "badge_locked",
  "pin_too_short",
  "enroll_failed",
  "store_busy",
  "disk_full",
  "store_too_new",
  "store_locked",
  "store_error",
  "not_found",
  "sync_error",
  "demo_failed",
  "bad_settings",
  "bad_note",
  "same_location",
  "move_exceeds_source",
  "lot_required",
  "serial_error",
  // Not sent by Rust: no Tauri at all, or a rejection without the {code, message} shape.
  "backend_unreachable",
  "backend_failed",
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface Profile {
  id: string;
  label: string;
  serverUrl: string;
  tenant: string;
  warehouse: string;
  device: string;
}

export type Role = "picker" | "manager" | "admin";

export interface User {
  id: string;
  name: string;
  badge: string;
  role: Role;
}

/** A user of the demo tenant, PIN included: shown on the sign-in screen in demo mode only. */
export interface DemoUser {
  badge: string;
  name: string;
  role: string;
  pin: string;
}

export interface AppStatus {
  appVersion: string;
  eventVersion: number;
  storeSchemaVersion: number;
  profile: Profile | null;
  user: User | null;
  demo: boolean;
  /** Empty unless the open profile is the demo. */
  demoUsers?: DemoUser[];
}

/** The session as the backend keeps it: nobody once it went idle. */
export interface SessionState {
  user: User | null;
  idleTimeoutMinutes: number;
}

export interface EnrollArgs {
  serverUrl: string;
  code: string;
  deviceName: string;
  allowHttp?: boolean;
}

export interface Location {
  id: string;
  code: string;
  name: string;
  walkOrder: number;
}

export interface Item {
  id: string;
  sku: string;
  name: string;
  baseUnit: string;
  /** Every action on a lot-tracked item names its lot (else `lot_required`). */
  lotTracked: boolean;
}

export interface ResolvedLocation {
  kind: "location";
  location: Location;
}

export interface ResolvedItem {
  kind: "item";
  item: Item;
  lot?: string;
  expiry?: string;
  /** The GS1 count (AI 30/37) times the pack size, when the barcode says so. */
  quantity?: number;
  packSize: number;
}

export interface ResolvedBadge {
  kind: "badge";
  badge: string;
}

export type Resolved = ResolvedLocation | ResolvedItem | ResolvedBadge;

export interface Recorded {
  eventId: string;
  onHand: number;
  notices: string[];
}

export interface CountRecorded extends Recorded {
  decision: "self_approved" | "needs_review";
  expected: number;
  variance: number;
}

export interface ReceiveArgs {
  location: string;
  item: string;
  lot?: string;
  expiry?: string;
  qty: number;
}

export interface MoveArgs {
  from: string;
  to: string;
  item: string;
  lot?: string;
  qty: number;
  /** The person was told the source holds less than `qty` and confirmed the move. */
  confirmOverSource?: boolean;
}

export interface CountArgs {
  location: string;
  item: string;
  lot?: string;
  countedQty: number;
  task?: string;
}

export interface PickLineArgs {
  pickList: string;
  line: string;
  location: string;
  item: string;
  lot?: string;
  qty: number;
}

export const SHORT_PICK_REASONS = ["not_found", "damaged", "wrong_item"] as const;
export type ShortPickReason = (typeof SHORT_PICK_REASONS)[number];

export interface ShortPickArgs {
  pickList: string;
  line: string;
  qtyShort: number;
  reason: ShortPickReason;
  /** The lot, for a lot-tracked item on a line that names none. */
  lot?: string;
}

export interface PickListSummary {
  id: string;
  reference: string;
  nLines: number;
  nDone: number;
  claimedBy?: string;
}

export interface PickLineView {
  id: string;
  location: Location;
  item: Item;
  /** The lot the line asks for, if it names one. */
  lot?: string;
  qty: number;
  picked: number;
  done: boolean;
}

export interface PickListView {
  id: string;
  reference: string;
  lines: PickLineView[];
}

/** Why a count task is open: `negative_stock`, `short_pick`, `recount` or `requested` (by a manager). */
export interface CountTask {
  id: string;
  location: Location;
  item: Item;
  lot?: string;
  reason: string;
  /** The manager who asked, on a `requested` task. */
  requestedBy?: string;
  /** The manager's note on a `requested` task (may be empty). */
  note?: string;
}

/** A manager's request that a key be counted (`request_count`). */
export interface RequestCountArgs {
  location: string;
  item: string;
  lot?: string;
  note?: string;
}

/** Every event kind (`aisle_core::Event::kind`); `resolved` is an automatic decision of the stock rules, recorded by the server; `badge_locked` is a badge locked on a PC after 5 wrong PINs. */
export const EVENT_KINDS = [
  "received",
  "picked",
  "moved",
  "adjusted",
  "counted",
  "count_reviewed",
  "short_picked",
  "pick_list_claimed",
  "count_requested",
  "badge_locked",
  "resolved",
] as const;

export interface HistoryEntry {
  eventId: string;
  /** One of `EVENT_KINDS`. */
  kind: string;
  hlcMs: number;
  device: string;
  /** The device's name, when the backend knows it. */
  deviceName?: string;
  /** The user's name; empty for `resolved`, which no person decided. */
  user: string;
  summary: string;
}

export interface StockRow {
  location: Location;
  item: Item;
  lot?: string;
  onHand: number;
}

/** What a location holds of an item in one lot (`stock_at`); no lot is stock without one. */
export interface LotStockView {
  lot?: string | null;
  onHand: number;
}

export interface LookupAnswer {
  resolved: Resolved;
  rows: StockRow[];
  history: HistoryEntry[];
}

export interface Variance {
  countedEvent: string;
  location: Location;
  item: Item;
  lot?: string;
  countedQty: number;
  expected: number;
  variance: number;
  user: string;
  /** When the count was taken (its hlc wall ms); absent from a backend older than the field. */
  hlcMs?: number;
}

export interface Discrepancy {
  id: string;
  kind: string;
  summary: string;
  location?: Location;
  item?: Item;
  lot?: string;
}

export interface QuarantinedEvent {
  eventId: string;
  kind: string;
  reason: string;
  attempts: number;
  summary: string;
  /** Refused for its clock only (`clock_ahead`): `record_again` can record it now. */
  canRecordAgain: boolean;
}

export interface HistoryFilter {
  item?: string;
  location?: string;
  user?: string;
  device?: string;
  page?: number | string;
}

export interface HistoryPage {
  entries: HistoryEntry[];
  nextPage?: number | string;
}

export interface SeriesPoint {
  hlcMs: number;
  onHand: number;
  /** Counted minus expected, on points that are counts only. */
  variance?: number;
}

export interface SyncStatus {
  online: boolean;
  pending: number;
  quarantined: number;
  lastSuccessMs?: number;
  lastError?: string;
  /** When the last error happened, on the same clock as `lastSuccessMs`. */
  lastErrorMs?: number;
  clockOffsetMs?: number;
  progress?: { done: number; total: number };
}

export type Terminator = "enter" | "tab" | "none";

export interface ScannerSettings {
  maxKeyGapMs: number;
  minLength: number;
  prefix: string;
  suffix: string;
  terminator: Terminator;
  gsSubstitutes: string[];
  serialPort?: string;
  baud?: number;
}
