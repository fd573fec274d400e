/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// In production the daemon serves dist/ at `/`, so the app only ever uses relative URLs.
const daemon = process.env.PAPERTRADE_DEV_DAEMON ?? 'http://127.0.0.1:8000';

export default defineConfig({
  plugins: [react()],
  build: {
    target: 'es2022',
    outDir: 'dist',
    sourcemap: false,
    reportCompressedSize: true,
  },
  server: {
    proxy: {
      '/api': daemon,
      '/schema': daemon,
      '/healthz': daemon,
      '/ws': { target: daemon, ws: true },
    },
  },
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
  },
});
