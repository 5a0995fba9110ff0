import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const depcruise = join(root, 'node_modules', '.bin', 'depcruise');
const config = join(root, '.dependency-cruiser.cjs');
const scratch: string[] = [];

interface Cruise {
  code: number;
  output: string;
}

/** `depcruise` with the project's rules, as `npm test` runs it, over `paths` in `cwd`. */
function cruise(cwd: string, paths: string[]): Promise<Cruise> {
  return new Promise((resolve) => {
    execFile(depcruise, ['--config', config, ...paths], { cwd }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

/** A throw-away project laid out like this one (src/, agents/, handlers/, templates/) with the given files. */
async function project(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'countersign-boundary-'));
  scratch.push(dir);
  const all: Record<string, string> = {
    'tsconfig.json': JSON.stringify({
      compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true },
    }),
    'src/store/models.ts': 'export interface RunDoc { _id: string }\n',
    'src/views/run.ts': "import type { RunDoc } from '../store/models.js';\nexport type RunView = RunDoc;\n",
    'agents/refunds/module.ts': 'export const refundsModule = { name: "refunds" };\n',
    'handlers/ok.ts': "import type { RunView } from '../src/views/run.js';\nexport const id = (r: RunView) => r._id;\n",
    'templates/ok.ts':
      "import type { RunView } from '../src/views/run.js';\nexport const line = (r: RunView) => r._id;\n",
    ...files,
  };
  for (const [path, text] of Object.entries(all)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), text);
  }
  return dir;
}

const layers = ['src', 'handlers', 'agents', 'templates'];

afterAll(async () => {
  await Promise.all(scratch.map((d) => rm(d, { recursive: true, force: true })));
});

describe('the module boundary (dependency-cruiser, as in npm test)', () => {
  it('passes a layout that keeps the rules', async () => {
    const result = await cruise(await project({}), layers);
    expect(result.output).toContain('no dependency violations');
    expect(result.code).toBe(0);
  });

  it('fails when the platform imports a use case or a handler, naming the rule and the files', async () => {
    const dir = await project({
      'src/app.ts':
        "import { refundsModule } from '../agents/refunds/module.js';\nimport { id } from '../handlers/ok.js';\nexport const both = [refundsModule, id];\n",
    });
    const result = await cruise(dir, layers);
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('platform-names-no-use-case: src/app.ts → agents/refunds/module.ts');
    expect(result.output).toContain('platform-imports-no-handler: src/app.ts → handlers/ok.ts');
  });

  it('fails when a template or a handler reads store documents instead of view types', async () => {
    const dir = await project({
      'templates/bad.ts':
        "import type { RunDoc } from '../src/store/models.js';\nexport const line = (r: RunDoc) => r._id;\n",
      'handlers/bad.ts':
        "import type { RunDoc } from '../src/store/models.js';\nexport const id = (r: RunDoc) => r._id;\n",
    });
    const result = await cruise(dir, layers);
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('templates-render-views-not-documents: templates/bad.ts → src/store/models.ts');
    expect(result.output).toContain('handlers-go-through-the-engine: handlers/bad.ts → src/store/models.ts');
  });

  it('holds for this repository', async () => {
    const result = await cruise(root, ['main.ts', 'compose.ts', ...layers]);
    expect(result.output).toContain('no dependency violations');
    expect(result.code).toBe(0);
  });
});
