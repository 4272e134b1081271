#!/usr/bin/env node
// Thin launcher so the bin link exists before the first build; the program is in dist/.
import('../dist/main.js').then((m) => m.main(process.argv)).catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/main.js')) {
    console.error('isthmus is not built yet: run `npm run build` in the repository root first.');
  } else {
    console.error(err && err.stack ? err.stack : err);
  }
  process.exit(1);
});
