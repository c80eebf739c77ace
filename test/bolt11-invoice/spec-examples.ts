// Reads the BOLT 11 examples (valid and invalid) from the spec markdown, unchanged.
import { readBolt } from '../../src/testing/spec.ts';

export interface SpecExample {
  readonly title: string;
  readonly invoice: string;
  /** Everything in the example's block after the invoice line (the breakdown). */
  readonly body: string;
}

export interface SpecExamples {
  readonly privKey: string;
  readonly paymentSecret: string;
  readonly valid: SpecExample[];
  readonly invalid: SpecExample[];
}

function blocks(section: string): SpecExample[] {
  const lines = section.split('\n');
  const out: SpecExample[] = [];
  let i = 0;
  while (i < lines.length) {
    const head = /^>\s*#+\s*(.+?)\s*$/.exec(lines[i]!);
    if (head === null) {
      i++;
      continue;
    }
    let j = i + 1;
    let invoice: string | undefined;
    // The invoice is the next long alphanumeric token, quoted (`> lnbc...`) or on its own line.
    for (; j < lines.length && !/^>\s*#+\s/.test(lines[j]!); j++) {
      const t = lines[j]!.replace(/^>\s*/, '').trim();
      if (/^[A-Za-z0-9]{40,}$/.test(t)) {
        invoice = t;
        j++;
        break;
      }
    }
    let k = j;
    while (k < lines.length && !/^>\s*#+\s/.test(lines[k]!)) k++;
    if (invoice === undefined) throw new Error(`no invoice found for example "${head[1]}"`);
    out.push({ title: head[1]!, invoice, body: lines.slice(j, k).join('\n') });
    i = k;
  }
  return out;
}

export function loadSpecExamples(): SpecExamples {
  const md = readBolt('11-payment-encoding.md');
  const start = md.indexOf('\n# Examples\n');
  const invalidStart = md.indexOf('\n# Examples of Invalid Invoices');
  const end = md.indexOf('\n# Authors', invalidStart);
  if (start < 0 || invalidStart < 0 || end < 0) throw new Error('BOLT 11 example sections not found');
  const validText = md.slice(start, invalidStart);
  const privKey = /`priv_key`=`([0-9a-f]{64})`/.exec(validText)?.[1];
  const paymentSecret = /`payment_secret`=`([0-9a-f]{64})`/.exec(validText)?.[1];
  if (privKey === undefined || paymentSecret === undefined) throw new Error('example key / secret not found');
  return { privKey, paymentSecret, valid: blocks(validText), invalid: blocks(md.slice(invalidStart, end)) };
}
