// Builds the UI into ui/dist, which tauri.conf.json points at; Vitest runs the tests in
// tests/ against a jsdom document. Preact's JSX is compiled by esbuild directly, so no
// Babel-based plugin is needed. Vite 6, Vitest 3 and jsdom 26 are the newest that still run
// on Node 18.19, which is what Debian 12's apt `nodejs` is (see package.json "engines").

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
    environment: "jsdom",
    setupFiles: ["tests/setup.ts"],
    include: ["tests/**/*.test.{ts,tsx}"],
  },
});
