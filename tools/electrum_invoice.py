#!/usr/bin/python3
"""Electrum's BOLT 11 codec (electrum.lnaddr, python3-electrum from Debian) as a batch tool, so
shandian's invoices can be cross-checked against an independent implementation.

Run with Debian's system Python (Electrum is installed there, not in pyenv):

  /usr/bin/python3 tools/electrum_invoice.py decode < invoices.txt   # one invoice per line
  /usr/bin/python3 tools/electrum_invoice.py encode < specs.jsonl    # one JSON spec per line

Each input line gives one JSON line on stdout: {"ok": true, ...} or {"ok": false, "error": "..."}.

Encode spec: {"network": "mainnet"|"testnet"|"signet"|"regtest", "privkey": hex, "timestamp": int,
  "amount_msat": int|null, "payment_hash": hex, "payment_secret": hex,
  "tags": [[letter, value], ...]} with values: d: text; h: the description text (Electrum hashes
  it); x, c: int; n: hex pubkey; f: address; 9: features as a hex integer;
  r: [[pubkey hex, short_channel_id hex (8 bytes), fee_base_msat, fee_proportional_millionths,
  cltv_expiry_delta], ...]. Electrum always writes p then s first, then the tags in order.
"""
import json
import re
import sys
from decimal import Decimal

from electrum import constants
from electrum.lnaddr import LnAddr, lndecode, lnencode
from electrum.segwit_addr import bech32_decode

NETS = {
    'mainnet': (constants.BitcoinMainnet, constants.set_mainnet),
    'testnet': (constants.BitcoinTestnet, constants.set_testnet),
    'signet': (constants.BitcoinSignet, constants.set_signet),
    'regtest': (constants.BitcoinRegtest, constants.set_regtest),
}
BY_HRP = {net.BOLT11_HRP: name for name, (net, _) in NETS.items()}


def use_network(name):
    net, setter = NETS[name]
    setter()  # lnaddr reads constants.net for defaults: keep it consistent with the invoice
    return net


def network_of_invoice(invoice):
    hrp = bech32_decode(invoice, ignore_long_length=True).hrp
    if hrp is None:
        raise ValueError('not bech32')
    m = re.match(r'ln([a-z]+)', hrp)
    if m is None or m.group(1) not in BY_HRP:
        raise ValueError(f'unknown prefix {hrp}')
    return BY_HRP[m.group(1)]


def decode_one(invoice):
    name = network_of_invoice(invoice)
    net = use_network(name)
    a = lndecode(invoice, net=net)
    out = {
        'ok': True,
        'network': name,
        'currency': a.net.BOLT11_HRP,
        'amount_msat': a.get_amount_msat(),
        'timestamp': a.date,
        'payment_hash': a.paymenthash.hex(),
        'payment_secret': a.payment_secret.hex() if a.payment_secret is not None else None,
        'payee': a.pubkey.serialize().hex(),
        'expiry': a.get_expiry(),
        'min_final_cltv_expiry': a.get_min_final_cltv_expiry(),
        'signature': a.signature.hex(),
        'description': None,
        'description_hash': None,
        'features': None,
        'fallbacks': [],
        'routes': [],
        'unknown_tags': [],
    }
    for k, v in a.tags:
        if k == 'd':
            out['description'] = v
        elif k == 'h':
            out['description_hash'] = v.hex()
        elif k == '9':
            out['features'] = format(int(v), 'x')
        elif k == 'f':
            out['fallbacks'].append(v)
        elif k == 'r':
            out['routes'].append([
                {
                    'pubkey': pk.hex(),
                    'short_channel_id': scid.hex(),
                    'fee_base_msat': fb,
                    'fee_proportional_millionths': fp,
                    'cltv_expiry_delta': cltv,
                }
                for (pk, scid, fb, fp, cltv) in v
            ])
    for tag, bits in a.unknown_tags:
        out['unknown_tags'].append({'tag': tag, 'bits': bits.bin})
    return out


def encode_one(spec):
    net = use_network(spec['network'])
    tags = []
    for letter, value in spec['tags']:
        if letter == 'n':
            value = bytes.fromhex(value)
        elif letter == '9':
            value = int(value, 16)
        elif letter == 'r':
            value = [
                (bytes.fromhex(pk), bytes.fromhex(scid), fb, fp, cltv)
                for (pk, scid, fb, fp, cltv) in value
            ]
        tags.append((letter, value))
    amount = spec.get('amount_msat')
    addr = LnAddr(
        paymenthash=bytes.fromhex(spec['payment_hash']),
        payment_secret=bytes.fromhex(spec['payment_secret']),
        amount=None if amount is None else Decimal(amount) / Decimal(10**11),
        net=net,
        tags=tags,
        date=spec['timestamp'],
    )
    if spec['timestamp'] == 0:
        addr.date = 0  # LnAddr treats a falsy date as "now"
    return {'ok': True, 'invoice': lnencode(addr, bytes.fromhex(spec['privkey']))}


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in ('decode', 'encode'):
        sys.stderr.write(__doc__)
        return 2
    mode = sys.argv[1]
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            out = decode_one(line) if mode == 'decode' else encode_one(json.loads(line))
        except Exception as e:  # every failure is reported per line, as data
            out = {'ok': False, 'error': f'{type(e).__name__}: {e}'}
        sys.stdout.write(json.dumps(out, ensure_ascii=False) + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
