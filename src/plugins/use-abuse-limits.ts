// Generic limits on an operation's shape (GraphQL Armor): depth, aliases, tokens, directives and
// cost. They reject abusive documents at validation, before anything runs. The bound on upstream
// reads per operation is exact and lives in the task loader (context.ts), since only execution
// knows how many distinct tasks a document really reads.
import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import type { Plugin } from 'graphql-yoga';
import type { GraphQLLimitsConfig } from '../config.js';

export function useAbuseLimits(limits: GraphQLLimitsConfig): Plugin {
  return EnvelopArmorPlugin({
    maxDepth: { n: limits.maxDepth },
    maxAliases: { n: limits.maxAliases },
    maxTokens: { n: limits.maxTokens },
    maxDirectives: { n: limits.maxDirectives },
    costLimit: { maxCost: limits.maxCost },
    // Suggestions ("Did you mean …?") would let anyone map a schema with introspection off.
    blockFieldSuggestion: { enabled: true },
  }) as Plugin;
}
