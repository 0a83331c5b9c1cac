/**
 * Batch templates and single-item runs on the real stack (Temporal dev server, PostgreSQL, the
 * job guard on): CRUD with validation at the boundary (settings against the pipeline's schema,
 * fixed items against its item schema, unique names), starting a batch from a template whose
 * entities source is resolved at start (an entity added later is in the next batch), and one
 * item run on its own as a batch of one.
 */
import { noopPipeline } from '../pipelines/noop';
import type { PipelineDefinition } from '../pipelines/types';
import { fixturePipeline } from './support/fixture-pipeline';
import { finalStatusOf, startOperatorStack } from './support/operator-stack';
import { uid } from './support/stack';

let stack: Awaited<ReturnType<typeof startOperatorStack>>;
const call = (...args: Parameters<typeof stack.api.call>) => stack.api.call(...args);

beforeAll(async () => {
  stack = await startOperatorStack({
    name: 'templates',
    pipelines: [noopPipeline, fixturePipeline] as unknown as PipelineDefinition[],
  });
});

afterAll(async () => {
  await stack?.close();
});

async function addEntities(kind: string, keys: string[]) {
  await stack.db.entity.createMany({
    data: keys.map((key) => ({ id: `${kind}:${key}`, kind, key, data: { key, label: `entity ${key}` } })),
  });
}

