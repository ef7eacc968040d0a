import { Client } from 'pg';
import { DataSource } from 'typeorm';

import { dataSourceOptions } from './data-source';

/** Creates the database named in the URL if it does not exist (for `npm start` on a fresh machine). */
export async function ensureDatabase(databaseUrl: string): Promise<void> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.slice(1));
  url.pathname = '/postgres';
  const client = new Client({ connectionString: url.toString() });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount === 0) {
      await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`).catch((error: { code?: string }) => {
        // Created concurrently by another process: 42P04 once it exists, 23505 while its row is being committed.
        if (error.code !== '42P04' && error.code !== '23505') throw error;
      });
    }
  } finally {
    await client.end();
  }
}

// Any fixed bigint: the key of the session lock that lets one process at a time run the migrations.
const MIGRATION_LOCK = 7_340_191_766;

/** Applies pending migrations; processes started together (an api and a worker) take turns, so each runs once. */
export async function runMigrations(databaseUrl: string): Promise<string[]> {
  // One connection: the session lock and the migrations share it.
  const dataSource = new DataSource({ ...dataSourceOptions(databaseUrl, 1), migrationsTransactionMode: 'each' });
  await dataSource.initialize();
  try {
    await dataSource.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    const applied = await dataSource.runMigrations();
    return applied.map((m) => m.name);
  } finally {
    await dataSource.destroy(); // ends the session, and its lock with it
  }
}
