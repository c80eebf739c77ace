// JSON-RPC error objects: a code and a message a person can act on (Core Lightning's codes where they exist).

export class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
  }
  toJSON(): { code: number; message: string; data?: unknown } {
    return this.data === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, data: this.data };
  }
}

export const RPC_PARSE_ERROR = -32700;
export const RPC_INVALID_REQUEST = -32600;
export const RPC_METHOD_NOT_FOUND = -32601;
export const RPC_INVALID_PARAMS = -32602;
export const RPC_INTERNAL_ERROR = -32603;
/** Core Lightning: generic failure of a command (LIGHTNINGD = -1). */
export const RPC_LIGHTNINGD = -1;
/** Core Lightning connect errors. */
export const CONNECT_NO_KNOWN_ADDRESS = 400;
export const CONNECT_ALL_ADDRESSES_FAILED = 401;
export const CONNECT_DISCONNECTED_DURING = 402;

export function invalidParams(message: string): RpcError {
  return new RpcError(RPC_INVALID_PARAMS, message);
}
