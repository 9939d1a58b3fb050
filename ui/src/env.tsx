// What every screen gets from the app: the backend, sounds, the scan bus and the key stack.
//
// Screens take these from context rather than importing them, so a test renders a screen
// inside an `EnvContext.Provider` with a fake backend and drives it.

import { createContext } from "preact";
import { useContext, useLayoutEffect, useRef } from "preact/hooks";

import type { Backend } from "./backend";
import type { KeyMap, KeyStack } from "./keys";
import type { ScanBus } from "./scanner/bus";
import type { Sounds } from "./sound";

export interface Env {
  backend: Backend;
  sounds: Sounds;
  scans: ScanBus;
  keys: KeyStack;
}

export const EnvContext = createContext<Env | null>(null);

export function useEnv(): Env {
  const env = useContext(EnvContext);
  if (env === null) throw new Error("a screen was rendered outside EnvContext");
  return env;
}

// Both hooks register in layout effects: at once on mount, so a key or a scan that comes
// right after a step changes already finds the new step's handlers.

/** Calls `handler` with every scan while this component is the newest listener. */
export function useScan(handler: (raw: string) => void): void {
  const { scans } = useEnv();
  const latest = useRef(handler);
  latest.current = handler;
  useLayoutEffect(() => scans.listen((raw) => latest.current(raw)), [scans]);
}

/** Registers keyboard shortcuts for as long as this component is mounted. */
export function useKeys(map: KeyMap): void {
  const { keys } = useEnv();
  const latest = useRef(map);
  latest.current = map;
  useLayoutEffect(() => keys.push(() => latest.current), [keys]);
}
