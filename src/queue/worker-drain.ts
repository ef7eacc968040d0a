import { WorkerHost } from '@nestjs/bullmq';
import { BeforeApplicationShutdown, Injectable } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';

/**
 * SIGTERM drains in-flight work (SPEC section 7). Nest closes each queue together with its own
 * workers, one module after another, so a worker still finishing a sync could find the retry queue,
 * Redis or the database already closed. Every worker is closed (waiting for its active jobs) before
 * any of them: beforeApplicationShutdown runs ahead of every onApplicationShutdown.
 */
@Injectable()
export class WorkerDrain implements BeforeApplicationShutdown {
  constructor(private readonly discovery: DiscoveryService) {}

  async beforeApplicationShutdown(): Promise<void> {
    const hosts = this.discovery
      .getProviders()
      .map((wrapper) => wrapper.instance as unknown)
      .filter((instance): instance is WorkerHost => instance instanceof WorkerHost);
    await Promise.all(hosts.map((host) => host.worker.close()));
  }
}
