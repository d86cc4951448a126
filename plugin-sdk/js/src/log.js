/**
 * Structured logging through the host, which tags each line with the plugin's name:
 * `log.info('mirrored', {copies: 3})`. QuickJS has no `console`; the SDK supplies one that sends
 * its lines to the host too, unstructured.
 */

import { log as hostLog } from 'weft:plugin/logging@0.1.0';

function send(level, message, fields = {}) {
  hostLog(
    level,
    String(message),
    Object.entries(fields).map(([k, v]) => [k, String(v)]),
  );
}

export const log = Object.freeze({
  trace: (message, fields) => send('trace', message, fields),
  debug: (message, fields) => send('debug', message, fields),
  info: (message, fields) => send('info', message, fields),
  warn: (message, fields) => send('warn', message, fields),
  error: (message, fields) => send('error', message, fields),
});

function show(value) {
  if (typeof value === 'string') return value;
  if (value instanceof Error) return value.stack || String(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

const format = (args) => args.map(show).join(' ');

globalThis.console ??= Object.freeze({
  debug: (...args) => send('debug', format(args)),
  log: (...args) => send('info', format(args)),
  info: (...args) => send('info', format(args)),
  warn: (...args) => send('warn', format(args)),
  error: (...args) => send('error', format(args)),
});
