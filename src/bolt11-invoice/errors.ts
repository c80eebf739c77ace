// Typed decode/encode errors for BOLT 11 invoices. Every way a string can be refused has a code, so
// callers (RPC, payer) can tell the user exactly why, and tests can assert the reason.

export type InvoiceErrorCode =
  // Bech32 layer
  | 'invalid_character'
  | 'mixed_case'
  | 'no_separator'
  | 'bad_checksum'
  // Human-readable part
  | 'unknown_prefix'
  | 'invalid_amount'
  | 'invalid_multiplier'
  | 'sub_millisatoshi'
  | 'amount_too_large'
  // Data part layout
  | 'too_short'
  | 'truncated_field'
  | 'invalid_padding'
  | 'non_minimal_field'
  | 'field_overflow'
  // Field contents
  | 'invalid_description'
  | 'invalid_payee'
  | 'invalid_fallback'
  | 'invalid_route_hint'
  | 'unknown_required_feature'
  | 'missing_feature_dependency'
  // Reader requirements on the field set
  | 'missing_payment_hash'
  | 'missing_payment_secret'
  | 'missing_description'
  | 'both_description_and_hash'
  | 'duplicate_field'
  | 'description_mismatch'
  // Signature
  | 'invalid_recovery_id'
  | 'unrecoverable_signature'
  | 'high_s_signature'
  | 'invalid_signature'
  // Writer side
  | 'invalid_field'
  | 'signer_failed';

export interface InvoiceError {
  readonly code: InvoiceErrorCode;
  /** A sentence a person can act on. */
  readonly message: string;
  /** The bech32 letter of the tagged field at fault, when there is one. */
  readonly field?: string;
  /** The offending feature bit for `unknown_required_feature` / `missing_feature_dependency`. */
  readonly bit?: number;
}

export function invoiceError(
  code: InvoiceErrorCode,
  message: string,
  extra: { field?: string; bit?: number } = {},
): InvoiceError {
  return { code, message, ...extra };
}
