// Where scans go: one bus fed by the keyboard wedge and by the serial scanner's `scan`
// event, read by whichever screen listened last (the one on top), so a scan always reaches
// the step that is waiting for it, wherever the focus is.

export type ScanHandler = (raw: string) => void;

export interface ScanBus {
  publish(raw: string): void;
  /** The newest listener gets every scan until it unsubscribes. */
  listen(handler: ScanHandler): () => void;
}

export function createScanBus(): ScanBus {
  const handlers: ScanHandler[] = [];
  return {
    publish(raw) {
      handlers[handlers.length - 1]?.(raw);
    },
    listen(handler) {
      handlers.push(handler);
      return () => {
        const index = handlers.lastIndexOf(handler);
        if (index >= 0) handlers.splice(index, 1);
      };
    },
  };
}
