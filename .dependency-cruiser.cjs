/**
 * The module boundary (issue 8), checked by `npm test`: the platform under src/ never reaches a use case
 * (agents/) or an inbound adapter (handlers/); only the composition root (compose.ts, main.ts) names them.
 * Templates render view types, not store documents; handlers go through the engine, never the store's models.
 * @type {import('dependency-cruiser').IConfiguration}
 */
module.exports = {
  forbidden: [
    {
      name: 'platform-names-no-use-case',
      comment: 'src/ is the platform: use cases are modules under agents/, handed in by compose.ts.',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^agents/' },
    },
    {
      name: 'platform-imports-no-handler',
      comment: 'src/ receives its inbound adapters (handlers/) from compose.ts instead of importing them.',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^handlers/' },
    },
    {
      name: 'platform-imports-no-root',
      comment: 'The composition root imports src/, never the other way round (main.ts passes what src/cli.ts needs).',
      severity: 'error',
      from: { path: '^(src|handlers|templates|agents)/' },
      to: { path: '^(compose|main)\\.ts$' },
    },
    {
      name: 'handlers-name-no-use-case',
      comment: 'Inbound adapters are generic: what a command, route or mention starts comes from the modules.',
      severity: 'error',
      from: { path: '^handlers/' },
      to: { path: '^agents/' },
    },
    {
      name: 'templates-render-views-not-documents',
      comment: 'Templates depend on view types (src/views/), not on store documents.',
      severity: 'error',
      from: { path: '^templates/' },
      to: { path: '^src/store/' },
    },
    {
      name: 'handlers-go-through-the-engine',
      comment: 'Handlers reach stored state through the engine and platform services, never the store models.',
      severity: 'error',
      from: { path: '^handlers/' },
      to: { path: '^src/store/' },
    },
    {
      name: 'templates-name-no-use-case',
      severity: 'error',
      from: { path: '^templates/' },
      to: { path: '^(agents|handlers)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
