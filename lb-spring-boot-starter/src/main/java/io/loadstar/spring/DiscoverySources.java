package io.loadstar.spring;

import io.loadstar.api.EndpointSource;
import java.time.Duration;

/**
 * Makes endpoint sources from the application's Spring Cloud discovery, for services configured
 * with {@code discovery.service-id}. A bean only where Spring Cloud Commons is on the class path,
 * so that nothing else names its types.
 */
interface DiscoverySources {

  /**
   * Returns a source of {@code serviceId}'s instances, read every {@code refreshInterval}.
   *
   * @throws IllegalStateException if the application has no {@code DiscoveryClient}
   */
  EndpointSource create(String serviceId, Duration refreshInterval);
}
