// JSON with bigint: amounts are bigint inside the node and plain JSON numbers on the wire (as CLN prints them).

export function stringifyJson(value: unknown, indent?: number): string {
  const text = JSON.stringify(
    value,
    (_k, v) =>
      typeof v === 'bigint' ? (v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : `${v}#bigint`) : v,
    indent,
  );
  // Values above 2^53 stay exact: emit the digits unquoted.
  return text.replace(/"(-?\d+)#bigint"/g, '$1');
}

/**
 * Splits a byte stream into complete top-level JSON values (objects or arrays), as Core Lightning's
 * socket protocol does: no framing besides the JSON itself.
 */
export class JsonStreamSplitter {
  private buffer = '';
  private depth = 0;
  private inString = false;
  private escaped = false;
  private scanned = 0;
  private start = -1;

  /** Feeds text; returns the complete JSON texts found. Throws on a stray character outside a value. */
  push(chunk: string): string[] {
    this.buffer += chunk;
    const out: string[] = [];
    for (let i = this.scanned; i < this.buffer.length; i++) {
      const ch = this.buffer[i]!;
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (ch === '\\') this.escaped = true;
        else if (ch === '"') this.inString = false;
        continue;
      }
      if (this.depth === 0 && /\s/.test(ch)) continue;
      if (this.depth === 0 && ch !== '{' && ch !== '[')
        throw new SyntaxError(`unexpected '${ch}' between requests`);
      if (ch === '"') this.inString = true;
      else if (ch === '{' || ch === '[') {
        if (this.depth === 0) this.start = i;
        this.depth++;
      } else if (ch === '}' || ch === ']') {
        this.depth--;
        if (this.depth === 0) {
          out.push(this.buffer.slice(this.start, i + 1));
          this.buffer = this.buffer.slice(i + 1);
          i = -1;
          this.start = -1;
        }
      }
      this.scanned = i + 1;
    }
    this.scanned = this.buffer.length;
    if (this.buffer.length > 16 * 1024 * 1024) throw new SyntaxError('request larger than 16 MiB');
    return out;
  }
}
