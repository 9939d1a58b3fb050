// GENERATED from the Rust types by `AISLE_WRITE_CONTRACT=1 cargo test -p aisle-app contract`; do not edit.
// The shapes of docs/desktop-commands.md: field names are the JSON names, ids are
// UUID strings, quantities are integers in the item's base unit, dates are
// `YYYY-MM-DD`, times are milliseconds. Helpers that are not Rust types live in
// contract-extra.ts.

/** Every `code` a command may reject with (`ErrorCode` in crates/aisle-app). */
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
  "pick_list_cancelled",
  "serial_error",
  "update_failed",
  "update_blocked",
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** The keys that may end a keyboard-wedge scan. */
export type Terminator = "enter" | "tab" | "none";

/**
 * The one error shape every desktop command returns to the UI.
 */
export type CommandError = { 
/**
 * What went wrong, for the UI to branch on.
 */
code: ErrorCode, 
/**
 * A human-readable sentence the UI may show as is.
 */
message: string, };

export type Role = "picker" | "manager" | "admin";

/**
 * Whether a count was decided on the counting device or waits for a manager.
 */
export type CountDecision = "self_approved" | "needs_review";

/**
 * Why a picker could not pick the full quantity.
 */
export type ShortReason = "not_found" | "damaged" | "wrong_item";

/**
 * A warehouse profile of this PC: one enrolment with one server, tenant and warehouse.
 */
export type Profile = { id: string, label: string, serverUrl: string, tenant: string, warehouse: string, device: string, };

export type User = { id: string, name: string, badge: string, role: Role, };

/**
 * A demo user as the sign-in screen lists it. Only demo PINs ever cross here: they are
 * public by design, printed in the README.
 */
export type DemoUser = { badge: string, name: string, role: string, pin: string, };

export type AppStatus = { appVersion: string, eventVersion: number, storeSchemaVersion: number, profile: Profile | null, user: User | null, 
/**
 * Whether this build has demo mode (the desktop's `demo` cargo feature): the UI offers
 * the demo only then.
 */
demoAvailable: boolean, 
/**
 * Whether the open profile is the demo, served by the app's own demo server.
 */
demo: boolean, 
/**
 * The demo users with their PINs, for the sign-in screen; empty unless `demo`.
 */
demoUsers: Array<DemoUser>, };

/**
 * The session as the UI follows it: who is signed in (nobody once the session went idle)
 * and the profile's idle timeout.
 */
export type SessionState = { user: User | null, idleTimeoutMinutes: number, };

export type EnrollArgs = { serverUrl: string, code: string, deviceName: string, allowHttp?: boolean, };

export type SwitchArgs = { profileId: string, };

export type SignInArgs = { badge: string, pin: string, };

export type SessionArgs = { 
/**
 * The person did something since the UI last asked: restart the idle timer.
 */
activity?: boolean, };

export type IdleTimeoutArgs = { minutes: number, };

/**
 * A scan's raw text, as the wedge or serial scanner delivered it.
 */
export type RawArgs = { raw: string, };

export type Location = { id: string, code: string, name: string, walkOrder: number, };

export type Item = { id: string, sku: string, name: string, baseUnit: string, lotTracked: boolean, };

/**
 * What a scan turned out to be, with what the barcode itself says filled in.
 */
export type Resolved = { "kind": "location", location: Location, } | { "kind": "item", item: Item, lot?: string, expiry?: string, 
/**
 * Base units the barcode says it holds (its GS1 count times the pack size), if it
 * says so.
 */
quantity?: number, 
/**
 * Base units in one scan of this barcode.
 */
packSize: number, } | { "kind": "badge", badge: string, };

/**
 * What recording one action did.
 */
export type Recorded = { eventId: string, 
/**
 * The new on-hand of the key the screen is about.
 */
onHand: number, 
/**
 * Sentences for the user, e.g. that someone else's claim on a pick list won.
 */
notices: Array<string>, };

export type CountRecorded = { decision: CountDecision, 
/**
 * Only shown after the count: counts are blind.
 */
expected: number, variance: number, 
/**
 * The Aisle version needed to show this stock exactly: an event this version cannot
 * read yet touches it (docs/protocol.md, "Mixed-version fleets"). Absent when exact.
 */
needsUpdate?: string, eventId: string, 
/**
 * The new on-hand of the key the screen is about.
 */
onHand: number, 
/**
 * Sentences for the user, e.g. that someone else's claim on a pick list won.
 */
notices: Array<string>, };

