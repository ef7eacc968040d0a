import { ApiProperty, getSchemaPath } from '@nestjs/swagger';

import { ACTOR_ROLES, Actor } from '../actor';
import { AUDIT_ACTIONS, AuditChanges, REDACTED } from '../audit';

export class AuditActorResponse {
  @ApiProperty({
    nullable: true,
    type: String,
    description: 'The API key that made the change (`bootstrap-admin` for ADMIN_API_KEY); null for `system`',
  })
  apiKeyId: string | null;

  @ApiProperty({ enum: ACTOR_ROLES, description: '`system`: a change the service made by itself' })
  role: Actor['role'];

  @ApiProperty({ format: 'uuid', nullable: true, type: String, description: 'The company of a `company` key' })
  companyId: string | null;
}

// A changed field holds whatever JSON value the field has (a name, a flag, a list of trades, an object).
const ANY_JSON_VALUE = {
  anyOf: [
    { type: 'string' },
    { type: 'number' },
    { type: 'boolean' },
    { type: 'array', items: {} },
    { type: 'object' },
    { type: 'null' },
  ],
};

export class AuditChangeSchema {
  @ApiProperty({ ...ANY_JSON_VALUE, description: `Value before the change; secrets only as \`"${REDACTED}"\`` })
  old: unknown;

  @ApiProperty({ ...ANY_JSON_VALUE, description: `Value after the change; secrets only as \`"${REDACTED}"\`` })
  new: unknown;
}

export class AuditEventResponse {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'date-time', description: 'When the change was committed' }) at: Date;
  @ApiProperty({ type: AuditActorResponse }) actor: AuditActorResponse;

  @ApiProperty({ example: 'company.updated', description: `\`<resource>.<verb>\`: ${AUDIT_ACTIONS.join(', ')}` })
  action: string;

  @ApiProperty({ example: 'company' }) resourceType: string;
  @ApiProperty({ example: '3f0c1c9e-6f1e-4a8e-9d55-0d9a3b1f2c11' }) resourceId: string;
  @ApiProperty({ nullable: true, type: String, description: 'X-Request-Id of the request that made the change' })
  requestId: string | null;

  @ApiProperty({
    type: 'object',
    additionalProperties: { $ref: getSchemaPath(AuditChangeSchema) },
    description:
      'The changed fields (dotted paths for nested ones) with old and new values; `null` where there was none. ' +
      `Secrets (credentials, tokens, keys) appear only as \`"${REDACTED}"\`.`,
    example: {
      name: { old: 'Sparky Electric', new: 'Sparky Electric LLC' },
      'provider.credentials': { old: REDACTED, new: REDACTED },
    },
  })
  changes: AuditChanges;
}
