#!/usr/bin/python3
"""Electrum's BOLT 1 message codec (electrum.lnmsg, python3-electrum from Debian) as a batch tool, so
shandian's wire engine can be cross-checked against an independent implementation.

Run with Debian's system Python (Electrum is installed there, not in pyenv):

  /usr/bin/python3 tools/wire-electrum.py schema            # Electrum's peer_wire.csv as JSON
  /usr/bin/python3 tools/wire-electrum.py decode < hex.txt  # one hex message per line

decode prints one JSON line per input: {"ok": true, "name": ..., "fields": {...}, "reencoded": hex}
or {"ok": false, "error": "..."}. Integers are decimal strings, byte fields hex. TLV streams are skipped.
"""
import csv
import json
import os
import sys

from electrum import lnmsg


def schema():
    path = os.path.join(os.path.dirname(lnmsg.__file__), 'lnwire', 'peer_wire.csv')
    messages = {}
    with open(path, newline='') as f:
        for row in csv.reader(f):
            if not row:
                continue
            if row[0] == 'msgtype':
                messages[row[1]] = {'type': int(row[2]), 'fields': [], 'tlvs': None}
            elif row[0] == 'msgdata':
                m = messages[row[1]]
                if row[2] == 'tlvs':
                    m['tlvs'] = row[3]
                else:
                    m['fields'].append([row[2], row[3], row[4] if len(row) > 4 else '', row[5] if len(row) > 5 else ''])
    print(json.dumps({'messages': messages}))


def plain(v):
    if isinstance(v, (bytes, bytearray)):
        return bytes(v).hex()
    if isinstance(v, int):
        return str(v)
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    return repr(v)


def decode():
    ser = lnmsg.LNSerializer()
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            name, fields = ser.decode_msg(bytes.fromhex(line))
            reencoded = ser.encode_msg(name, **fields).hex()
            print(json.dumps({'ok': True, 'name': name, 'fields': plain(fields), 'reencoded': reencoded}))
        except Exception as e:  # noqa: BLE001 -- every failure is reported to the caller as data
            print(json.dumps({'ok': False, 'error': f'{type(e).__name__}: {e}'}))


if __name__ == '__main__':
    {'schema': schema, 'decode': decode}[sys.argv[1]]()
