/**
 * Dependency rules checked by `npm run lint` (dependency-cruiser): no import cycle anywhere, and
 * dependencies point one way — web → contract; api → services → lib; activities → services;
 * workflows → types only. Type-only imports count too: a cycle of types is still a tangle.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycle',
      severity: 'error',
      comment: 'An import cycle makes load order matter and hides which module owns a rule.',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|web/node_modules|web/dist|prisma/generated|\\.data|\\.tools|bench-results|docs)' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.tsx', '.js', '.mjs', '.cjs', '.json'] },
  },
};
