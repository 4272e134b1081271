// node bench/profile-summary.mjs FILE.cpuprofile [N] [--from S] [--to S]
// Self and inclusive time per function (top N), optionally only for samples taken between
// S seconds after the profile started and --to S (e.g. to leave out a W1 storm before W2).
import { readFileSync } from 'node:fs';
const args = process.argv.slice(2);
const opt = (f) => (args.includes(f) ? Number(args.splice(args.indexOf(f), 2)[1]) : undefined);
const from = opt('--from') ?? 0;
const to = opt('--to') ?? Infinity;
const prof = JSON.parse(readFileSync(args[0], 'utf8'));
const top = Number(args[1] ?? 25);
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const dt = new Map();
let at = 0;
prof.samples.forEach((id, i) => {
  at += prof.timeDeltas[i] ?? 0;
  if (at / 1e6 < from || at / 1e6 > to) return;
  dt.set(id, (dt.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0));
});
const key = (n) => `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.split('/').slice(-3).join('/')}:${n.callFrame.lineNumber + 1}`;
const self = new Map(), total = new Map();
let all = 0;
for (const [id, us] of dt) {
  all += us;
  const n = byId.get(id);
  self.set(key(n), (self.get(key(n)) ?? 0) + us);
  const seen = new Set();
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const k = key(byId.get(cur));
    if (seen.has(k)) continue;
    seen.add(k);
    total.set(k, (total.get(k) ?? 0) + us);
  }
}
const show = (title, m) => {
  console.log(`\n${title} (of ${(all / 1e6).toFixed(2)} s sampled${from || to !== Infinity ? `, ${from}–${to === Infinity ? 'end' : to} s` : ''})`);
  for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${(us / 1e6).toFixed(2).padStart(7)} s ${((100 * us) / all).toFixed(1).padStart(5)}%  ${k}`);
};
show('self', self);
show('inclusive', total);
