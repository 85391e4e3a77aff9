/**
 * The Lua scripts of the message side under `./scripts`: the dead-letter store's and the state
 * store's (see {@link LuaScripts}). Each store registers them as it is handed its connection.
 */
import { LuaScripts } from '../support/lua_scripts.js';

export const messagingScripts = new LuaScripts(new URL('./scripts/', import.meta.url), [
  'add_dead_letter',
  'flush_dead_letters',
  'read_dead_letters',
  'merge_state',
] as const);
