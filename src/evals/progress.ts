import type { EvalProgress } from './run.js';

const BAR_WIDTH = 24;

function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  return m < 60
    ? `${m}m${String(s % 60).padStart(2, '0')}s`
    : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

const thousands = (n: number) => (n >= 10_000 ? `${(n / 1000).toFixed(1)}k` : String(n));

/** One line: bar, cases, agreement so far, tokens, estimated cost, ETA. */
export function progressLine(p: EvalProgress): string {
  const filled = p.total === 0 ? BAR_WIDTH : Math.round((p.done / p.total) * BAR_WIDTH);
  const bar = `${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)}`;
  const agreement = p.compared === 0 ? '—' : `${((p.agreed / p.compared) * 100).toFixed(1)}%`;
  const errors = p.errors > 0 ? ` · ${p.errors} error${p.errors === 1 ? '' : 's'}` : '';
  const eta =
    p.done === p.total ? `took ${duration(p.elapsedMs)}` : p.etaMs === null ? 'ETA …' : `ETA ${duration(p.etaMs)}`;
  return `${bar} ${p.done}/${p.total} cases · agreement ${agreement}${errors} · ${thousands(p.tokens)} tokens · $${p.costUsd.toFixed(4)} · ${eta}`;
}

/**
 * Draws the progress on a terminal in place (one line, redrawn at most every 100 ms); on a pipe or in CI, where
 * carriage returns pile up, it prints a line at each tenth of the way and at the end.
 */
export function progressReporter(out: NodeJS.WriteStream | { isTTY?: boolean; write(s: string): unknown }) {
  const tty = out.isTTY === true;
  let lastDraw = 0;
  let lastTenth = -1;
  return {
    update(p: EvalProgress): void {
      const finished = p.done === p.total;
      if (tty) {
        const now = Date.now();
        if (!finished && now - lastDraw < 100) return;
        lastDraw = now;
        out.write(`\r\x1b[2K${progressLine(p)}${finished ? '\n' : ''}`);
        return;
      }
      const tenth = p.total === 0 ? 10 : Math.floor((p.done / p.total) * 10);
      if (tenth === lastTenth) return;
      lastTenth = tenth;
      out.write(`${progressLine(p)}\n`);
    },
  };
}
