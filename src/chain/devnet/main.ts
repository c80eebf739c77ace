// `node --import tsx src/chain/devnet/main.ts --datadir D [--port P] [--host H] [--block-time ms] [--automine]
//  [--rpcuser U --rpcpassword P] [--mempoolfullrbf 0|1]`: runs the devnet until SIGTERM/SIGINT; prints one JSON line {url, cookie}.
import { parseArgs } from 'node:util';
import { type RunningDevnet, startDevnet } from './server.ts';

const { values } = parseArgs({
  options: {
    datadir: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '0' },
    'block-time': { type: 'string' },
    automine: { type: 'boolean', default: false },
    mempoolfullrbf: { type: 'string', default: '1' },
    rpcuser: { type: 'string' },
    rpcpassword: { type: 'string' },
  },
});
if (!values.datadir) {
  process.stderr.write('usage: main.ts --datadir DIR [--port P] [--host H] [--block-time MS] [--automine]\n');
  process.exit(2);
}
let devnet: RunningDevnet;
try {
  devnet = await startDevnet({
    datadir: values.datadir,
    host: values.host,
    port: Number(values.port),
    automine: values.automine,
    fullRbf: values.mempoolfullrbf !== '0',
    ...(values['block-time'] ? { blockTimeMs: Number(values['block-time']) } : {}),
    ...(values.rpcuser !== undefined && values.rpcpassword !== undefined
      ? { rpcUser: values.rpcuser, rpcPassword: values.rpcpassword }
      : {}),
  });
} catch (e) {
  process.stderr.write(`devnet: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
}
process.stdout.write(`${JSON.stringify({ url: devnet.url, cookie: devnet.cookieFile })}\n`);
const shutdown = (): void => {
  devnet.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
