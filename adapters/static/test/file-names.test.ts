import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { displayPath, isConfigFileName, isEditorTempName } from '../src/file-names.js';

describe('file names', () => {
  it.each([
    ['mesh.yaml', true],
    ['mesh.yml', true],
    ['mesh.json', true],
    ['MESH.YAML', true],
    ['.mesh.yaml', false],
    ['..data', false],
    ['mesh.yaml~', false],
    ['mesh.yaml.swp', false],
    ['mesh.txt', false],
    ['mesh.yaml.tmp', false],
  ])('%s is a config file: %s', (name, expected) => {
    expect(isConfigFileName(name)).toBe(expected);
  });

  it.each([
    ['mesh.yaml~', true],
    ['.#mesh.yaml', true],
    ['#mesh.yaml#', true],
    ['.mesh.yaml.swp', true],
    ['.mesh.yaml.swo', true],
    ['4913', true],
    ['mesh.yaml', false],
    ['..data', false],
    ['sub', false],
  ])('%s is an editor scratch file: %s', (name, expected) => {
    expect(isEditorTempName(name)).toBe(expected);
  });

  it('shows paths as given, or relative to cwd when under it', () => {
    expect(displayPath('conf/./mesh.yaml', '/srv')).toBe(path.normalize('conf/mesh.yaml'));
    expect(displayPath('../x.yaml', '/srv')).toBe(path.normalize('../x.yaml'));
    expect(displayPath('/srv/conf/mesh.yaml', '/srv')).toBe(path.join('conf', 'mesh.yaml'));
    expect(displayPath('/etc/isthmus/mesh.yaml', '/srv')).toBe('/etc/isthmus/mesh.yaml');
    expect(displayPath('/srv', '/srv')).toBe('.');
    expect(displayPath('/srv/..data', '/srv')).toBe('..data');
  });
});
