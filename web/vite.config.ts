// Vite build of the wallboard. `npm run dev` serves it with hot reload and forwards the API
// and the WebSockets to a running citybrain server (CITYBRAIN_URL, default 127.0.0.1:1026).
import { defineConfig } from "vite";

const target = process.env.CITYBRAIN_URL ?? "http://127.0.0.1:1026";
const api = { target, changeOrigin: false };

export default defineConfig({
  base: "/",
  build: {
    target: "es2020",
    outDir: "dist",
    assetsDir: "assets",
    chunkSizeWarningLimit: 1500,
    rollupOptions: {
      output: {
        // MapLibre changes far less often than the app: its own cached chunk. (ECharts is
        // loaded on first use, in a chunk of its own.)
        manualChunks: { maplibre: ["maplibre-gl"] },
      },
    },
  },
  server: {
    port: 5173,
    proxy: {
      "/api": api,
      "/ngsi-ld": api,
      "/admin": api,
      "/open311": api,
      "/health": api,
      "/ws": { target: target.replace(/^http/, "ws"), ws: true },
    },
  },
});
