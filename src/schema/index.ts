// Imports each entity for its side effects and builds the schema once.
import { lexicographicSortSchema, printSchema } from 'graphql';
import { boundEnumInputs } from './bounded-enums.js';
import { builder } from './builder.js';
import './enums.js';
import './node.js';
import './task.js';
import './user-error.js';
import './create-reference-video.js';
import './my-tasks.js';
import './delete-task.js';
import './my-usage.js';
import './task-updates.js';

export const schema = boundEnumInputs(builder.toSchema());

/** The SDL committed as schema.graphql: sorted, so diffs show real changes only. */
export function printSortedSchema(): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}
