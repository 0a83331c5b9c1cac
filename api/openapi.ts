/**
 * OpenAPI 3.1 from the zod schemas the routes already parse with, so the document cannot drift
 * from validation: a route is described by the same objects that check its requests
 * (`z.toJSONSchema`, draft 2020-12, which OpenAPI 3.1 schemas are). The table of routes lives in
 * api/openapi-routes.ts; test/openapi.test.ts fails when the app mounts a route the table lacks.
 */
import { z } from 'zod';
import { ErrorBody as ContractErrorBody } from '../contract/errors';

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

export interface ResponseDoc {
  description: string;
  /** JSON body shape; error statuses without one get the common error body. */
  schema?: z.ZodType;
  /** Defaults to application/json; SSE, CSV and file routes say what they send. */
  contentType?: string | string[];
}

export interface RouteDoc {
  method: HttpMethod;
  /** The Express path as mounted, e.g. `/api/batches/:id`. */
  path: string;
  summary: string;
  description?: string;
  tag: string;
  params?: z.ZodType;
  query?: z.ZodType;
  body?: z.ZodType;
  /** False where the route accepts no body at all (`req.body ?? {}`). */
  bodyRequired?: boolean;
  /** A body that is not JSON (an uploaded file's bytes): its media type and what it is. */
  rawBody?: { contentType: string; description: string };
  responses: Record<number, ResponseDoc | string>;
  /** Callable without signing in (health, the document itself, sign-in). */
  public?: boolean;
}

/** `{ error: { code, message, details } }`, what api/errors.ts answers for every 4xx and 5xx. */
const ErrorBody = ContractErrorBody.meta({ description: 'The error body of every 4xx and 5xx answer' });

type JsonSchema = Record<string, unknown>;

/** `/api/batches/:id` -> `/api/batches/{id}` */
export function openApiPath(expressPath: string): string {
  return expressPath.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, '{$1}');
}

function operationId(method: HttpMethod, path: string): string {
  const words = path
    .split('/')
    .filter((s) => s && s !== 'api')
    .map((s) => (s.startsWith(':') ? `by-${s.slice(1)}` : s))
    .flatMap((s) => s.split(/[^A-Za-z0-9]+/))
    .filter(Boolean);
  return method + words.map((w) => w[0].toUpperCase() + w.slice(1)).join('');
}

/** JSON Schema of a zod schema, its local `$defs` hoisted into `components.schemas`. */
function jsonSchemaOf(schema: z.ZodType, io: 'input' | 'output', components: Record<string, JsonSchema>): JsonSchema {
  const out = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as JsonSchema;
  delete out.$schema;
  const defs = out.$defs as Record<string, JsonSchema> | undefined;
  if (!defs) return out;
  delete out.$defs;
  Object.assign(components, defs);
  // A `#/$defs/x` inside an operation would resolve against the document root; point it at components.
  return JSON.parse(JSON.stringify(out).replace(/"#\/\$defs\//g, '"#/components/schemas/')) as JsonSchema;
}

function parametersOf(schema: z.ZodType | undefined, where: 'path' | 'query', components: Record<string, JsonSchema>) {
  if (!schema) return [];
  const json = jsonSchemaOf(schema, 'input', components);
  const props = (json.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((json.required ?? []) as string[]);
  return Object.entries(props).map(([name, prop]) => {
    const { description, ...rest } = prop;
    return {
      name,
      in: where,
      required: where === 'path' || required.has(name),
      ...(typeof description === 'string' ? { description } : {}),
      schema: rest,
    };
  });
}

/** Every `:name` of the path, from the route's params schema where it has one, else a plain string. */
function pathParameters(r: RouteDoc, components: Record<string, JsonSchema>) {
  const declared = parametersOf(r.params, 'path', components);
  const names = [...r.path.matchAll(/:([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]);
  return names.map(
    (name) =>
      declared.find((p) => p.name === name) ?? {
        name,
        in: 'path' as const,
        required: true,
        schema: { type: 'string' },
      },
  );
}

export interface OpenApiDocument {
  openapi: '3.1.0';
  info: { title: string; version: string; description?: string };
  servers: Array<{ url: string }>;
  tags: Array<{ name: string }>;
  paths: Record<string, Record<string, unknown>>;
  components: { schemas: Record<string, JsonSchema>; securitySchemes: Record<string, unknown> };
  security: Array<Record<string, string[]>>;
}

export function buildOpenApiDocument(routes: readonly RouteDoc[], info: OpenApiDocument['info']): OpenApiDocument {
  const components: Record<string, JsonSchema> = {};
  components.Error = jsonSchemaOf(ErrorBody, 'output', components);
  const paths: OpenApiDocument['paths'] = {};
  for (const r of routes) {
    const path = openApiPath(r.path);
    const responses: Record<string, unknown> = {};
    for (const [status, raw] of Object.entries(r.responses)) {
      const doc = typeof raw === 'string' ? { description: raw } : raw;
      const isError = Number(status) >= 400;
      const types = doc.contentType ? [doc.contentType].flat() : ['application/json'];
      const schema = doc.schema
        ? jsonSchemaOf(doc.schema, 'output', components)
        : isError
          ? { $ref: '#/components/schemas/Error' }
          : undefined;
      responses[status] = {
        description: doc.description,
        ...(schema || doc.contentType
          ? { content: Object.fromEntries(types.map((t) => [t, schema ? { schema } : {}])) }
          : {}),
      };
    }
    if (!r.public) {
      const err = { content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
      responses['401'] ??= { description: '`unauthenticated`: no valid session cookie or API token', ...err };
      responses['403'] ??= {
        description:
          '`forbidden`: the access phase, plan or role does not allow it, or a cookie request without its X-CSRF-Token',
        ...err,
      };
    }
    if (!responses['500'])
      responses['500'] = {
        description: 'Unexpected error (logged with the request id in details)',
        content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
      };
    paths[path] ??= {};
    paths[path][r.method] = {
      operationId: operationId(r.method, r.path),
      ...(r.public ? { security: [] } : {}),
      summary: r.summary,
      ...(r.description ? { description: r.description } : {}),
      tags: [r.tag],
      parameters: [...pathParameters(r, components), ...parametersOf(r.query, 'query', components)],
      ...(r.body
        ? {
            requestBody: {
              required: r.bodyRequired ?? true,
              content: { 'application/json': { schema: jsonSchemaOf(r.body, 'input', components) } },
            },
          }
        : r.rawBody
          ? {
              requestBody: {
                required: true,
                description: r.rawBody.description,
                content: {
                  [r.rawBody.contentType]: { schema: { type: 'string', contentMediaType: r.rawBody.contentType } },
                },
              },
            }
          : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info,
    servers: [{ url: '/' }],
    tags: [...new Set(routes.map((r) => r.tag))].map((name) => ({ name })),
    paths,
    components: {
      schemas: components,
      securitySchemes: {
        apiToken: {
          type: 'http',
          scheme: 'bearer',
          description: 'An API token (flt_…) from POST /api/auth/tokens or the Account page',
        },
        session: {
          type: 'apiKey',
          in: 'cookie',
          name: 'flotilla_session',
          description:
            "The web page's session (POST /api/auth/sign-in); unsafe requests also send X-CSRF-Token from GET /api/auth/me",
        },
      },
    },
    security: [{ apiToken: [] }, { session: [] }],
  };
}
