// The node's folder `<datadir>/<network>/`: created 0700, and locked by a pid file so two nodes never share it.
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from './errors.ts';

export interface NetworkDir {
  readonly path: string;
  file(name: string): string;
  release(): void;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function openNetworkDir(datadir: string, network: string): NetworkDir {
  const path = join(datadir, network);
  mkdirSync(path, { recursive: true, mode: 0o700 });
  const lock = join(path, 'shandian.pid');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lock, 'wx', 0o600);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw e;
      const pid = Number(readFileSync(lock, 'utf8').trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
        throw new UsageError(
          `another shandian (pid ${pid}) is using ${path}; stop it first (shandian --datadir ${datadir} --network ${network} stop)`,
        );
      }
      rmSync(lock, { force: true }); // left by a node that died
    }
  }
  return {
    path,
    file: (name) => join(path, name),
    release: () => rmSync(lock, { force: true }),
  };
}
