import path from 'node:path';

const CONFIG_EXTENSION = /\.(ya?ml|json)$/i;

/**
 * A file found in a watched directory that is read as config: `*.yaml`, `*.yml`, `*.json`,
 * not a dotfile. Dotfiles cover editor locks (`.#x.yaml`), swap files (`.x.yaml.swp`) and
 * the hidden `..data` / `..2024_…` entries of a Kubernetes ConfigMap mount.
 */
export function isConfigFileName(name: string): boolean {
  return !name.startsWith('.') && CONFIG_EXTENSION.test(name);
}

/**
 * Editor scratch files: their events are ignored outright, they never trigger a rescan of
 * the directory (vim writes a swap file on every few keystrokes).
 */
export function isEditorTempName(name: string): boolean {
  return (
    name.endsWith('~') || // emacs / vim backups
    name.startsWith('.#') || // emacs lock files
    (name.startsWith('#') && name.endsWith('#')) || // emacs auto-save
    /\.sw[a-p]$/i.test(name) || // vim swap files (.swp, .swo, ...)
    name === '4913' // vim's "can I write here" probe file
  );
}

/**
 * How a path is shown in part names and errors: relative to `cwd` when given relative or
 * when it lies under `cwd`, absolute otherwise.
 */
export function displayPath(given: string, cwd: string): string {
  if (!path.isAbsolute(given)) return path.normalize(given);
  const rel = path.relative(cwd, given);
  if (rel === '') return '.';
  if (rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel)) return path.normalize(given);
  return rel;
}