describe('CRUD and validation', () => {
  test('create, read, list a page at a time, replace, delete', async () => {
    const names = [uid('alpha'), uid('beta'), uid('gamma')];
    const ids: string[] = [];
    for (const name of names) {
      const res = await call('POST', '/api/templates', {
        name,
        pipeline: 'noop',
        source: { kind: 'items', items: [{ key: 'a' }] },
      });
      expect(res.status).toBe(201);
      expect(res.headers.get('location')).toBe(`/api/templates/${res.body.id}`);
      expect(res.body).toMatchObject({
        name,
        pipeline: 'noop',
        concurrency: 20,
        settings: {},
        createdBy: stack.api.admin.email,
        source: { kind: 'items' },
      });
      ids.push(res.body.id);
    }

    const one = await call('GET', `/api/templates/${ids[1]}`);
    expect(one.status).toBe(200);
    expect(one.body.name).toBe(names[1]);

    // Newest first, two pages of two (others' templates may follow: filter by ours).
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { status: number; body: { templates: Array<{ id: string }>; nextCursor: string | null } } =
        await call('GET', `/api/templates?pipeline=noop&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      expect(page.body.templates.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.templates.map((t) => t.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen.filter((id) => ids.includes(id))).toEqual([...ids].reverse());

    const replaced = await call('PUT', `/api/templates/${ids[0]}`, {
      name: `${names[0]}-v2`,
      pipeline: 'fixture',
      settings: { label: 'x' },
      source: { kind: 'entities', entityKind: 'thing' },
      concurrency: 5,
    });
    expect(replaced.status).toBe(200);
    expect(replaced.body).toMatchObject({
      name: `${names[0]}-v2`,
      pipeline: 'fixture',
      settings: { label: 'x' },
      concurrency: 5,
      source: { kind: 'entities', entityKind: 'thing' },
    });

    const taken = await call('PUT', `/api/templates/${ids[0]}`, {
      name: names[1],
      pipeline: 'noop',
      source: { kind: 'items', items: [{}] },
    });
    expect(taken.status).toBe(409);
    expect(taken.body.error).toMatchObject({ code: 'conflict', message: expect.stringContaining(names[1]) });
    const dup = await call('POST', '/api/templates', {
      name: names[2],
      pipeline: 'noop',
      source: { kind: 'items', items: [{}] },
    });
    expect(dup.status).toBe(409);

    expect((await call('DELETE', `/api/templates/${ids[2]}`)).status).toBe(204);
    expect((await call('GET', `/api/templates/${ids[2]}`)).status).toBe(404);
    expect((await call('DELETE', `/api/templates/${ids[2]}`)).status).toBe(404);
    expect(
      (
        await call('PUT', `/api/templates/${ids[2]}`, {
          name: 'x',
          pipeline: 'noop',
          source: { kind: 'items', items: [{}] },
        })
      ).status,
    ).toBe(404);
  });

  test.each([
    ['an unknown pipeline', { pipeline: 'nope', source: { kind: 'items', items: [{}] } }, 'pipeline'],
    [
      'settings the pipeline refuses',
      { pipeline: 'fixture', settings: { label: 5 }, source: { kind: 'entities', entityKind: 'thing' } },
      'settings.label',
    ],
    [
      'a fixed item the pipeline refuses',
      { pipeline: 'fixture', source: { kind: 'items', items: [{ key: 'ok' }, { key: 7 }] } },
      'source.items[1].key',
    ],
    ['an unknown source kind', { pipeline: 'noop', source: { kind: 'csv', url: 'x' } }, 'source.kind'],
    ['an entities source without a kind', { pipeline: 'noop', source: { kind: 'entities' } }, 'source.entityKind'],
    ['an unknown field', { pipeline: 'noop', source: { kind: 'items', items: [{}] }, colour: 'red' }, '(root)'],
    [
      'a concurrency out of range',
      { pipeline: 'noop', source: { kind: 'items', items: [{}] }, concurrency: 0 },
      'concurrency',
    ],
  ])('400 naming the field for %s; nothing stored', async (_what, body, path) => {
    const before = await stack.db.batchTemplate.count();
    const res = await call('POST', '/api/templates', { name: uid('bad'), ...body });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('validation_error');
    expect(res.body.error.details.issues.map((i: { path: string }) => i.path)).toContain(path);
    expect(await stack.db.batchTemplate.count()).toBe(before);
  });
});

describe('starting a batch from a template', () => {
  test('an entities source is resolved when the batch starts; keys and search narrow it', async () => {
    const kind = uid('gadget');
    await addEntities(kind, ['g-1', 'g-2']);
    const t = await call('POST', '/api/templates', {
      name: uid('gadgets'),
      pipeline: 'noop',
      source: { kind: 'entities', entityKind: kind },
      concurrency: 3,
    });
    expect(t.status).toBe(201);

    const first = await call('POST', `/api/templates/${t.body.id}/batches`, {});
    expect(first.status).toBe(202);
    expect(first.headers.get('location')).toBe(`/api/batches/${first.body.id}`);
    expect(await finalStatusOf(stack.db, first.body.id)).toBe('completed');
    const row = await stack.db.batch.findUniqueOrThrow({ where: { id: first.body.id } });
    expect(row).toMatchObject({ templateId: t.body.id, scheduleId: null, pipeline: 'noop', total: 2, concurrency: 3 });
    expect(row.name).toContain(t.body.name);

    // Added after the template was saved: in the next batch.
    await addEntities(kind, ['g-3']);
    const second = await call('POST', `/api/templates/${t.body.id}/batches`, { name: 'gadgets, second run' });
    expect(second.status).toBe(202);
    expect(await finalStatusOf(stack.db, second.body.id)).toBe('completed');
    const items = await call('GET', `/api/batches/${second.body.id}/items`);
    expect(items.body.items.map((i: { key: string; input: unknown }) => [i.key, i.input])).toEqual([
      ['g-1', { key: 'g-1', label: 'entity g-1' }],
      ['g-2', { key: 'g-2', label: 'entity g-2' }],
      ['g-3', { key: 'g-3', label: 'entity g-3' }],
    ]);
    expect((await stack.db.batch.findUniqueOrThrow({ where: { id: second.body.id } })).name).toBe(
      'gadgets, second run',
    );

    // Chosen keys run in the order given; missing ones are left out.
    const chosen = await call('POST', '/api/templates', {
      name: uid('chosen'),
      pipeline: 'noop',
      source: { kind: 'entities', entityKind: kind, keys: ['g-3', 'g-1', 'g-9'] },
    });
    const third = await call('POST', `/api/templates/${chosen.body.id}/batches`);
    expect(third.status).toBe(202);
    await finalStatusOf(stack.db, third.body.id);
    expect(
      (await call('GET', `/api/batches/${third.body.id}/items`)).body.items.map((i: { key: string }) => i.key),
    ).toEqual(['g-3', 'g-1']);

    const searched = await call('POST', '/api/templates', {
      name: uid('searched'),
      pipeline: 'noop',
      source: { kind: 'entities', entityKind: kind, search: 'G-2' },
    });
    const fourth = await call('POST', `/api/templates/${searched.body.id}/batches`);
    await finalStatusOf(stack.db, fourth.body.id);
    expect((await stack.db.batch.findUniqueOrThrow({ where: { id: fourth.body.id } })).total).toBe(1);
  });

  test('a source with no items answers 409 and creates nothing; an unknown template 404', async () => {
    const t = await call('POST', '/api/templates', {
      name: uid('empty'),
      pipeline: 'noop',
      source: { kind: 'entities', entityKind: uid('none') },
    });
    const before = await stack.db.batch.count();
    const res = await call('POST', `/api/templates/${t.body.id}/batches`);
    expect(res.status).toBe(409);
    expect(res.body.error).toMatchObject({ code: 'conflict', details: { reason: 'no_items' } });
    expect(res.body.error.message).toContain('no entities of kind');
    expect(await stack.db.batch.count()).toBe(before);
    expect((await call('POST', '/api/templates/tpl-missing/batches')).status).toBe(404);
  });

  test("entities that do not fit the pipeline's item schema fail like a posted batch: 400 naming the row", async () => {
    const kind = uid('strict');
    await stack.db.entity.create({ data: { id: `${kind}:a`, kind, key: 'a', data: { key: 42 } } });
    const t = await call('POST', '/api/templates', {
      name: uid('strict'),
      pipeline: 'fixture',
      source: { kind: 'entities', entityKind: kind },
    });
    const res = await call('POST', `/api/templates/${t.body.id}/batches`);
    expect(res.status).toBe(400);
    expect(res.body.error.message).toBe('row 1: items[0].key: Key must be text.');
  });

  test("the job guard holds for a template's batch: 409 naming the active batch", async () => {
    const t = await call('POST', '/api/templates', {
      name: uid('slow'),
      pipeline: 'fixture',
      source: { kind: 'items', items: [{ key: 's', sleepMs: 20_000 }] },
    });
    const running = await call('POST', `/api/templates/${t.body.id}/batches`);
    expect(running.status).toBe(202);
    const again = await call('POST', `/api/templates/${t.body.id}/batches`);
    expect(again.status).toBe(409);
    expect(again.body.error).toMatchObject({ code: 'conflict', details: { activeBatchId: running.body.id } });
    expect((await call('POST', `/api/batches/${running.body.id}/cancel`, {})).status).toBe(202);
    expect(await finalStatusOf(stack.db, running.body.id)).toBe('cancelled');
  });
});

describe('a single item run on its own (a batch of one)', () => {
  test('202 with the batch of one, named after the item', async () => {
    const res = await call('POST', '/api/pipelines/noop/run', { item: { key: 'solo-1', name: "Joe's Pizza" } });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ id: expect.stringMatching(/^batch-/), status: 'pending' });
    expect(await finalStatusOf(stack.db, res.body.id)).toBe('completed');
    const batch = await call('GET', `/api/batches/${res.body.id}`);
    expect(batch.body).toMatchObject({ name: "Single: Joe's Pizza", total: 1, pipeline: 'noop', concurrency: 1 });
    const items = await call('GET', `/api/batches/${res.body.id}/items`);
    expect(items.body.items).toHaveLength(1);
    expect(items.body.items[0]).toMatchObject({ key: 'solo-1', status: 'succeeded' });

    const named = await call('POST', '/api/pipelines/fixture/run', {
      item: { key: 'solo-2' },
      settings: { label: 'one' },
      name: 'just this one',
    });
    expect(named.status).toBe(202);
    await finalStatusOf(stack.db, named.body.id);
    expect(await stack.db.batch.findUniqueOrThrow({ where: { id: named.body.id } })).toMatchObject({
      name: 'just this one',
      settings: { label: 'one' },
      createdBy: stack.api.admin.email,
    });
    const keyed = await call('POST', '/api/pipelines/fixture/run', { item: { key: 'solo-3' } });
    await finalStatusOf(stack.db, keyed.body.id);
    expect((await stack.db.batch.findUniqueOrThrow({ where: { id: keyed.body.id } })).name).toBe('Single: solo-3');
  });

  test('errors name item.<field> (and settings.<field>); unknown pipelines 404; nothing is created', async () => {
    const before = await stack.db.batch.count();
    const bad = await call('POST', '/api/pipelines/fixture/run', { item: { key: 5 } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toBe('item.key: Key must be text.');
    expect(bad.body.error.details.issues[0].path).toBe('item.key');
    const missing = await call('POST', '/api/pipelines/fixture/run', {});
    expect(missing.status).toBe(400);
    expect(missing.body.error.details.issues[0].path).toBe('item');
    const settings = await call('POST', '/api/pipelines/fixture/run', { item: { key: 'x' }, settings: { label: 1 } });
    expect(settings.status).toBe(400);
    expect(settings.body.error.details.issues[0].path).toBe('settings.label');
    expect((await call('POST', '/api/pipelines/nope/run', { item: {} })).status).toBe(404);
    expect(await stack.db.batch.count()).toBe(before);
  });
});
