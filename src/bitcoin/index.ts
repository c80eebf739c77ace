// The Bitcoin layer: transactions, scripts, signature hashes, the interpreter, addresses, PSBT.

export * from './address.ts';
export * from './check-tx.ts';
export {
  castToBool,
  type ExecData,
  evalScript,
  findAndDelete,
  LOCKTIME_THRESHOLD,
  NULL_CHECKER,
  SEQUENCE_FINAL,
  SEQUENCE_LOCKTIME_DISABLE_FLAG,
  SEQUENCE_LOCKTIME_MASK,
  SEQUENCE_LOCKTIME_TYPE_FLAG,
  type SignatureChecker,
  type SigVersion,
  TransactionChecker,
  verifyInput,
  verifyScript,
  verifyTransaction,
} from './interpreter.ts';
export * from './psbt.ts';
export * from './script.ts';
export * from './script-error.ts';
export * from './sighash.ts';
export * from './signature-encoding.ts';
export * from './sigops.ts';
export * from './taproot.ts';
export * from './tx.ts';
