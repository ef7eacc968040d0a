import Redis from 'ioredis';

export type LuaScript<T> = (keys: string[], args: (string | number)[]) => Promise<T>;

/**
 * A Lua script run by its SHA1 (EVALSHA) rather than by sending its text with every call: ioredis's
 * defineCommand sends EVALSHA and falls back to EVAL once when Redis answers NOSCRIPT (a restarted or flushed
 * script cache). Defined once per client under `name`; every caller on that client shares it.
 */
export function luaScript<T>(redis: Redis, name: string, numberOfKeys: number, lua: string): LuaScript<T> {
  const commands = redis as unknown as Record<string, ((...args: (string | number)[]) => Promise<unknown>) | undefined>;
  if (typeof commands[name] !== 'function') redis.defineCommand(name, { numberOfKeys, lua });
  return (keys, args) => commands[name]!(...keys, ...args) as Promise<T>;
}
