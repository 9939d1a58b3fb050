// Who may see what. The one place the UI decides by role, so an admin (who may do
// everything a manager may) is never told apart by a stray `=== "manager"`. The backend
// checks again; this only decides what is shown.

import type { Role } from "../contract";

const ROLES: readonly Role[] = ["picker", "manager", "admin"];

export function isRole(text: string): text is Role {
  return (ROLES as readonly string[]).includes(text);
}

/** Whether `role` sees everything a manager sees: managers and admins. */
export function isManager(role: Role | string): boolean {
  return role === "manager" || role === "admin";
}

/** Menu entries only managers (and admins) get. */
export const MANAGER_ENTRIES: readonly string[] = ["manager", "scanner"];

/** Whether `role` may open the menu entry `entry`. */
export function mayOpen(role: Role | string, entry: string): boolean {
  return !MANAGER_ENTRIES.includes(entry) || isManager(role);
}
