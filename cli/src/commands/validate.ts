import { Command } from 'commander';
import { formatIssue, validateObjects } from '@isthmus/core';
import { proxylessGaps } from '@isthmus/xds';
import { readConfigFiles } from '../config-files.js';

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function validateCommand(): Command {
  return new Command('validate')
    .description('Check config files (schema and semantics) without applying them; exit 1 on any error')
    .requiredOption('-f, --filename <path>', 'file or directory to check, `-` for stdin (repeatable)', collect, [])
    .option('-q, --quiet', 'print errors only')
    .addHelpText('after', `
Examples:
  isthmus validate -f examples/canary/
  cat rules.yaml | isthmus validate -f -`)
    .action(async (opts: { filename: string[]; quiet?: boolean }) => {
      const { objects, issues: parseIssues, files } = await readConfigFiles(opts.filename);
      const issues = [...parseIssues, ...validateObjects(objects)];
      // Valid config that proxyless gRPC clients cannot fully enforce: "not enforced on proxyless gRPC: ..." warnings.
      if (!issues.some((i) => i.severity === 'error')) issues.push(...proxylessGaps(objects));
      const errors = issues.filter((i) => i.severity === 'error');
      const warnings = issues.filter((i) => i.severity === 'warning');
      for (const e of errors) process.stderr.write(`error: ${formatIssue(e)}\n`);
      if (!opts.quiet) for (const w of warnings) process.stderr.write(`warning: ${formatIssue(w)}\n`);
      const summary = `${objects.length} object(s) in ${files} file(s): ${errors.length} error(s), ${warnings.length} warning(s)`;
      if (errors.length > 0) {
        process.stderr.write(`${summary}\n`);
        process.exitCode = 1;
      } else if (!opts.quiet) {
        process.stdout.write(`${summary}\n`);
      }
    });
}
