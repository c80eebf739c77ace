// The Logger seam, over pino: JSON lines to <datadir>/<network>/log, and a short human line on stderr.

import { openSync } from 'node:fs';
import { Writable } from 'node:stream';
import pino from 'pino';

export interface Logger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

const LEVEL_NAMES: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};

/** Formats pino's JSON records as `time LEVEL [component] message key=value...`. */
function humanStream(out: NodeJS.WritableStream): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      try {
        const {
          time,
          level,
          msg,
          component,
          pid: _pid,
          hostname: _h,
          ...rest
        } = JSON.parse(chunk.toString('utf8'));
        const extras = Object.entries(rest)
          .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
          .join(' ');
        const when = new Date(time).toISOString().slice(11, 23);
        out.write(
          `${when} ${(LEVEL_NAMES[level] ?? level).padEnd(5)} ${component ? `[${component}] ` : ''}${msg}${extras ? ` ${extras}` : ''}\n`,
        );
      } catch {
        out.write(chunk);
      }
      done();
    },
  });
}

export function createLogger(opts: { file?: string; level: string; stderr: boolean; name?: string }): Logger {
  const streams: pino.StreamEntry[] = [];
  if (opts.file)
    streams.push({ level: 'debug', stream: pino.destination({ fd: openSync(opts.file, 'a'), sync: false }) });
  if (opts.stderr) streams.push({ level: opts.level as pino.Level, stream: humanStream(process.stderr) });
  const base = pino(
    {
      level: 'debug',
      base: opts.name ? { node: opts.name } : {},
      timestamp: pino.stdTimeFunctions.epochTime,
    },
    pino.multistream(streams),
  );
  return base as unknown as Logger;
}

/** A logger that keeps records in memory: for tests that assert the node says why it did something. */
export function memoryLogger(records: { level: string; msg: string; [k: string]: unknown }[] = []): Logger {
  const make = (bindings: Record<string, unknown>): Logger => {
    const log = (level: string) => (obj: object, msg: string) =>
      records.push({ ...bindings, ...obj, level, msg });
    return {
      debug: log('debug'),
      info: log('info'),
      warn: log('warn'),
      error: log('error'),
      child: (b) => make({ ...bindings, ...b }),
    };
  };
  return make({});
}
