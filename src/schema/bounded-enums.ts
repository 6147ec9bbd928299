// graphql-js answers an unknown enum value with "Did you mean …?", computed by an edit distance
// whose tables are as long as the value: a 25 MB string where an enum belongs took 3.4 s and about
// 800 MB. Every enum value of this schema is short, so a long input is refused before that runs.
import { GraphQLEnumType, GraphQLError, Kind, type GraphQLSchema, type ValueNode } from 'graphql';

const MAX_ENUM_INPUT_CHARS = 64;

function tooLong(type: GraphQLEnumType): GraphQLError {
  return new GraphQLError(`Value does not exist in "${type.name}" enum (over ${MAX_ENUM_INPUT_CHARS} characters).`);
}

function literalLength(node: ValueNode): number {
  return node.kind === Kind.ENUM || node.kind === Kind.STRING ? node.value.length : 0;
}

/** Wraps each enum type's input parsing with a length check; called once, when the schema is built. */
export function boundEnumInputs(schema: GraphQLSchema): GraphQLSchema {
  for (const type of Object.values(schema.getTypeMap())) {
    if (!(type instanceof GraphQLEnumType) || type.name.startsWith('__')) continue;
    const parseValue = type.parseValue.bind(type);
    const parseLiteral = type.parseLiteral.bind(type);
    type.parseValue = (value) => {
      if (typeof value === 'string' && value.length > MAX_ENUM_INPUT_CHARS) throw tooLong(type);
      return parseValue(value);
    };
    type.parseLiteral = (node, variables) => {
      if (literalLength(node) > MAX_ENUM_INPUT_CHARS) throw tooLong(type);
      return parseLiteral(node, variables);
    };
  }
  return schema;
}
