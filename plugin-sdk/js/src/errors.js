/** Errors from cluster calls, and the failures a reconcile throws. */

/** Why a cluster call failed: the WIT `error-kind` names. */
export const ErrorKind = Object.freeze({
  NotFound: 'not-found',
  AlreadyExists: 'already-exists',
  Conflict: 'conflict',
  /** The plugin was not granted the call, or the API server refused it. */
  Forbidden: 'forbidden',
  /** The request or the object was rejected as invalid. */
  Invalid: 'invalid',
  /** Timeouts, unavailable servers, throttling: worth retrying. */
  Transient: 'transient',
});

/** A failed cluster call; `kind` is one of ErrorKind. */
export class ApiError extends Error {
  /**
   * @param {string} kind
   * @param {string} message
   */
  constructor(kind, message) {
    super(`${kind}: ${message}`);
    this.name = 'ApiError';
    this.kind = kind;
    // The host's message alone; `message` starts with the kind.
    this.detail = message;
  }

  get notFound() {
    return this.kind === ErrorKind.NotFound;
  }

  get conflict() {
    return this.kind === ErrorKind.Conflict;
  }

  get forbidden() {
    return this.kind === ErrorKind.Forbidden;
  }
}

/** Throw to fail a reconcile that is worth retrying; the host backs off exponentially. */
export class Transient extends Error {
  name = 'Transient';
}

/** Throw to fail a reconcile that will fail again until the object or the plugin changes. */
export class Permanent extends Error {
  name = 'Permanent';
}

/**
 * Runs a WIT import. Its `result` errors arrive as an Error whose `payload` is the WIT api-error.
 * @template T
 * @param {() => T} call
 * @returns {T}
 */
export function cluster(call) {
  try {
    return call();
  } catch (e) {
    if (e?.payload?.kind) throw new ApiError(e.payload.kind, e.payload.message);
    throw e;
  }
}

/** The message a failure carries: the error's own for ours, with its type for the others. */
export function messageOf(e) {
  if (e instanceof Transient || e instanceof Permanent || e instanceof ApiError) return e.message;
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  return `thrown: ${String(e)}`;
}

/**
 * The WIT failure for an error thrown by a reconcile: Permanent, and forbidden or invalid cluster
 * calls (which fail the same way next time), are permanent; everything else is transient.
 */
export function failureOf(e) {
  const permanent =
    e instanceof Permanent ||
    (e instanceof ApiError && (e.kind === ErrorKind.Forbidden || e.kind === ErrorKind.Invalid));
  return { tag: permanent ? 'permanent' : 'transient', val: messageOf(e) };
}
