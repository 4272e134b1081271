import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { parse } from 'yaml';

/**
 * `--config <file>`: every long option of a command can also be given in a YAML or JSON
 * file, keyed by its flag name (`consul-token`) or its camelCase form (`consulToken`).
 * Flags on the command line win over the file (and the file over environment fallbacks); lists
 * (repeatable flags) take a YAML list or a comma string. Unknown keys are errors naming
 * the file and the key, so a typo never silently does nothing.
 */
export function withConfigFile(command: Command): Command {
  command.option('--config <file>', 'read options from a YAML/JSON file (keys are flag names; flags win)');
  command.hook('preAction', (cmd) => {
    const file = cmd.getOptionValue('config') as string | undefined;
    if (file) applyConfigFile(cmd, file);
  });
  return command;
}

export function applyConfigFile(cmd: Command, file: string): void {
  let data: unknown;
  try {
    data = parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file}: cannot read config file: ${(err as Error).message.split('\n')[0]}`);
  }
  if (data === null || data === undefined) return;
  if (typeof data !== 'object' || Array.isArray(data)) throw new Error(`${file}: expected a map of option names to values`);
  const options = cmd.options as readonly Option[];
  for (const [key, value] of Object.entries(data as Record<string, unknown>)) {
    // A negatable flag (`--no-x`) is keyed `x: false` (or `no-x: true`).
    const option = options.find((o) => o.long === `--${key}` || o.attributeName() === key || (o.negate && o.long === `--no-${key}`));
    const inverted = option?.negate === true && option.long === `--${key}`;
    if (!option || option.long === '--config') {
      throw new Error(`${file}: ${key}: unknown option for \`isthmus ${cmd.name()}\` (see --help)`);
    }
    const attr = option.attributeName();
    const source = cmd.getOptionValueSource(attr);
    if (source === 'cli' || source === 'env') continue;
    const values = Array.isArray(value) ? value : [value];
    let result: unknown = Array.isArray(option.defaultValue) ? [] : option.defaultValue;
    for (const v of values) {
      if (v === null || typeof v === 'object') throw new Error(`${file}: ${key}: expected a scalar or a list of scalars`);
      if (option.isBoolean() || option.negate) {
        result = (v === true || v === 'true') !== inverted;
        continue;
      }
      try {
        result = option.parseArg ? option.parseArg(String(v), result) : String(v);
      } catch (err) {
        throw new Error(`${file}: ${key}: ${(err as Error).message}`);
      }
    }
    cmd.setOptionValueWithSource(attr, result, 'config');
  }
}
