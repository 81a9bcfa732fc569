import { defineConfig } from 'vite';

export default defineConfig({
  // Relative asset URLs: the built app works from any folder of any static host.
  base: './',
  // The worker imports backends lazily (code splitting), which needs an ES module worker.
  worker: { format: 'es' },
  build: {
    target: 'es2022',
    // tfjs-core and the wasm backend are large by nature; they load once, in the worker.
    chunkSizeWarningLimit: 2500,
  },
  // Dev server: pre-bundle every tfjs entry the worker reaches, up front and together. Otherwise Vite discovers
  // them only when the worker loads, re-optimizes, and the worker ends up with two copies of tfjs-core
  // ("Cannot evaluate flag 'DEBUG'"). @tarm/* are linked workspace packages, served from their dist/ as is.
  optimizeDeps: {
    include: [
      '@tensorflow/tfjs-core',
      '@tensorflow/tfjs-core/dist/register_all_gradients',
      '@tensorflow/tfjs-backend-wasm',
      '@tarm/backend-cpu > @tensorflow/tfjs-backend-cpu',
      '@tarm/backend-webgpu > @tensorflow/tfjs-backend-webgpu',
      '@tarm/core > @tensorflow/tfjs-layers',
    ],
  },
  server: { host: '127.0.0.1' },
  preview: { host: '127.0.0.1' },
});
