// For tests: the error a JSON-RPC call was rejected with ({code, message, data}), from a method table in
// process (RpcError) or from a node over its socket; a call that succeeds fails the test.
export interface RpcRejection {
  readonly code: number;
  readonly message: string;
  readonly data?: Record<string, unknown>;
}

export async function rpcRejection(p: Promise<unknown>): Promise<RpcRejection> {
  try {
    await p;
  } catch (e) {
    if (typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'number')
      return e as RpcRejection;
    throw e;
  }
  throw new Error('expected the call to fail');
}
