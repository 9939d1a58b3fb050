// Builds the UI into ui/dist, which tauri.conf.json points at; Vitest runs the tests in
// tests/ against a happy-dom document. Preact's JSX is compiled by esbuild directly, so no
// Babel-based plugin is needed.

import { defineConfig } from "vitest/config";

export default defineConfig({
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    // Tauri serves the files locally: no CDN and no inline scripts (the CSP forbids them).
    modulePreload: { polyfill: false },
  },
  server: { port: 1420, strictPort: true },
  test: {
    environment: "happy-dom",
    include: ["tests/**/*.test.{ts,tsx}"],
  },
});
