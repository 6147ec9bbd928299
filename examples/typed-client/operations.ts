// The operations this client sends. graphql-codegen reads the `graphql(...)` calls below and
// generates a TypedDocumentNode for each (gql/graphql.ts), so variables and results are typed from
// the schema, and a schema change that breaks one of them fails the type-check.
import { graphql } from './gql/index.js';

export const CreateVideo = graphql(`
  mutation CreateVideo($input: CreateReferenceVideoInput!) {
    createReferenceVideo(input: $input) {
      taskId
      userErrors {
        field
        code
        message
      }
    }
  }
`);

export const FollowTask = graphql(`
  subscription FollowTask($id: ID!) {
    taskUpdates(id: $id) {
      id
      status
      progressPercent
      etaSeconds
      failureReason
      isTerminal
      videos {
        url
        format
        expiresAt
      }
    }
  }
`);

export const ReadTask = graphql(`
  query ReadTask($id: ID!) {
    task(id: $id) {
      id
      status
      failureReason
      completedAt
      videos {
        url
        format
        expiresAt
      }
    }
  }
`);
