package io.loadstar.spring;

import java.time.Duration;
import java.util.List;
import org.springframework.cloud.client.ServiceInstance;
import org.springframework.cloud.client.discovery.ReactiveDiscoveryClient;

/**
 * A {@link ReactiveDiscoveryClient}'s instances, read by waiting on the calling thread (the
 * balancer's worker, never a reactive one) up to a timeout. Its own class, so that only a source
 * that uses it needs Reactor.
 */
final class ReactiveInstances implements DiscoveryClientEndpointSource.Instances {

  private final ReactiveDiscoveryClient client;
  private final Duration timeout;

  ReactiveInstances(ReactiveDiscoveryClient client, Duration timeout) {
    this.client = client;
    this.timeout = timeout;
  }

  @Override
  public List<ServiceInstance> get(String serviceId) {
    List<ServiceInstance> instances = client.getInstances(serviceId).collectList().block(timeout);
    return instances == null ? List.of() : instances;
  }

  @Override
  public String description() {
    return client.description();
  }
}
