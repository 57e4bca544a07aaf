// `npm run example`: the main job end to end on the embedded default. It builds (or reuses) the pinned
// Temporal CLI and brings up a local dev server; the example sweep itself lands with the sweep workflow.
import { join } from 'node:path';
import { defaultDataDir } from '../src/server/data-dir.js';
import { startDevServer } from '../src/server/dev-server.js';
import { resolveTemporalBinary } from '../src/server/temporal-binary.js';

const binary = await resolveTemporalBinary();
process.stderr.write(`Temporal CLI ${binary.version} (${binary.source}): ${binary.path}\n`);
const dataDir = join(defaultDataDir(), 'example');
const server = await startDevServer({
  binary: binary.path,
  ip: '127.0.0.1',
  port: 7233,
  uiPort: 8233,
  dbFile: join(dataDir, 'temporal.db'),
  logFile: join(dataDir, 'temporal.log'),
});
process.stdout.write(`Temporal dev server is up: gRPC ${server.address}, Web UI ${server.uiUrl}\n`);
process.stdout.write('The example sweep needs the sweep workflow, which is not built yet: stopping here.\n');
await server.stop();
