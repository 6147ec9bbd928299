// Counts GraphQL operations by root field and outcome, and times them. Answers served from the
// response cache are counted by the HTTP layer, which never enters Yoga for them.
import { getOperationAST, type DocumentNode, type OperationDefinitionNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { operationLabel, type GatewayMetrics } from '../metrics.js';

export function rootFieldsOf(document: DocumentNode, operationName: string | null | undefined): string[] {
  const operation: OperationDefinitionNode | null | undefined = getOperationAST(document, operationName);
  return operation?.selectionSet.selections.flatMap((selection) => (selection.kind === 'Field' ? [selection.name.value] : [])) ?? [];
}

export function useOperationMetrics(metrics: GatewayMetrics): Plugin {
  return {
    onExecute({ args }) {
      const label = operationLabel(rootFieldsOf(args.document, args.operationName));
      const started = performance.now();
      return {
        onExecuteDone({ result }) {
          const failed = !(Symbol.asyncIterator in result) && (result.errors?.length ?? 0) > 0;
          metrics.operation(label, failed ? 'error' : 'ok', (performance.now() - started) / 1000);
        },
      };
    },
    onSubscribe({ args }) {
      const label = operationLabel(rootFieldsOf(args.document, args.operationName));
      return {
        onSubscribeResult() {
          metrics.operation(label, 'ok');
        },
        onSubscribeError() {
          metrics.operation(label, 'error');
        },
      };
    },
  };
}
