// graphql-request's GraphQLClient as its README sets it up: POST by default, GET with
// `method: 'GET'` (mutations are still POSTed). Errors are asserted on the ClientError it throws,
// which is what an application catches.
import { ClientError, GraphQLClient } from 'graphql-request';
import { describe, expect, it } from 'vitest';
import { useStack } from '../support/stack.js';
import { CLIENT_KEY, CREATE_VIDEO, KEYED_GATEWAY, OPEN_GATEWAY, READ_TASK, WRONG_KEY, graphqlUrl, methodRecordingFetch, videoInput, type CodedError } from './support.js';

interface ReadTask {
  task: { id: string; status: string; isTerminal: boolean } | null;
}
interface CreateVideo {
  createReferenceVideo: { taskId: string | null; userErrors: { field: string[] | null; code: string; message: string }[] };
}

/** The ClientError a failed request throws (anything else fails the test). */
async function clientErrorOf(request: Promise<unknown>): Promise<ClientError> {
  const error = await request.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(ClientError);
  return error as ClientError;
}

const codesOf = (error: ClientError) => (error.response.errors as CodedError[] | undefined)?.map((e) => e.extensions?.code);

/** The two modes: the README's default (POST), and `method: 'GET'`. */
const MODES: [string, { method?: 'GET' }][] = [
  ['POST (default)', {}],
  ['GET', { method: 'GET' }],
];

describe.each(MODES)('graphql-request, %s, open gateway', (_mode, options) => {
  const stack = useStack(OPEN_GATEWAY);

  it('reads a task, sent with the expected method', async () => {
    const recorder = methodRecordingFetch();
    const client = new GraphQLClient(graphqlUrl(stack), { ...options, fetch: recorder.fetch });
    const data = await client.request<ReadTask>(READ_TASK, { id: 'demo-succeeded' });
    expect(data.task).toEqual({ id: 'demo-succeeded', status: 'SUCCEEDED', isTerminal: true });
    expect(recorder.methods).toEqual([options.method ?? 'POST']);
  });

  it('reads a task that does not exist as null, without an error', async () => {
    const client = new GraphQLClient(graphqlUrl(stack), options);
    expect(await client.request<ReadTask>(READ_TASK, { id: 'no-such-task' })).toEqual({ task: null });
  });

  it('creates a video (a mutation is POSTed in either mode)', async () => {
    const recorder = methodRecordingFetch();
    const client = new GraphQLClient(graphqlUrl(stack), { ...options, fetch: recorder.fetch });
    const data = await client.request<CreateVideo>(CREATE_VIDEO, { input: videoInput() });
    expect(data.createReferenceVideo.userErrors).toEqual([]);
    expect(data.createReferenceVideo.taskId).toEqual(expect.any(String));
    expect(recorder.methods).toEqual(['POST']);
    const read = await client.request<ReadTask>(READ_TASK, { id: data.createReferenceVideo.taskId });
    expect(read.task?.id).toBe(data.createReferenceVideo.taskId);
  });

  it('throws a ClientError carrying the gateway\'s code for a refused argument', async () => {
    const client = new GraphQLClient(graphqlUrl(stack), options);
    const error = await clientErrorOf(client.request(READ_TASK, { id: '' }));
    expect(codesOf(error)).toEqual(['BAD_USER_INPUT']);
  });
});

describe.each(MODES)('graphql-request, %s, gateway with client keys', (_mode, options) => {
  const stack = useStack(KEYED_GATEWAY);

  it.each([
    ['no key', {}],
    ['a wrong key', { authorization: `Bearer ${WRONG_KEY}` }],
  ])('with %s: a ClientError with HTTP 401 and UNAUTHENTICATED', async (_name, headers) => {
    const client = new GraphQLClient(graphqlUrl(stack), { ...options, headers });
    const error = await clientErrorOf(client.request(READ_TASK, { id: 'demo-succeeded' }));
    expect(error.response.status).toBe(401);
    expect(codesOf(error)).toEqual(['UNAUTHENTICATED']);
  });

  it('with the key in `headers`: creates a video and reads it back', async () => {
    const client = new GraphQLClient(graphqlUrl(stack), { ...options, headers: { authorization: `Bearer ${CLIENT_KEY}` } });
    const created = await client.request<CreateVideo>(CREATE_VIDEO, { input: videoInput() });
    const taskId = created.createReferenceVideo.taskId;
    expect(taskId).toEqual(expect.any(String));
    const read = await client.request<ReadTask>(READ_TASK, { id: taskId });
    expect(read.task?.id).toBe(taskId);
  });
});
