import { Command } from 'commander';
import { serveCommand } from './commands/serve.js';
import { validateCommand } from './commands/validate.js';
import { convertCommand } from './commands/convert.js';
import { bootstrapCommand } from './commands/bootstrap.js';
import { adapterCommand } from './commands/adapter.js';
import { xdsCommand } from './commands/xds.js';
import { applyCommand, deleteCommand, getCommand } from './commands/config-objects.js';
import { withFederationOptions } from './commands/serve-nats.js';

export function program(): Command {
  return new Command('isthmus')
    .description('Service-mesh control plane: platform adapters, Istio rules, xDS for Envoy and proxyless gRPC')
    .version('0.1.0')
    .showHelpAfterError()
    .addCommand(withFederationOptions(serveCommand()))
    .addCommand(validateCommand())
    .addCommand(convertCommand())
    .addCommand(bootstrapCommand())
    .addCommand(adapterCommand())
    .addCommand(xdsCommand())
    .addCommand(applyCommand())
    .addCommand(getCommand())
    .addCommand(deleteCommand());
}

export async function main(argv: readonly string[]): Promise<void> {
  try {
    await program().parseAsync([...argv]);
  } catch (err) {
    process.stderr.write(`isthmus: ${(err as Error).message}\n`);
    process.exitCode = 1;
  }
}
