import { AppConfig } from '../config/app-config';
import { ensureDatabase, runMigrations } from './ensure-database';

/** `npm run migration:run`: the explicit migration step production runs before rolling out. */
async function main(): Promise<void> {
  const config = AppConfig.fromProcessEnv();
  await ensureDatabase(config.databaseUrl);
  const applied = await runMigrations(config.databaseUrl);
  console.log(applied.length ? `applied migrations: ${applied.join(', ')}` : 'database is up to date');
}

main().catch((error: Error) => {
  console.error(`migration failed: ${error.message}`);
  process.exit(1);
});
