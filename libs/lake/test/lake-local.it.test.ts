import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { LocalFolderStore } from '../src';
import {
  checkpoints,
  compaction,
  discardContents,
  eventTablesRoundTrip,
  Fixture,
  racingWriters,
  schemaEvolution,
} from './support/scenarios';

jest.setTimeout(120_000);

describe('Delta tables in a local folder, read back by delta-rs and DuckDB', () => {
  let dir: string;
  let fx: Fixture;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-lake-it-'));
    fx = { store: new LocalFolderStore(dir), uri: (t) => pathToFileURL(path.join(dir, t)).href, reader: {} };
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('writes every warehouse table; a replayed batch is a no-op', () => eventTablesRoundTrip(fx));
  it('evolves the schema across commits: new column, int → float, uncoercible → discards', () => schemaEvolution(fx));
  it('writes the discards table with the documented columns', () => discardContents(fx));
  it('writes Parquet checkpoints that delta-rs reads without the earlier commits', () => checkpoints(fx));
  it('compacts small files while a writer commits', () => compaction(fx, true));
  it('keeps every commit of two writers racing with 10 concurrent commits each', () => racingWriters(fx, true));
  it('retries a writer with a stale view as N+1', () => racingWriters(fx, false));
});
