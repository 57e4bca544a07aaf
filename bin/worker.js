#!/usr/bin/env node
// `worker …` is `sweep worker …`, as the design card installs it.
process.argv.splice(2, 0, 'worker');
await import('./sweep.js');
