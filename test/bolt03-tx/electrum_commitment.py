# Independent cross-check: builds static_remotekey commitment transactions with Electrum's lnutil
# (Debian's python3-electrum) from JSON cases on stdin; prints one txid per case (display order).
import json
import sys

try:
    from electrum import constants
    from electrum.lnutil import (
        ScriptHtlc, UpdateAddHtlc, calc_fees_for_commitment_tx, make_commitment,
        make_offered_htlc, make_received_htlc, offered_htlc_trim_threshold_sat,
        received_htlc_trim_threshold_sat,
    )
except ImportError:
    sys.exit(3)  # python3-electrum is not installed

constants.set_regtest()
out = []
for c in json.load(sys.stdin):
    b = bytes.fromhex
    htlcs = []
    for h in c['htlcs']:
        amount_sat = h['amount_msat'] // 1000
        if h['offered']:
            if amount_sat < offered_htlc_trim_threshold_sat(dust_limit_sat=c['dust'], feerate=c['feerate']):
                continue
            script = make_offered_htlc(b(c['revocation']), b(c['remote_htlc']), b(c['local_htlc']), b(h['hash']))
        else:
            if amount_sat < received_htlc_trim_threshold_sat(dust_limit_sat=c['dust'], feerate=c['feerate']):
                continue
            script = make_received_htlc(b(c['revocation']), b(c['remote_htlc']), b(c['local_htlc']), b(h['hash']), h['cltv'])
        add = UpdateAddHtlc(amount_msat=h['amount_msat'], payment_hash=b(h['hash']), cltv_expiry=h['cltv'], timestamp=0)
        htlcs.append(ScriptHtlc(script, add))
    fees = calc_fees_for_commitment_tx(num_htlcs=len(htlcs), feerate=c['feerate'], is_local_initiator=c['funder'])
    tx = make_commitment(
        ctn=c['ctn'], local_funding_pubkey=b(c['local_funding']), remote_funding_pubkey=b(c['remote_funding']),
        remote_payment_pubkey=b(c['remote_payment']), funder_payment_basepoint=b(c['funder_basepoint']),
        fundee_payment_basepoint=b(c['fundee_basepoint']), revocation_pubkey=b(c['revocation']),
        delayed_pubkey=b(c['delayed']), to_self_delay=c['delay'], funding_txid=c['funding_txid'], funding_pos=c['funding_pos'],
        funding_sat=c['funding_sat'], local_amount=c['to_local'], remote_amount=c['to_remote'], dust_limit_sat=c['dust'],
        fees_per_participant=fees, htlcs=htlcs)
    out.append(tx.txid())
print(json.dumps(out))
