// Unit tests for the status line and the backend interface, driven by fake backends.

import { test } from "node:test";
import assert from "node:assert/strict";

import {
  BACKEND_FAILED,
  BACKEND_UNREACHABLE,
  CommandError,
  createBackend,
  toCommandError,
} from "../src/backend.js";
import { formatStatus, formatStatusError, loadStatusLine } from "../src/status.js";

// The shape `app_status` returns; the Rust test `app_status_serializes_with_the_keys_the_ui_reads`
// pins the same keys on the other side.
const SAMPLE_STATUS = {
  appVersion: "0.1.0",
  coreCrate: "aisle-core",
  eventVersion: 1,
  storeCrate: "aisle-store",
  storeSchemaVersion: 1,
  store: "not opened yet",
};

test("formatStatus shows version, crates and store state on one line", () => {
  assert.deepEqual(formatStatus(SAMPLE_STATUS), {
    tone: "ok",
    text: "Aisle 0.1.0 · aisle-core (events v1) · aisle-store (schema v1) · store: not opened yet",
  });
});

test("formatStatusError says plainly when the backend is not reachable", () => {
  const line = formatStatusError({ code: BACKEND_UNREACHABLE, message: "no Tauri here" });
  assert.equal(line.tone, "error");
  assert.match(line.text, /^Backend not reachable: no Tauri here$/);
});

test("formatStatusError shows the code of any other failure", () => {
  const line = formatStatusError({ code: "disk_full", message: "the disk is full" });
  assert.deepEqual(line, { tone: "error", text: "Error (disk_full): the disk is full" });
});

test("loadStatusLine formats the answer of a working backend", async () => {
  const calls = [];
  const backend = createBackend(async (command, args) => {
    calls.push([command, args]);
    return SAMPLE_STATUS;
  });
  const line = await loadStatusLine(backend);
  assert.equal(line.tone, "ok");
  assert.deepEqual(calls, [["app_status", undefined]], "one call to the app_status command");
});

test("loadStatusLine reports an unreachable backend instead of rejecting", async () => {
  const line = await loadStatusLine(createBackend(undefined));
  assert.equal(line.tone, "error");
  assert.match(line.text, /^Backend not reachable: /);
});

test("a {code, message} rejection from Rust keeps its code", async () => {
  const backend = createBackend(async () => {
    throw { code: "store_busy", message: "database is locked" };
  });
  await assert.rejects(backend.appStatus(), (error) => {
    assert.ok(error instanceof CommandError);
    assert.equal(error.code, "store_busy");
    assert.equal(error.message, "database is locked");
    return true;
  });
});

test("toCommandError wraps Tauri's plain-string rejections", () => {
  const error = toCommandError("command app_status not found");
  assert.equal(error.code, BACKEND_FAILED);
  assert.equal(error.message, "command app_status not found");
});
