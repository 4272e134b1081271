import { readFileSync } from 'node:fs';
import {
  formatIssue,
  InMemoryBus,
  MeshEngine,
  parseConfigText,
  silentLogger,
  validateObjects,
  type MeshSnapshot,
  type SourcedObject,
} from '@isthmus/core';

/**
 * A MeshSnapshot from config YAML through the real pipeline (validation, ServiceEntry
 * registry, rules compiler, Sidecar compiler, MeshEngine). Fails on any invalid object,
 * so a fixture cannot silently lose a rule.
 */
export async function snapshotFromYaml(files: readonly string[]): Promise<MeshSnapshot> {
  const objects: SourcedObject[] = [];
  for (const file of files) {
    const parsed = parseConfigText(readFileSync(file, 'utf8'), file);
    if (parsed.issues.length > 0) throw new Error(parsed.issues.map(formatIssue).join('\n'));
    objects.push(...parsed.objects);
  }
  const errors = validateObjects(objects).filter((i) => i.severity === 'error');
  if (errors.length > 0) throw new Error(errors.map(formatIssue).join('\n'));
  const bus = new InMemoryBus();
  const engine = new MeshEngine(bus, { logger: silentLogger(), debounceMs: 1, maxDelayMs: 5 });
  engine.start();
  try {
    await bus.config.put('fixture', { source: 'fixture', objects, updatedAt: 'fixture' });
    engine.flush();
    const snapshot = engine.current();
    if (!snapshot) throw new Error('the engine built no snapshot');
    return snapshot;
  } finally {
    engine.stop();
  }
}
