import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // Yoga and Pothos load graphql's CommonJS build; without this alias Vite resolves the .mjs
    // build too and schema construction fails with "Cannot use GraphQLEnumType from another module".
    alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }],
  },
  test: {
    include: ['test/**/*.test.ts'],
    // Two cores: integration tests start real servers, so keep file-level parallelism modest.
    maxWorkers: 2,
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
