import { describe, expect, it } from 'vitest';
import type { Logger } from '../../src/logging.js';
import { servicePattern } from '../../src/platform/mapping.js';
import { onceLog } from '../../src/platform/once-log.js';

function recording(): { logger: Logger; lines: [string, object, string | undefined][] } {
  const lines: [string, object, string | undefined][] = [];
  const at = (level: string) => (obj: object, msg?: string) => void lines.push([level, obj, msg]);
  return { logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } as Logger, lines };
}

describe('onceLog', () => {
  it('logs each key once, at its level, tagged with the source', () => {
    const { logger, lines } = recording();
    const log = onceLog(logger, 'consul/dc1');
    log('noleader:web', 'warn', { key: 'web' }, 'no leader');
    log('noleader:web', 'warn', { key: 'web' }, 'no leader');
    log('note:api', 'info', { service: 'api' }, 'a note');
    expect(lines).toEqual([
      ['warn', { source: 'consul/dc1', key: 'web' }, 'no leader'],
      ['info', { source: 'consul/dc1', service: 'api' }, 'a note'],
    ]);
  });

  it('starts over past 10,000 keys instead of growing without bound', () => {
    const { logger, lines } = recording();
    const log = onceLog(logger, 's');
    for (let k = 0; k <= 10_001; k++) log(`k${k}`, 'debug', {}, 'm');
    log('k0', 'debug', {}, 'm');
    expect(lines.length).toBe(10_003);
  });

  it('works without a logger', () => {
    expect(() => onceLog(undefined, 's')('k', 'warn', {}, 'm')).not.toThrow();
  });
});

describe('servicePattern', () => {
  it('matches * against any run of characters and everything else literally', () => {
    expect(servicePattern('web-*').test('web-frontend')).toBe(true);
    expect(servicePattern('web-*').test('api-web-x')).toBe(false);
    expect(servicePattern('a.b').test('a.b')).toBe(true);
    expect(servicePattern('a.b').test('axb')).toBe(false);
    expect(servicePattern('*').test('')).toBe(true);
    expect(servicePattern('(x)+').test('(x)+')).toBe(true);
  });
});
