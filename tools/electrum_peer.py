#!/usr/bin/python3
"""A BOLT 8 peer built on Electrum's independent implementation (electrum.lntransport), for interop tests.

Run with Debian's system Python, which has python3-electrum:

  /usr/bin/python3 tools/electrum_peer.py connect --host 127.0.0.1 --port 9735 --pubkey <66 hex> [--privkey <64 hex>]
  /usr/bin/python3 tools/electrum_peer.py listen  --host 127.0.0.1 --port 0 [--privkey <64 hex>]

After the handshake both modes run the same script: send `init` (type 16), wait for the peer's `init`,
then send `--pings` pings (type 18; the first asks for a 65531-byte pong, the largest a message allows),
answer every ping with a pong (type 19), and finish once it has all its pongs and has answered
`--expect-pings` pings. Every step is printed as one JSON line on stdout; the last is
{"event": "done", ...} or {"event": "error", ...} (exit status 0 or 1).
"""

import argparse
import asyncio
import json
import os
import sys

try:
    from electrum.ecc import ECPrivkey
    from electrum.lntransport import LNResponderTransport, LNTransport
    from electrum.lnutil import LNPeerAddr
except Exception as e:  # noqa: BLE001 - report any import failure as data
    print(json.dumps({"event": "error", "stage": "import", "message": f"cannot import electrum: {e!r}"}), flush=True)
    sys.exit(2)

INIT, PING, PONG = 16, 18, 19
BIG_PONG = 65531  # 2 (type) + 2 (byteslen) + 65531 = 65535 bytes, the BOLT 8 maximum
# Our init's features: option_data_loss_protect (bit 1, optional) and var_onion_optin (bit 9, optional).
FEATURES = bytes([0x02, 0x02])


def emit(**fields):
    print(json.dumps(fields), flush=True)


def u16(n):
    return n.to_bytes(2, "big")


def init_message():
    return u16(INIT) + u16(0) + u16(len(FEATURES)) + FEATURES


def ping_message(num_pong_bytes, ignored_len):
    return u16(PING) + u16(num_pong_bytes) + u16(ignored_len) + bytes(ignored_len)


def pong_message(n):
    return u16(PONG) + u16(n) + bytes(n)


async def session(transport, remote_pubkey, pings, expect_pings):
    emit(event="handshake", remote_pubkey=remote_pubkey.hex())
    transport.send_bytes(init_message())
    emit(event="sent", type=INIT, length=len(init_message()))
    got_init = False
    expected_pongs = []  # pong lengths we asked for, in order
    pongs = 0
    answered = 0
    received = 0
    async for msg in transport.read_messages():
        received += 1
        if len(msg) < 2:
            raise ValueError(f"message of {len(msg)} bytes has no type")
        t = int.from_bytes(msg[:2], "big")
        if t == INIT:
            gflen = int.from_bytes(msg[2:4], "big")
            flen = int.from_bytes(msg[4 + gflen:6 + gflen], "big")
            features = msg[6 + gflen:6 + gflen + flen]
            emit(event="recv", type=INIT, length=len(msg), globalfeatures=msg[4:4 + gflen].hex(), features=features.hex(),
                 tlvs=msg[6 + gflen + flen:].hex())
            if got_init:
                raise ValueError("second init")
            got_init = True
            for i in range(pings):
                n = BIG_PONG if i == 0 else i % 200
                expected_pongs.append(n)
                transport.send_bytes(ping_message(n, i % 7))
            emit(event="sent", type=PING, count=pings)
        elif t == PING:
            if not got_init:
                raise ValueError("ping before init")
            n = int.from_bytes(msg[2:4], "big")
            ignored = int.from_bytes(msg[4:6], "big")
            if 6 + ignored != len(msg):
                raise ValueError(f"ping byteslen {ignored} does not match its length {len(msg)}")
            if n < 65532:
                transport.send_bytes(pong_message(n))
            answered += 1
            if answered == 1 or answered == expect_pings:
                emit(event="recv", type=PING, num_pong_bytes=n, answered=answered)
        elif t == PONG:
            n = int.from_bytes(msg[2:4], "big")
            if pongs >= len(expected_pongs):
                raise ValueError("unexpected pong")
            if n != expected_pongs[pongs] or len(msg) != 4 + n:
                raise ValueError(f"pong {pongs}: byteslen {n}, length {len(msg)}, expected {expected_pongs[pongs]}")
            pongs += 1
            if pongs == 1 or pongs == pings:
                emit(event="recv", type=PONG, length=len(msg), pongs=pongs)
        else:
            emit(event="recv", type=t, length=len(msg))
        if got_init and pongs == pings and answered >= expect_pings:
            break
    emit(event="done", received=received, pongs=pongs, answered=answered)


async def run_connect(args, privkey):
    pubkey = bytes.fromhex(args.pubkey)
    t = LNTransport(privkey, LNPeerAddr(args.host, args.port, pubkey), proxy=None)
    await t.handshake()
    try:
        await session(t, pubkey, args.pings, args.expect_pings)
    finally:
        t.close()


async def run_listen(args, privkey):
    finished = asyncio.get_running_loop().create_future()

    async def on_client(reader, writer):
        if finished.done():
            writer.close()
            return
        t = LNResponderTransport(privkey, reader, writer)
        try:
            rs = await t.handshake()
            await session(t, rs, args.pings, args.expect_pings)
            if not finished.done():
                finished.set_result(None)
        except Exception as e:  # noqa: BLE001
            if not finished.done():
                finished.set_exception(e)
        finally:
            t.close()

    server = await asyncio.start_server(on_client, args.host, args.port)
    port = server.sockets[0].getsockname()[1]
    emit(event="listening", host=args.host, port=port, pubkey=ECPrivkey(privkey).get_public_key_bytes().hex())
    try:
        await finished
    finally:
        server.close()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=["connect", "listen"])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--pubkey", help="the peer's node id (connect mode)")
    p.add_argument("--privkey", help="our static secret, 64 hex (random if absent)")
    p.add_argument("--pings", type=int, default=1, help="pings to send after init")
    p.add_argument("--expect-pings", type=int, default=1, help="pings to answer before finishing")
    p.add_argument("--timeout", type=float, default=30.0)
    args = p.parse_args()
    if args.mode == "connect" and not args.pubkey:
        p.error("connect needs --pubkey")
    privkey = bytes.fromhex(args.privkey) if args.privkey else os.urandom(32)
    run = run_connect if args.mode == "connect" else run_listen
    try:
        asyncio.run(asyncio.wait_for(run(args, privkey), args.timeout))
    except Exception as e:  # noqa: BLE001
        emit(event="error", stage=args.mode, message=f"{type(e).__name__}: {e}")
        sys.exit(1)


if __name__ == "__main__":
    main()
