// Hand-written helpers over the generated contract (contract.ts): names the screens use for
// parts of a Rust type, and the lists the UI iterates. Everything here is checked against
// the generated types by `tsc`; nothing restates a Rust shape.

import type { ErrorCode, Resolved, ShortReason } from "./contract";

/** Codes the UI itself produces: no Tauri at all, or a rejection without the {code, message} shape. */
export const UI_ERROR_CODES = ["backend_unreachable", "backend_failed"] as const;

/** Every code the UI has words for: the backend's (generated) and its own. */
export type KnownErrorCode = ErrorCode | (typeof UI_ERROR_CODES)[number];

export type ResolvedLocation = Extract<Resolved, { kind: "location" }>;
export type ResolvedItem = Extract<Resolved, { kind: "item" }>;
export type ResolvedBadge = Extract<Resolved, { kind: "badge" }>;

/** The reasons a short pick offers, in the order the screen lists them. */
export const SHORT_PICK_REASONS = ["not_found", "damaged", "wrong_item"] as const satisfies readonly ShortReason[];
export type ShortPickReason = ShortReason;

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
