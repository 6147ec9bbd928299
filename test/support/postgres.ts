// A real PostgreSQL for the task-history suites: a throwaway database per run, so parallel runs and
// earlier runs never meet. Where no PostgreSQL answers, the suites skip with a visible message,
// except under CI=true, where that is a failure.
import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** An administrative connection: it creates and drops the throwaway databases. */
export const TEST_POSTGRES_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function withAdmin<T>(use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: TEST_POSTGRES_URL, connectionTimeoutMillis: 2000 });
  client.on('error', () => {}); // a broken connection fails the call below, which says it all
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

/** Decides whether a PostgreSQL suite runs; says so loudly when it does not. */
export async function postgresAvailableOrExplain(suite: string): Promise<boolean> {
  try {
    await withAdmin((client) => client.query('select 1'));
    return true;
  } catch {
    const where = new URL(TEST_POSTGRES_URL).host;
    if (process.env.CI === 'true') throw new Error(`${suite}: no PostgreSQL at ${where}, and CI=true requires one`);
    console.warn(`\n!! ${suite}: SKIPPED, no PostgreSQL reachable at ${where} (set TEST_POSTGRES_URL to run it)\n`);
    return false;
  }
}

export interface ThrowawayDatabase {
  /** A URL for the new database, with the admin URL's credentials. */
  url: string;
  drop(): Promise<void>;
}

/**
 * `CREATE DATABASE t_<random>`. `icuLocale` makes its default collation a linguistic one (e.g.
 * 'en-US', where "a" sorts before "B"), as many production databases have.
 */
export async function createThrowawayDatabase(options: { icuLocale?: string } = {}): Promise<ThrowawayDatabase> {
  const name = `t_${randomBytes(6).toString('hex')}`;
  const locale = options.icuLocale === undefined ? '' : ` template template0 locale_provider icu icu_locale '${options.icuLocale.replace(/'/g, "''")}'`;
  await withAdmin((client) => client.query(`create database ${name}${locale}`));
  const url = new URL(TEST_POSTGRES_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    // WITH (FORCE): a connection a failed test left open must not keep the database alive.
    drop: () => withAdmin((client) => client.query(`drop database if exists ${name} with (force)`)).then(() => undefined),
  };
}

/** PostgreSQL's major version (ICU database locales need 15). */
export async function postgresMajorVersion(): Promise<number> {
  return withAdmin(async (client) => Math.floor(Number((await client.query<{ v: string }>('show server_version_num')).rows[0]?.v) / 10_000));
}