export type ReceiveArgs = { location: string, item: string, lot?: string, expiry?: string, qty: number, 
/**
 * The reference of the expected receipt (the delivery note) this is received against.
 */
receipt?: string, };

export type MoveArgs = { from: string, to: string, item: string, lot?: string, qty: number, 
/**
 * The person was told the source holds less than `qty` and confirmed the move.
 */
confirmOverSource?: boolean, };

export type CountArgs = { location: string, item: string, lot?: string, countedQty: number, task?: string, };

export type PickLineArgs = { pickList: string, line: number, location: string, item: string, lot?: string, qty: number, };

export type ShortPickArgs = { pickList: string, line: number, qtyShort: number, reason: ShortReason, 
/**
 * The lot, for a lot-tracked item on a line that names none.
 */
lot?: string, };

/**
 * Putting back goods picked for a cancelled pick list: `qty` of line `line` (and `lot`)
 * at `location`, the line's own location or another one a manager chose.
 */
export type PutBackArgs = { pickList: string, line: number, location: string, lot?: string, qty: number, };

/**
 * Units picked for one line (and lot) of a cancelled pick list that must go back.
 */
export type PutBackView = { line: number, 
/**
 * Where the line was picked from: where it goes back unless a manager says otherwise.
 */
location: Location, item: Item, lot?: string, picked: number, due: number, };

/**
 * The reference of an expected receipt, as typed or scanned from the delivery note.
 */
export type ExpectedReceiptArgs = { reference: string, };

/**
 * An expected receipt (the ERP's inbound ASN) with expected against received per line.
 */
export type ExpectedReceiptView = { reference: string, supplier: string, lines: Array<ExpectedLineView>, 
/**
 * What was received against it that no line expects.
 */
unexpected: Array<ExpectedLineView>, };

/**
 * One line of an expected receipt: `difference` = `received` - `expected` (above zero an
 * over-receipt, below zero an under-receipt). An unexpected item has `expected` 0.
 */
export type ExpectedLineView = { line: number, item: Item, lot?: string, expected: number, received: number, difference: number, };

export type OpenPickListArgs = { pickList?: string, };

export type PickListSummary = { id: string, reference: string, nLines: number, nDone: number, 
/**
 * The name of the user whose claim won, absent while nobody has claimed the list.
 */
claimedBy?: string, 
/**
 * The name of the PC the winning claim was made on, as the server's master data names
 * it; absent when the list is unclaimed or the server has not named that PC yet.
 */
claimedOn?: string, 
/**
 * The winning claim was made on this PC (the screen says "on this PC" rather than its
 * name).
 */
claimedHere: boolean, 
/**
 * The ERP cancelled the list: nothing more is picked, and `put_back_due` units picked
 * for it wait to go back on a shelf (a cancelled list is listed only while they do).
 */
cancelled: boolean, putBackDue: number, };

export type PickLineView = { id: number, location: Location, item: Item, lot?: string, qty: number, picked: number, done: boolean, };

export type PickListView = { id: string, reference: string, 
/**
 * The lines to pick; none once the ERP cancelled the list.
 */
lines: Array<PickLineView>, notices: Array<string>, 
/**
 * The ERP cancelled the list: `put_backs` is what must go back on a shelf.
 */
cancelled: boolean, putBacks: Array<PutBackView>, };

export type CountTask = { id: string, location: Location, item: Item, lot?: string, reason: string, 
/**
 * Who asked for the count, when a manager did (`reason` is `requested`).
 */
requestedBy?: string, 
/**
 * The manager's note on a requested count (may be empty).
 */
note?: string, 
/**
 * The Aisle version needed to show this stock exactly: an event this version cannot
 * read yet touches it (docs/protocol.md, "Mixed-version fleets"). Absent when exact.
 */
needsUpdate?: string, };

/**
 * A manager's request that a key be counted.
 */
export type RequestCountArgs = { location: string, item: string, lot?: string, 
/**
 * Why, for the person who counts (optional).
 */
note?: string, };

export type ReviewArgs = { countedEvent: string, approve: boolean, };

export type RecordAgainArgs = { eventId: string, };

