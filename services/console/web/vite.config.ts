import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const here = fileURLToPath(new URL('.', import.meta.url));

/** The console's single-page app: built into services/console/dist/web, which the server serves. */
export default defineConfig({
  root: here,
  base: '/',
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    // ECharts alone is ~550 kB minified (~190 kB gzip), loaded once and cached.
    chunkSizeWarningLimit: 700,
    // ECharts is most of the bundle; one chunk of its own keeps the app's chunk small to reload.
    rolldownOptions: { output: { advancedChunks: { groups: [{ name: 'echarts', test: /node_modules[\\/](echarts|zrender)/ }] } } },
  },
  server: {
    port: 5173,
    proxy: { '/api': 'http://127.0.0.1:3005' },
  },
});
