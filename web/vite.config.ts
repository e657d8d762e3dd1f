/// <reference types="vitest/config" />
import { defineConfig } from 'vite';

// The console is built into static/dist, which web/embed.go embeds into the
// Go binary. Hashed file names under assets/ let the server cache them forever.
export default defineConfig({
  base: '/',
  build: {
    outDir: 'static/dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    target: 'es2022',
    sourcemap: false,
    chunkSizeWarningLimit: 900,
    reportCompressedSize: true,
    rolldownOptions: {
      output: {
        // ECharts and the crypto libraries change less often than the
        // console: their own hashed chunks stay cached across releases.
        codeSplitting: {
          groups: [
            { name: 'echarts', test: /node_modules[\\/](echarts|zrender)[\\/]/ },
            { name: 'crypto', test: /node_modules[\\/]@noble[\\/]/ },
          ],
        },
      },
    },
  },
  server: {
    // `npm run dev` proxies the API to a running `shuixiao serve` or `demo`.
    proxy: {
      '/api': process.env.SHUIXIAO_API ?? 'http://127.0.0.1:8080',
      '/ledger': process.env.SHUIXIAO_API ?? 'http://127.0.0.1:8080',
    },
  },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
  },
});
