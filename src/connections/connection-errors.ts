/**
 * A sync or poll cannot use the connection at all: the provider rejected its credentials for good, or the
 * routing's company has none. Never retried: the routing ends `permanently_failed` with this message.
 */
export class ConnectionUnusableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConnectionUnusableError';
  }

  static invalid(connectionId: string, reason: string | null): ConnectionUnusableError {
    return new ConnectionUnusableError(`connection ${connectionId} is invalid: ${reason ?? 'credentials rejected'}`);
  }
}

/**
 * The stored credentials no longer have the provider's shape (edited data, or a provider whose schema changed).
 * Our own fault rather than the provider's: retried within the attempt budget like any internal error.
 */
export class StoredCredentialsError extends Error {
  constructor(connectionId: string, fields: string[]) {
    super(`stored credentials of connection ${connectionId} do not match the provider (${fields.join(', ')})`);
    this.name = 'StoredCredentialsError';
  }
}

/**
 * The connection's circuit is open (SPEC section 6): the provider failed it too often, so no call is sent until
 * `retryAt`. Not a failure of the routing: a sync attempt is deferred to then without using up an attempt.
 */
export class CircuitOpenError extends Error {
  constructor(
    connectionId: string,
    readonly retryAt: Date,
  ) {
    super(`circuit of connection ${connectionId} is open until ${retryAt.toISOString()}; no call was made`);
    this.name = 'CircuitOpenError';
  }
}
