import { describe, expect, it } from 'vitest';
import type { ConfigIssue } from '@isthmus/core';
import { desiredStatus, statusUpToDate, VALIDATION_CODE, VALIDATION_DOC_URL } from '../src/status-writer.js';

const issue = (path: string, message: string): ConfigIssue => ({ severity: 'error', source: 'kubernetes/c1', kind: 'VirtualService', namespace: 'default', name: 'web', path, message });
const NOW = '2025-06-01T00:00:00.000Z';

describe('desiredStatus', () => {
  it('reports errors as Istio validation messages and a Reconciled=False condition', () => {
    const d = desiredStatus(undefined, [issue('spec.http[0].route', 'weights sum to 110, not 100'), issue('', 'bad')], 3, NOW);
    expect(d).toEqual({
      validationMessages: [
        { type: VALIDATION_CODE, level: 'ERROR', documentationUrl: VALIDATION_DOC_URL, message: 'spec.http[0].route: weights sum to 110, not 100' },
        { type: VALIDATION_CODE, level: 'ERROR', documentationUrl: VALIDATION_DOC_URL, message: 'bad' },
      ],
      conditions: [{ type: 'Reconciled', status: 'False', reason: 'ValidationFailed', message: 'spec.http[0].route: weights sum to 110, not 100\nbad', observedGeneration: 3, lastTransitionTime: NOW }],
    });
  });

  it('keeps other writers\' entries and the transition time of an unchanged failure; is up to date when written', () => {
    const current = desiredStatus({ conditions: [{ type: 'Other', status: 'True' }] }, [issue('spec', 'x')], 1, '2020-01-01T00:00:00Z');
    const again = desiredStatus(current, [issue('spec', 'x')], 1, NOW);
    expect(again.conditions!.map((c) => c.type)).toEqual(['Other', 'Reconciled']);
    expect(again.conditions![1]!.lastTransitionTime).toBe('2020-01-01T00:00:00Z');
    expect(statusUpToDate(current, again)).toBe(true);
  });

  it('removes only its own entries once the object is valid', () => {
    const current = {
      validationMessages: [{ type: { code: 'IST0002', name: 'Deprecated' }, level: 'WARNING' }, { type: VALIDATION_CODE, level: 'ERROR' }],
      conditions: [{ type: 'Reconciled', status: 'False', reason: 'ValidationFailed' }, { type: 'Reconciled', status: 'True', reason: 'Distributed' }],
    };
    expect(desiredStatus(current, [], 1, NOW)).toEqual({
      validationMessages: [{ type: { code: 'IST0002', name: 'Deprecated' }, level: 'WARNING' }],
      conditions: [{ type: 'Reconciled', status: 'True', reason: 'Distributed' }],
    });
    expect(desiredStatus({}, [], 1, NOW)).toEqual({});
    expect(statusUpToDate(undefined, desiredStatus(undefined, [], 1, NOW))).toBe(true);
  });
});
