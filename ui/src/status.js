// The status line: pure formatting of the backend's `app_status` answer.
//
// No DOM and no Tauri here, so it runs under `node --test` as is.

import { BACKEND_UNREACHABLE } from "./backend.js";

/**
 * @typedef {{tone: "ok" | "error", text: string}} StatusLine
 */

/**
 * Formats a successful `app_status` answer.
 * @param {{appVersion: string, coreCrate: string, eventVersion: number, storeCrate: string, storeSchemaVersion: number, store: string}} status
 * @returns {StatusLine}
 */
export function formatStatus(status) {
  const parts = [
    `Aisle ${status.appVersion}`,
    `${status.coreCrate} (events v${status.eventVersion})`,
    `${status.storeCrate} (schema v${status.storeSchemaVersion})`,
    `store: ${status.store}`,
  ];
  return { tone: "ok", text: parts.join(" · ") };
}

/**
 * Formats a failed call so a person on the floor knows what to do.
 * @param {{code: string, message: string}} error
 * @returns {StatusLine}
 */
export function formatStatusError(error) {
  if (error.code === BACKEND_UNREACHABLE) {
    return { tone: "error", text: `Backend not reachable: ${error.message}` };
  }
  return { tone: "error", text: `Error (${error.code}): ${error.message}` };
}

/**
 * Asks the backend for its status and returns the line to show; never rejects.
 * @param {{appStatus: () => Promise<any>}} backend
 * @returns {Promise<StatusLine>}
 */
export async function loadStatusLine(backend) {
  try {
    return formatStatus(await backend.appStatus());
  } catch (error) {
    return formatStatusError(error);
  }
}
