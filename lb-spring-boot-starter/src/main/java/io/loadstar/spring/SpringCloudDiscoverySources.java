package io.loadstar.spring;

import io.loadstar.api.EndpointSource;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.cloud.client.discovery.DiscoveryClient;
import org.springframework.cloud.client.discovery.ReactiveDiscoveryClient;
import org.springframework.cloud.client.discovery.event.HeartbeatEvent;
import org.springframework.context.ApplicationListener;

/**
 * {@link DiscoverySources} over the application's {@link DiscoveryClient} (Spring Cloud's composite
 * of every registry client present), else its {@link ReactiveDiscoveryClient} (where blocking
 * discovery is turned off); refreshes every source when a registry publishes a {@link
 * HeartbeatEvent} (its catalog changed).
 */
final class SpringCloudDiscoverySources
    implements DiscoverySources, ApplicationListener<HeartbeatEvent> {

  private final ObjectProvider<DiscoveryClient> clients;
  private final ObjectProvider<ReactiveDiscoveryClient> reactiveClients;
  private final List<DiscoveryClientEndpointSource> sources = new CopyOnWriteArrayList<>();

  SpringCloudDiscoverySources(
      ObjectProvider<DiscoveryClient> clients,
      ObjectProvider<ReactiveDiscoveryClient> reactiveClients) {
    this.clients = clients;
    this.reactiveClients = reactiveClients;
  }

  @Override
  public EndpointSource create(String serviceId, Duration refreshInterval) {
    DiscoveryClient client = clients.getIfAvailable();
    DiscoveryClientEndpointSource source;
    if (client != null) {
      source = new DiscoveryClientEndpointSource(client, serviceId, refreshInterval);
    } else {
      ReactiveDiscoveryClient reactive = reactiveClients.getIfAvailable();
      if (reactive == null) {
        throw new IllegalStateException(
            "no Spring Cloud DiscoveryClient in the application (add the registry's starter, such"
                + " as spring-cloud-starter-zookeeper-discovery, -consul-discovery or"
                + " -netflix-eureka-client)");
      }
      source = DiscoveryClientEndpointSource.reactive(reactive, serviceId, refreshInterval);
    }
    sources.add(source);
    return source;
  }

  @Override
  public void onApplicationEvent(HeartbeatEvent event) {
    for (DiscoveryClientEndpointSource source : sources) {
      source.refresh();
    }
  }
}
