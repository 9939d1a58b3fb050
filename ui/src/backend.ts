// The one module that talks to the Rust backend (docs/desktop-commands.md).
//
// Screens receive a `Backend` through context instead of calling Tauri themselves, so tests
// drive the same screens with a fake one. Every failure becomes a `CommandError` with a stable
// `code`; screens branch on `code`, never on message text.

import type {
  AppStatus,
  CountArgs,
  CountRecorded,
  CountTask,
  Discrepancy,
  EnrollArgs,
  HistoryFilter,
  HistoryPage,
  LookupAnswer,
  LotStockView,
  MoveArgs,
  PickLineArgs,
  PickListSummary,
  PickListView,
  Profile,
  QuarantinedEvent,
  ReceiveArgs,
  Recorded,
  RequestCountArgs,
  Resolved,
  ScannerSettings,
  SeriesPoint,
  SessionState,
  ShortPickArgs,
  PutBackArgs,
  ExpectedReceiptView,
  SyncStatus,
  UpdateStatus,
  User,
  Variance,
} from "./contract";
import type { KnownErrorCode } from "./contract-extra";
import { invoke as tauriInvoke } from "@tauri-apps/api/core";
import { listen as tauriListen } from "@tauri-apps/api/event";

export class CommandError extends Error {
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.name = "CommandError";
    this.code = code;
  }

  /** Whether this is the given code; a typo in `code` is then a type error. */
  is(code: KnownErrorCode): boolean {
    return this.code === code;
  }
}

/**
 * Turns whatever an invoke rejected with into a CommandError. Our commands reject with
 * `{code, message}`; Tauri itself rejects with plain strings (e.g. an unknown command).
 */
export function toCommandError(raw: unknown): CommandError {
  if (raw instanceof CommandError) return raw;
  if (raw !== null && typeof raw === "object" && typeof (raw as { code?: unknown }).code === "string") {
    const shaped = raw as { code: string; message?: unknown };
    return new CommandError(shaped.code, String(shaped.message ?? shaped.code));
  }
  if (raw instanceof Error) return new CommandError("backend_failed", raw.message);
  return new CommandError("backend_failed", String(raw));
}

export type Unsubscribe = () => void;

export interface Backend {
  appStatus(): Promise<AppStatus>;
  listProfiles(): Promise<Profile[]>;
  enroll(args: EnrollArgs): Promise<Profile>;
  startDemo(): Promise<Profile>;
  switchProfile(profileId: string): Promise<Profile>;
  signIn(badge: string, pin: string): Promise<User>;
  signOut(): Promise<null>;
  /** The session; `activity` (something happened since the last call) restarts its idle timer. */
  session(activity: boolean): Promise<SessionState>;
  /** Managers only: the profile's idle timeout, 1-60 minutes. */
  setIdleTimeout(minutes: number): Promise<SessionState>;

  resolveScan(raw: string): Promise<Resolved>;

  receive(args: ReceiveArgs): Promise<Recorded>;
  moveStock(args: MoveArgs): Promise<Recorded>;
  count(args: CountArgs): Promise<CountRecorded>;
  pickLine(args: PickLineArgs): Promise<Recorded>;
  shortPick(args: ShortPickArgs): Promise<Recorded>;
  /** Puts back goods picked for a pick list the ERP cancelled. */
  putBack(args: PutBackArgs): Promise<Recorded>;
  /** The warehouse's open expected receipts (the ERP's inbound ASNs). */
  expectedReceipts(): Promise<ExpectedReceiptView[]>;
  /** The open expected receipt with the reference on a delivery note (`not_found` if none). */
  expectedReceipt(reference: string): Promise<ExpectedReceiptView>;
  pickLists(): Promise<PickListSummary[]>;
  /** Without an id: claims the next unclaimed list. */
  openPickList(pickList?: string): Promise<PickListView>;
  countTasks(): Promise<CountTask[]>;
  /** What `location` holds of `item`, per lot, lots at zero left out. */
  stockAt(location: string, item: string): Promise<LotStockView[]>;
  lookup(raw: string): Promise<LookupAnswer>;

  variances(): Promise<Variance[]>;
  reviewCount(countedEvent: string, approve: boolean): Promise<Recorded>;
  /** Managers only: ask for a key to be counted; it shows as a `requested` count task. */
  requestCount(args: RequestCountArgs): Promise<Recorded>;
  discrepancies(): Promise<Discrepancy[]>;
  quarantined(): Promise<QuarantinedEvent[]>;
  /** Managers only: records a `clock_ahead` refusal again now, with a new id and time. */
  recordAgain(eventId: string): Promise<Recorded>;
  history(filter: HistoryFilter): Promise<HistoryPage>;
  stockSeries(item: string): Promise<SeriesPoint[]>;

  syncStatus(): Promise<SyncStatus>;
  syncNow(): Promise<null>;
  scannerSettings(): Promise<ScannerSettings>;
  saveScannerSettings(settings: ScannerSettings): Promise<ScannerSettings>;
  serialPorts(): Promise<string[]>;
  /** Managers only: what this PC knows of an update, without asking the server. */
  updateStatus(): Promise<UpdateStatus>;
  /** Managers only: asks the server whether an update is due for this PC. */
  checkUpdate(): Promise<UpdateStatus>;
  /** Managers only: downloads it; kept only if its signature checks out. */
  downloadUpdate(): Promise<UpdateStatus>;
  /** Managers only: installs the downloaded update and restarts the app. */
  installUpdate(): Promise<null>;

