// The artifacts relay-compiler would generate for the three operations the Relay suite sends,
// written out by hand: relay-compiler is a native binary that is not installed here, and the
// `graphql` tag only works after the Babel plugin has replaced it with such an artifact. What the
// suite tests is the network layer (fetch, graphql-sse, graphql-ws), which sees only `params`.
// For operations without fragments the compiler emits one selection list for both the reader
// fragment and the normalization operation, as here.
import type { ConcreteRequest, NormalizationSelection, ReaderSelection } from 'relay-runtime';
import { CREATE_VIDEO, READ_TASK, WATCH_TASK, type TaskUpdate } from './support.js';

type Selection = ReaderSelection & NormalizationSelection;

const scalar = (name: string): Selection => ({ alias: null, args: null, kind: 'ScalarField', name, storageKey: null });

function linked(name: string, concreteType: string, selections: Selection[], options: { variable?: string; plural?: boolean } = {}): Selection {
  return {
    alias: null,
    args: options.variable ? [{ kind: 'Variable', name: options.variable, variableName: options.variable }] : null,
    concreteType,
    kind: 'LinkedField',
    name,
    plural: options.plural ?? false,
    selections,
    storageKey: null,
  };
}

function request(operationKind: 'query' | 'mutation' | 'subscription', name: string, text: string, variable: string, root: Selection): ConcreteRequest {
  const argumentDefinitions = [{ defaultValue: null, kind: 'LocalArgument' as const, name: variable }];
  const rootType = { query: 'Query', mutation: 'Mutation', subscription: 'Subscription' }[operationKind];
  return {
    fragment: { argumentDefinitions, kind: 'Fragment', metadata: null, name, selections: [root], type: rootType, abstractKey: null },
    kind: 'Request',
    operation: { argumentDefinitions, kind: 'Operation', name, selections: [root] },
    params: { cacheID: name, id: null, metadata: {}, name, operationKind, text },
  };
}

const TASK_SELECTIONS = ['id', 'status', 'isTerminal'].map(scalar);

export interface ReadTaskQuery {
  variables: { id: string };
  response: { task: { id: string; status: string; isTerminal: boolean } | null };
}
export const ReadTaskQuery = request('query', 'ReadTask', READ_TASK, 'id', linked('task', 'Task', TASK_SELECTIONS, { variable: 'id' }));

export interface CreateVideoMutation {
  variables: { input: { prompt: string; subjects: { id: string; images: string[] }[] } };
  response: { createReferenceVideo: { taskId: string | null; userErrors: { field: string[] | null; code: string; message: string }[] } };
}
export const CreateVideoMutation = request(
  'mutation',
  'CreateVideo',
  CREATE_VIDEO,
  'input',
  linked('createReferenceVideo', 'CreateReferenceVideoPayload', [scalar('taskId'), linked('userErrors', 'UserError', ['field', 'code', 'message'].map(scalar), { plural: true })], {
    variable: 'input',
  }),
);

export interface WatchTaskSubscription {
  variables: { id: string };
  response: { taskUpdates: TaskUpdate };
}
export const WatchTaskSubscription = request(
  'subscription',
  'WatchTask',
  WATCH_TASK,
  'id',
  linked('taskUpdates', 'Task', [...TASK_SELECTIONS, scalar('progressPercent')], { variable: 'id' }),
);
