import { Command } from 'commander';
import { serveCommand } from './commands/serve.js';
import { validateCommand } from './commands/validate.js';
import { convertCommand } from './commands/convert.js';
import { bootstrapCommand } from './commands/bootstrap.js';

export function program(): Command {
  return new Command('isthmus')
    .description('Service-mesh control plane: platform adapters, Istio rules, xDS for Envoy and proxyless gRPC')
    .version('0.1.0')
    .showHelpAfterError()
    .addCommand(serveCommand())
    .addCommand(validateCommand())
    .addCommand(convertCommand())
    .addCommand(bootstrapCommand());
}

export async function main(argv: readonly string[]): Promise<void> {
  try {
    await program().parseAsync([...argv]);
  } catch (err) {
    process.stderr.write(`isthmus: ${(err as Error).message}\n`);
    process.exitCode = 1;
  }
}
