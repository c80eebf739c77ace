#!/usr/bin/python3
"""Electrum's BOLT 4 code as an independent oracle for shandian's tests.

Run with Debian's system Python (python3-electrum 4.3.4): /usr/bin/python3 tools/electrum_onion.py
Reads a JSON list of requests on stdin, writes a JSON list of answers on stdout (same order).
Each request is {"op": ..., ...}; all bytes are hex. Ops:
  build        {pubkeys, session_key, payloads: [fields], associated_data} -> {onion}
  peel_chain   {onion, privkeys, associated_data} -> {hops: [{final, payload, next_onion} | {error}]}
  shared_secrets {pubkeys, session_key} -> {secrets}
  error_create {onion, privkey, failure_message} -> {packet}    (construct_onion_error at the erring hop)
  error_wrap   {shared_secret, packet} -> {packet}               (one hop's ammag obfuscation on the way back)
  error_return {onion, privkey, failure_message, upstream_secrets} -> {packet}
               (error_create, then error_wrap by each upstream hop, nearest first)
  error_decode {packet, pubkeys, session_key} -> {index, failure_message} | {error}
Payload fields use Electrum's tlv_payload names: amt_to_forward, outgoing_cltv_value, short_channel_id,
payment_data {payment_secret, total_msat}.
"""
import json
import sys

try:
    from electrum import lnonion
    from electrum.lnutil import get_ecdh
    from electrum.util import xor_bytes
except Exception as e:  # the test must fail loudly, not skip
    sys.stderr.write(f"electrum_onion.py: cannot import electrum from {sys.executable}: {e!r}\n")
    sys.exit(3)


def h(b: bytes) -> str:
    return bytes(b).hex()


def fields_to_electrum(f: dict) -> dict:
    out = {}
    if "amt_to_forward" in f:
        out["amt_to_forward"] = {"amt_to_forward": int(f["amt_to_forward"])}
    if "outgoing_cltv_value" in f:
        out["outgoing_cltv_value"] = {"outgoing_cltv_value": int(f["outgoing_cltv_value"])}
    if "short_channel_id" in f:
        out["short_channel_id"] = {"short_channel_id": bytes.fromhex(f["short_channel_id"])}
    if "payment_data" in f:
        pd = f["payment_data"]
        out["payment_data"] = {
            "payment_secret": bytes.fromhex(pd["payment_secret"]),
            "total_msat": int(pd["total_msat"]),
        }
    return out


def electrum_to_fields(d: dict) -> dict:
    out = {}
    for name, sub in d.items():
        if name == "payment_data":
            out[name] = {"payment_secret": h(sub["payment_secret"]), "total_msat": str(sub["total_msat"])}
        elif name == "short_channel_id":
            out[name] = h(sub["short_channel_id"])
        else:
            value = sub[name]
            out[name] = h(value) if isinstance(value, (bytes, bytearray)) else str(value)
    return out


def op_build(r):
    hops = [lnonion.OnionHopsDataSingle(is_tlv_payload=True, payload=fields_to_electrum(p)) for p in r["payloads"]]
    packet = lnonion.new_onion_packet(
        [bytes.fromhex(k) for k in r["pubkeys"]],
        bytes.fromhex(r["session_key"]),
        hops,
        associated_data=bytes.fromhex(r["associated_data"]),
    )
    return {"onion": h(packet.to_bytes())}


def op_peel_chain(r):
    ad = bytes.fromhex(r["associated_data"])
    onion = bytes.fromhex(r["onion"])
    out = []
    for key in r["privkeys"]:
        try:
            packet = lnonion.OnionPacket.from_bytes(onion)
            p = lnonion.process_onion_packet(packet, ad, bytes.fromhex(key))
        except Exception as e:
            out.append({"error": type(e).__name__})
            break
        nxt = p.next_packet.to_bytes()
        out.append({"final": p.are_we_final, "payload": electrum_to_fields(p.hop_data.payload), "next_onion": h(nxt)})
        if p.are_we_final:
            break
        onion = nxt
    return {"hops": out}


def op_shared_secrets(r):
    secrets = lnonion.get_shared_secrets_along_route([bytes.fromhex(k) for k in r["pubkeys"]], bytes.fromhex(r["session_key"]))
    return {"secrets": [h(s) for s in secrets]}


def op_error_create(r):
    reason = lnonion.OnionRoutingFailure.from_bytes(bytes.fromhex(r["failure_message"]))
    packet = lnonion.OnionPacket.from_bytes(bytes.fromhex(r["onion"]))
    return {"packet": h(lnonion.construct_onion_error(reason, packet, bytes.fromhex(r["privkey"])))}


def op_error_wrap(r):
    key = lnonion.get_bolt04_onion_key(b"ammag", bytes.fromhex(r["shared_secret"]))
    data = bytes.fromhex(r["packet"])
    return {"packet": h(xor_bytes(data, lnonion.generate_cipher_stream(key, len(data))))}


def op_error_return(r):
    packet = bytes.fromhex(op_error_create(r)["packet"])
    for secret in r["upstream_secrets"]:
        packet = bytes.fromhex(op_error_wrap({"shared_secret": secret, "packet": h(packet)})["packet"])
    return {"packet": h(packet)}


def op_error_decode(r):
    try:
        failure, index = lnonion.decode_onion_error(
            bytes.fromhex(r["packet"]), [bytes.fromhex(k) for k in r["pubkeys"]], bytes.fromhex(r["session_key"])
        )
    except Exception as e:
        return {"error": type(e).__name__}
    return {"index": index, "failure_message": h(failure.to_bytes())}


OPS = {
    "build": op_build,
    "peel_chain": op_peel_chain,
    "shared_secrets": op_shared_secrets,
    "error_create": op_error_create,
    "error_wrap": op_error_wrap,
    "error_return": op_error_return,
    "error_decode": op_error_decode,
}


def main():
    requests = json.load(sys.stdin)
    answers = []
    for r in requests:
        op = OPS.get(r.get("op"))
        answers.append(op(r) if op else {"error": f"unknown op {r.get('op')!r}"})
    json.dump(answers, sys.stdout)


if __name__ == "__main__":
    main()
