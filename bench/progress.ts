/**
 * Progress on stderr-free stdout: one line per phase, and for long phases a counter that rewrites itself on a
 * terminal and prints a line every few seconds otherwise (CI logs stay readable).
 */
const tty = process.stdout.isTTY === true;

const benchStarted = Date.now();

/** A phase's title with the time since the bench started, so a reader sees where the minutes go. */
export function phase(title: string): void {
  const s = Math.round((Date.now() - benchStarted) / 1000);
  const clock = `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
  process.stdout.write(`▸ [${clock}] ${title}\n`);
}

export function note(text: string): void {
  process.stdout.write(`  ${text}\n`);
}

export interface Counter {
  update(done: number, extra?: string): void;
  end(summary: string): void;
}

export function counter(label: string, total: number): Counter {
  const started = Date.now();
  let lastLine = 0;
  let shown = false;
  const line = (done: number, extra?: string) => {
    const secs = (Date.now() - started) / 1000;
    const rate = secs > 0 ? done / secs : 0;
    const eta = rate > 0 ? Math.max(0, (total - done) / rate) : Number.NaN;
    const etaText = Number.isFinite(eta) ? `, ETA ${Math.round(eta)} s` : '';
    return `  ${label}: ${done}/${total} (${rate.toFixed(1)}/s${etaText})${extra ? ` ${extra}` : ''}`;
  };
  return {
    update(done, extra) {
      if (tty) {
        process.stdout.write(`\r${line(done, extra).padEnd(100)}`);
        shown = true;
      } else if (Date.now() - lastLine > 5_000) {
        process.stdout.write(`${line(done, extra)}\n`);
        lastLine = Date.now();
      }
    },
    end(summary) {
      if (shown) process.stdout.write(`${'\r'.padEnd(101)}\r`);
      process.stdout.write(`  ${label}: ${summary}\n`);
    },
  };
}
