// The one module that talks to the Rust backend.
//
// Screens receive a backend object instead of calling Tauri themselves, so tests can
// drive the same screens with a fake backend. Every failure is turned into a
// CommandError with a stable `code` (the Rust side sends `{code, message}`); screens
// branch on `code`, never on message text.

/** Code used when there is no Tauri backend at all (e.g. the page opened in a browser). */
export const BACKEND_UNREACHABLE = "backend_unreachable";

/** Code used when the backend failed without the `{code, message}` shape. */
export const BACKEND_FAILED = "backend_failed";

export class CommandError extends Error {
  /**
   * @param {string} code stable machine-readable code
   * @param {string} message human sentence the UI may show as is
   */
  constructor(code, message) {
    super(message);
    this.name = "CommandError";
    this.code = code;
  }
}

/**
 * Turns whatever a Tauri invoke rejected with into a CommandError.
 * Our commands reject with `{code, message}`; Tauri itself rejects with plain
 * strings (e.g. an unknown command), and anything else is kept as text.
 * @param {unknown} raw
 * @returns {CommandError}
 */
export function toCommandError(raw) {
  if (raw instanceof CommandError) return raw;
  if (raw && typeof raw === "object" && typeof raw.code === "string") {
    return new CommandError(raw.code, String(raw.message ?? raw.code));
  }
  if (raw instanceof Error) return new CommandError(BACKEND_FAILED, raw.message);
  return new CommandError(BACKEND_FAILED, String(raw));
}

/**
 * Builds the backend interface over an invoke function with Tauri's signature
 * `(command, args) => Promise`. Pass nothing to get a backend that reports itself
 * unreachable on every call.
 * @param {((command: string, args?: object) => Promise<unknown>) | undefined} invoke
 */
export function createBackend(invoke) {
  async function call(command, args) {
    if (typeof invoke !== "function") {
      throw new CommandError(
        BACKEND_UNREACHABLE,
        "the Aisle backend is not reachable (this page must run inside the Aisle app)",
      );
    }
    try {
      return await invoke(command, args);
    } catch (raw) {
      throw toCommandError(raw);
    }
  }

  return {
    /** @returns {Promise<{appVersion: string, coreCrate: string, eventVersion: number, storeCrate: string, storeSchemaVersion: number, store: string}>} */
    appStatus: () => call("app_status"),
  };
}

/** The invoke function Tauri injects with `app.withGlobalTauri`, if present. */
export function tauriInvoke() {
  return globalThis.__TAURI__?.core?.invoke;
}