  /** The `sync-status` event. */
  onSyncStatus(handler: (status: SyncStatus) => void): Unsubscribe;
  /** The `scan` event of a serial scanner. */
  onScan(handler: (raw: string) => void): Unsubscribe;
}

export type Invoke = (command: string, args?: Record<string, unknown>) => Promise<unknown>;
export type Listen = (event: string, handler: (event: { payload: unknown }) => void) => Promise<() => void>;

/** Drops keys whose value is undefined, so optional arguments are absent rather than null. */
function defined<T extends object>(args: T): Record<string, unknown> {
  return Object.fromEntries(Object.entries(args).filter(([, value]) => value !== undefined));
}

/**
 * The backend over Tauri's `invoke` and `listen`. Without them (a plain browser), every call
 * rejects with `backend_unreachable` and the events never fire.
 */
export function createBackend(invoke: Invoke | undefined, listen: Listen | undefined): Backend {
  async function call<T>(command: string, args?: object): Promise<T> {
    if (invoke === undefined) {
      throw new CommandError("backend_unreachable", "this page must run inside the Aisle app");
    }
    try {
      // Every Rust command that takes arguments takes one struct named `args`.
      return (await invoke(command, args === undefined ? undefined : { args: defined(args) })) as T;
    } catch (raw) {
      throw toCommandError(raw);
    }
  }

  function subscribe<T>(event: string, handler: (payload: T) => void): Unsubscribe {
    if (listen === undefined) return () => {};
    let stop: (() => void) | undefined;
    let stopped = false;
    listen(event, (message) => handler(message.payload as T)).then(
      (unlisten) => {
        if (stopped) unlisten();
        else stop = unlisten;
      },
      () => {},
    );
    return () => {
      stopped = true;
      stop?.();
    };
  }

  return {
    appStatus: () => call("app_status"),
    listProfiles: () => call("list_profiles"),
    enroll: (args) => call("enroll", args),
    startDemo: () => call("start_demo"),
    switchProfile: (profileId) => call("switch_profile", { profileId }),
    signIn: (badge, pin) => call("sign_in", { badge, pin }),
    signOut: () => call("sign_out"),
    session: (activity) => call("session", { activity }),
    setIdleTimeout: (minutes) => call("set_idle_timeout", { minutes }),

    resolveScan: (raw) => call("resolve_scan", { raw }),

    receive: (args) => call("receive", args),
    moveStock: (args) => call("move_stock", args),
    count: (args) => call("count", args),
    pickLine: (args) => call("pick_line", args),
    shortPick: (args) => call("short_pick", args),
    putBack: (args) => call("put_back", args),
    expectedReceipts: () => call("expected_receipts"),
    expectedReceipt: (reference) => call("expected_receipt", { reference }),
    pickLists: () => call("pick_lists"),
    openPickList: (pickList) => call("open_pick_list", { pickList }),
    countTasks: () => call("count_tasks"),
    stockAt: (location, item) => call("stock_at", { location, item }),
    lookup: (raw) => call("lookup", { raw }),

    variances: () => call("variances"),
    reviewCount: (countedEvent, approve) => call("review_count", { countedEvent, approve }),
    requestCount: (args) => call("request_count", args),
    discrepancies: () => call("discrepancies"),
    quarantined: () => call("quarantined"),
    recordAgain: (eventId) => call("record_again", { eventId }),
    history: (filter) => call("history", filter),
    stockSeries: (item) => call("stock_series", { item }),

    syncStatus: () => call("sync_status"),
    syncNow: () => call("sync_now"),
    scannerSettings: () => call("scanner_settings"),
    saveScannerSettings: (settings) => call("save_scanner_settings", settings),
    serialPorts: () => call("serial_ports"),
    updateStatus: () => call("update_status"),
    checkUpdate: () => call("check_update"),
    downloadUpdate: () => call("download_update"),
    installUpdate: () => call("install_update"),

    onSyncStatus: (handler) => subscribe("sync-status", handler),
    onScan: (handler) => subscribe<{ raw: string }>("scan", (payload) => handler(payload.raw)),
  };
}

/**
 * The backend over `@tauri-apps/api`. The app runs without `withGlobalTauri`, so nothing
 * is injected as `window.__TAURI__`; outside the app (a plain browser, where Tauri's IPC
 * internals are absent) every call rejects with `backend_unreachable`.
 */
export function tauriBackend(): Backend {
  const insideTauri = (globalThis as { __TAURI_INTERNALS__?: unknown }).__TAURI_INTERNALS__ !== undefined;
  if (!insideTauri) return createBackend(undefined, undefined);
  return createBackend(tauriInvoke, tauriListen as Listen);
}

/** The commands that record an event (and so add one to the pending count). */
const RECORDING_COMMANDS = ["receive", "moveStock", "count", "pickLine", "shortPick", "putBack", "reviewCount", "requestCount", "recordAgain"] as const;

/**
 * `backend`, calling `afterRecord` once each recording command succeeded, so the header's
 * pending count shows a new event at once instead of at the next poll (offline, nothing
 * else announces it).
 */
export function refreshingAfterRecords(backend: Backend, afterRecord: () => void): Backend {
  const wrapped: Backend = { ...backend };
  for (const name of RECORDING_COMMANDS) {
    const command = backend[name] as (...args: unknown[]) => Promise<unknown>;
    (wrapped as unknown as Record<string, unknown>)[name] = async (...args: unknown[]) => {
      const answer = await command(...args);
      afterRecord();
      return answer;
    };
  }
  return wrapped;
}
