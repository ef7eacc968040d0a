'use strict';
/**
 * Preloaded into the service processes the benchmarks start (`node -r test/bench/lib/loopback.js dist/src/main.js`).
 * main.ts calls `app.listen(port)` without a host, which binds every interface; the benchmarks must stay on
 * 127.0.0.1, so a listen() given only a port (and no host) gets host 127.0.0.1. Nothing else changes.
 */
const net = require('node:net');

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function listenOnLoopback(...args) {
  const first = args[0];
  const isPort = typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first));
  if (isPort && typeof args[1] !== 'string') {
    args.splice(1, 0, '127.0.0.1');
  } else if (
    first &&
    typeof first === 'object' &&
    !Array.isArray(first) &&
    first.path === undefined &&
    first.host === undefined
  ) {
    args[0] = { ...first, host: '127.0.0.1' };
  }
  return listen.apply(this, args);
};
