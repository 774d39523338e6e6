#!/usr/bin/env node
// The installed entry point: runs the compiled CLI (npm run build writes dist/).
import('../dist/cli/main.js').catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/cli/main.js')) {
    process.stderr.write('zctrace: not built yet; run `npm run build` (or `npm run setup`) first\n');
    process.exit(2);
  }
  throw err;
});
