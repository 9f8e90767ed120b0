package io.loadstar.spring;

import io.loadstar.api.EndpointSnapshot;
import io.loadstar.api.LoadBalancer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.springframework.boot.health.contributor.AbstractHealthIndicator;
import org.springframework.boot.health.contributor.Health;

/**
 * The {@code loadstar} health indicator: up while every configured service has an endpoint in
 * rotation (ready, ramping up, or at its in-flight limit); down naming the services that have none
 * (all ejected, unhealthy or drained, or none discovered: their calls fail, or go out in panic to
 * endpoints known to be failing). The details give each service's usable and total endpoints. Reads
 * the balancers' snapshots only: no call is made or counted.
 */
public class LoadstarHealthIndicator extends AbstractHealthIndicator {

  private final LoadstarServices services;

  /** Creates the indicator over the configured services. */
  public LoadstarHealthIndicator(LoadstarServices services) {
    super("Loadstar health check failed");
    this.services = services;
  }

  @Override
  protected void doHealthCheck(Health.Builder builder) {
    List<String> unusable = new ArrayList<>();
    Map<String, Object> details = new LinkedHashMap<>();
    for (String name : services.names()) {
      LoadBalancer lb = services.balancer(name);
      List<EndpointSnapshot> snapshot = lb.inspect().snapshot();
      long usable = snapshot.stream().filter(LoadstarHealthIndicator::inRotation).count();
      if (usable == 0) {
        unusable.add(name);
      }
      Map<String, Object> service = new LinkedHashMap<>();
      service.put("usable", usable);
      service.put("endpoints", snapshot.size());
      details.put(name, service);
    }
    if (unusable.isEmpty()) {
      builder.up();
    } else {
      builder.down().withDetail("noUsableEndpoint", unusable);
    }
    builder.withDetails(details);
  }

  /** Whether an endpoint takes calls now or once a call in flight ends (not out of rotation). */
  private static boolean inRotation(EndpointSnapshot s) {
    switch (s.state()) {
      case READY:
      case RAMPING:
      case AT_LIMIT:
        return true;
      default:
        return false;
    }
  }
}
