// The `shandian` executable: subcommands that run something (start, devnet, demo); everything else is an RPC call.
export async function main(argv: string[]): Promise<number> {
  const [command] = argv;
  console.error(`shandian: ${command ?? '(none)'}: not implemented yet`);
  return 1;
}
