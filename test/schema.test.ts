import { readFileSync } from 'node:fs';
import {
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isObjectType,
  type GraphQLEnumType,
  type GraphQLNamedType,
} from 'graphql';
import { describe, expect, it } from 'vitest';
import { printSortedSchema, schema } from '../src/schema/index.js';

describe('schema', () => {
  it('schema.graphql equals the printed, sorted schema (run `npm run print-schema` after changing the schema)', () => {
    const committed = readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8');
    expect(committed).toBe(printSortedSchema());
  });

  it('describes every type, field, argument and enum value', () => {
    const missing: string[] = [];
    const own = Object.values(schema.getTypeMap()).filter((type: GraphQLNamedType) => !type.name.startsWith('__'));
    for (const type of own) {
      if (['String', 'Int', 'Float', 'Boolean', 'ID'].includes(type.name)) continue;
      if (!type.description) missing.push(type.name);
      if (isObjectType(type) || isInterfaceType(type) || isInputObjectType(type)) {
        for (const field of Object.values(type.getFields())) {
          if (!field.description) missing.push(`${type.name}.${field.name}`);
          for (const arg of 'args' in field ? field.args : []) {
            if (!arg.description) missing.push(`${type.name}.${field.name}(${arg.name})`);
          }
        }
      }
      if (isEnumType(type)) {
        for (const value of type.getValues()) if (!value.description) missing.push(`${type.name}.${value.name}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('maps every enum value to the exact upstream string', () => {
    const internal = (name: string) =>
      Object.fromEntries((schema.getType(name) as GraphQLEnumType).getValues().map((v) => [v.name, v.value as unknown]));
    expect(internal('VideoResolution')).toEqual({ RES_540P: '540p', RES_720P: '720p', RES_1080P: '1080p' });
    expect(internal('MovementAmplitude')).toEqual({ AUTO: 'auto', SMALL: 'small', MEDIUM: 'medium', HIGH: 'high' });
    expect(internal('AspectRatio')).toEqual({
      RATIO_16_9: '16:9',
      RATIO_9_16: '9:16',
      RATIO_4_3: '4:3',
      RATIO_3_4: '3:4',
      RATIO_1_1: '1:1',
    });
    expect(internal('TaskStatus')).toEqual({
      QUEUED: 'QUEUED',
      PROCESSING: 'PROCESSING',
      SUCCEEDED: 'SUCCEEDED',
      FAILED: 'FAILED',
      UNKNOWN: 'UNKNOWN',
    });
    expect(internal('VideoFormat')).toEqual({ MP4: 'MP4', GIF: 'GIF' });
  });
});
