// graphql-codegen's client preset, run from the repository root (`npm run codegen`): typed documents
// for the operations in this example, generated from the committed schema.graphql, and the
// persisted-documents manifest a gateway in trusted-documents mode loads (PERSISTED_DOCUMENTS_FILE).
// test/typed-client.test.ts regenerates in memory and fails when the committed files differ.
import type { CodegenConfig } from '@graphql-codegen/cli';

const config: CodegenConfig = {
  schema: 'schema.graphql',
  documents: ['examples/typed-client/**/*.ts', '!examples/typed-client/gql/**'],
  // An operation that no longer matches the schema fails generation instead of being skipped.
  noSilentErrors: true,
  generates: {
    'examples/typed-client/gql/': {
      preset: 'client',
      presetConfig: {
        // Writes persisted-documents.json ({ "sha256:<hex>": "<document>" }) and puts each
        // document's id on it as `__meta__.hash`.
        persistedDocuments: true,
        // The example has no fragments; without masking there is no fragment-masking.ts to keep.
        fragmentMasking: false,
      },
      config: {
        // What this repository's tsconfig needs: type-only imports, and `.js` on relative imports (NodeNext).
        useTypeImports: true,
        importExtension: '.js',
        // DateTime travels as an ISO-8601 string; a File is a browser File (or Blob) sent in a multipart request.
        scalars: { DateTime: 'string', File: { input: 'File | Blob', output: 'never' } },
        strictScalars: true,
      },
    },
  },
};

export default config;
