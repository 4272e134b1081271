import { Command } from 'commander';
import { stringify } from 'yaml';
import { convertLegacy, formatIssue, validateObjects } from '@isthmus/core';
import { readConfigFiles } from '../config-files.js';

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function convertCommand(): Command {
  return new Command('convert')
    .description('Convert legacy config.istio.io/v1alpha2 RouteRule/DestinationPolicy to VirtualService + DestinationRule (YAML on stdout)')
    .requiredOption('-f, --filename <path>', 'file or directory to convert, `-` for stdin (repeatable)', collect, [])
    .addHelpText('after', `
Example:
  isthmus convert -f examples/canary/route-rule.yaml > canary-v1.yaml`)
    .action(async (opts: { filename: string[] }) => {
      const { objects, issues: parseIssues } = await readConfigFiles(opts.filename);
      const errors = [...parseIssues, ...validateObjects(objects)].filter((i) => i.severity === 'error');
      if (errors.length > 0) {
        for (const e of errors) process.stderr.write(`error: ${formatIssue(e)}\n`);
        process.exitCode = 1;
        return;
      }
      const converted = convertLegacy(objects);
      for (const w of converted.issues) process.stderr.write(`${w.severity}: ${formatIssue(w)}\n`);
      const docs = converted.objects.map((o) => stringify(o.object, { lineWidth: 0 }).trimEnd());
      process.stdout.write(docs.map((d) => `---\n${d}\n`).join(''));
    });
}