export type HistoryEntry = { eventId: string, kind: string, hlcMs: number, device: string, 
/**
 * The PC's name, when the server's master data has brought it.
 */
deviceName?: string, user: string, summary: string, };

export type StockRow = { location: Location, item: Item, lot?: string, onHand: number, 
/**
 * The Aisle version needed to show this stock exactly: an event this version cannot
 * read yet touches it (docs/protocol.md, "Mixed-version fleets"). Absent when exact.
 */
needsUpdate?: string, };

/**
 * What a location holds of one item in one lot (`lot` is `None` for stock without a lot),
 * for the move screen's source and the lot prompt.
 */
export type LotStockView = { lot: string | null, onHand: number, 
/**
 * The Aisle version needed to show this stock exactly: an event this version cannot
 * read yet touches it (docs/protocol.md, "Mixed-version fleets"). Absent when exact.
 */
needsUpdate?: string, };

export type StockAtArgs = { location: string, item: string, };

export type LookupAnswer = { resolved: Resolved, rows: Array<StockRow>, history: Array<HistoryEntry>, };

export type Variance = { countedEvent: string, location: Location, item: Item, lot?: string, countedQty: number, expected: number, variance: number, user: string, 
/**
 * When the count was taken: its hlc's wall-clock milliseconds.
 */
hlcMs: number, };

export type Discrepancy = { id: string, kind: string, summary: string, 
/**
 * The stock key's location, item and lot, when the discrepancy is about one key.
 */
location?: Location, item?: Item, lot?: string, };

export type QuarantinedEvent = { eventId: string, kind: string, reason: string, attempts: number, summary: string, 
/**
 * The server refused it as stamped too far ahead (`clock_ahead`): a manager can record
 * it again now, with the corrected time.
 */
canRecordAgain: boolean, };

export type HistoryFilter = { item?: string, location?: string, 
/**
 * A user's id, badge or name.
 */
user?: string, 
/**
 * A device's id.
 */
device?: string, page?: number, };

export type HistoryPage = { entries: Array<HistoryEntry>, nextPage?: number, };

export type ItemArgs = { item: string, };

/**
 * One point of the stock-over-time chart.
 */
export type SeriesPoint = { hlcMs: number, onHand: number, 
/**
 * The counted minus the expected quantity, on points that are counts.
 */
variance?: number, };

/**
 * The sync status as the UI shows it. What is not known is left out rather than sent as
 * `null`: the UI's optional fields are `undefined` when absent.
 */
export type SyncStatus = { online: boolean, pending: number, quarantined: number, 
/**
 * The live channel is in use: another PC's work shows as it happens.
 */
live: boolean, 
/**
 * Events pulled from the server that were new here since the engine started. When it
 * moves, the store holds another PC's or the ERP's work and screens read it again.
 */
pulledNew: number, 
/**
 * Master-data pulls that changed the store (a new pick list, a PC's name) since the
 * engine started; screens read again when it moves, as for `pulled_new`.
 */
masterChanged: number, lastSuccessMs?: number, lastError?: string, 
/**
 * When the last error happened (device time, as `last_success_ms`), so the UI can tell
 * an error that a later sync got past from one that still holds.
 */
lastErrorMs?: number, clockOffsetMs?: number, clockWarning?: string, progress?: SyncProgress, 
/**
 * The Aisle version this PC needs to read every event the server sent it (some are
 * kept unread until it is updated); absent when it reads them all.
 */
needsUpdate?: string, };

/**
 * How far the running sync round got: `done` of `total` events, when the total is known.
 */
export type SyncProgress = { done: number, total?: number, };

/**
 * What the Settings tab shows about updates served by the warehouse's server.
 */
export type UpdateStatus = { 
/**
 * This build's version.
 */
current: string, 
/**
 * The version the server offers this PC, when one is due.
 */
available?: string, 
/**
 * What changed in it, as the release says.
 */
notes?: string, 
/**
 * Downloaded and its signature checked against this build's updater key: ready to
 * install.
 */
ready: boolean, };

/**
 * What the scanner setup page edits; `src-tauri/scanner.rs` keeps it in `scanner.json`.
 */
export type ScannerSettings = { maxKeyGapMs: number, minLength: number, prefix: string, suffix: string, 
/**
 * One of [`TERMINATORS`].
 */
terminator: Terminator, gsSubstitutes: Array<string>, serialPort?: string, baud?: number, };
