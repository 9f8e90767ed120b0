package io.loadstar.spring;

import static java.util.Objects.requireNonNull;

import io.loadstar.api.AbstractEndpointSource;
import io.loadstar.api.Endpoint;
import io.loadstar.api.EndpointUpdate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.cloud.client.ServiceInstance;
import org.springframework.cloud.client.discovery.DiscoveryClient;
import org.springframework.cloud.client.discovery.ReactiveDiscoveryClient;

/**
 * Endpoints from a Spring Cloud {@link DiscoveryClient} (or a {@link ReactiveDiscoveryClient}:
 * {@link #reactive}), so every registry Spring Cloud speaks (Consul, Eureka, Kubernetes, ZooKeeper,
 * a simple list) feeds Loadstar: the service's instances are read every refresh interval, and at
 * once when the registry says it changed ({@link #refresh}, which the starter calls on Spring
 * Cloud's {@code HeartbeatEvent}). An instance's {@code zone} and {@code weight} metadata become
 * the endpoint's zone and weight, and its other metadata its tags. Reads run on the balancer's
 * worker threads, one at a time; a read that fails keeps the last endpoints (the balancer's {@code
 * keepLastEndpoints}), and an instance with bad data (no host, a port outside 1..65535, a weight
 * that is not a number) is skipped and logged once.
 */
public final class DiscoveryClientEndpointSource extends AbstractEndpointSource {

  private static final Logger log = LoggerFactory.getLogger(DiscoveryClientEndpointSource.class);

  /** How long a read from a {@link ReactiveDiscoveryClient} may take before it counts as failed. */
  public static final Duration REACTIVE_READ_TIMEOUT = Duration.ofSeconds(10);

  private final Instances client;
  private final String serviceId;
  private final long intervalNanos;
  private final AtomicBoolean reading = new AtomicBoolean();
  private final AtomicBoolean again = new AtomicBoolean();
  private final Set<String> reported = new HashSet<>(); // guarded by itself
  private volatile @Nullable Executor executor;
  private volatile @Nullable ScheduledExecutorService scheduler;
  private volatile @Nullable ScheduledFuture<?> timer;

  /**
   * Creates a source for {@code serviceId}'s instances in {@code client}, read every {@code
   * refreshInterval}.
   *
   * @throws IllegalArgumentException if {@code serviceId} is blank or the interval is not in {@code
   *     100ms..1h}
   */
  public DiscoveryClientEndpointSource(
      DiscoveryClient client, String serviceId, Duration refreshInterval) {
    this(blocking(requireNonNull(client, "client")), serviceId, refreshInterval);
  }

  /**
   * Creates a source for {@code serviceId}'s instances in a {@link ReactiveDiscoveryClient}, for
   * registries that have only that (Spring Cloud's blocking discovery turned off): each read waits
   * on the balancer's worker thread, never on a reactive one, up to {@link #REACTIVE_READ_TIMEOUT}.
   *
   * @throws IllegalArgumentException as the blocking constructor
   */
  public static DiscoveryClientEndpointSource reactive(
      ReactiveDiscoveryClient client, String serviceId, Duration refreshInterval) {
    return new DiscoveryClientEndpointSource(
        new ReactiveInstances(requireNonNull(client, "client"), REACTIVE_READ_TIMEOUT),
        serviceId,
        refreshInterval);
  }

  DiscoveryClientEndpointSource(Instances client, String serviceId, Duration refreshInterval) {
    this.client = client;
    requireNonNull(serviceId, "serviceId");
    if (serviceId.isBlank()) {
      throw new IllegalArgumentException("serviceId: '" + serviceId + "' (expected: not blank)");
    }
    requireNonNull(refreshInterval, "refreshInterval");
    if (refreshInterval.compareTo(Duration.ofMillis(100)) < 0
        || refreshInterval.compareTo(Duration.ofHours(1)) > 0) {
      throw new IllegalArgumentException(
          "refreshInterval: " + refreshInterval + " (expected: 100ms..1h)");
    }
    this.serviceId = serviceId;
    this.intervalNanos = refreshInterval.toNanos();
  }

  /** Where a source reads a service's instances: a blocking or a reactive discovery client. */
  interface Instances {
    /** The service's instances now; throws if the registry cannot say. */
    List<ServiceInstance> get(String serviceId);

    /** The client, for messages. */
    String description();
  }

  private static Instances blocking(DiscoveryClient client) {
    return new Instances() {
      @Override
      public List<ServiceInstance> get(String serviceId) {
        return client.getInstances(serviceId);
      }

      @Override
      public String description() {
        return client.description();
      }
    };
  }

  @Override
  protected void onStart(Context context) {
    executor = context.executor();
    scheduler = context.scheduler();
    refresh();
    arm();
  }

  /** Schedules the next periodic read, on the balancer's scheduler (and so its clock). */
  private void arm() {
    ScheduledExecutorService s = scheduler;
    if (s != null && !isClosed()) {
      timer =
          s.schedule(
              () -> {
                refresh();
                arm();
              },
              intervalNanos,
              TimeUnit.NANOSECONDS);
    }
  }

  /**
   * Reads the instances again now (on a worker thread): for a registry that says it changed, and
   * whenever the balancer asks ({@link io.loadstar.api.EndpointSource#refresh}). A call while a
   * read runs makes that read run once more when it ends. Does nothing before the source is started
   * or after it is closed.
   */
  @Override
  public void refresh() {
    Executor e = executor;
    if (e == null || isClosed()) {
      return;
    }
    again.set(true);
    if (reading.compareAndSet(false, true)) {
      e.execute(this::readWhileAsked);
    }
  }

  private void readWhileAsked() {
    do {
      try {
        while (again.getAndSet(false) && !isClosed()) {
          read();
        }
      } finally {
        reading.set(false);
      }
      // A refresh() between the last read and the release above: this thread reads again.
    } while (again.get() && !isClosed() && reading.compareAndSet(false, true));
  }

  private void read() {
    List<ServiceInstance> instances;
    try {
      instances = client.get(serviceId);
    } catch (RuntimeException e) {
      publish(EndpointUpdate.failed(e));
      return;
    }
    List<Endpoint> endpoints = new ArrayList<>();
    for (ServiceInstance instance : instances) {
      Endpoint endpoint = endpoint(instance);
      if (endpoint != null) {
        endpoints.add(endpoint);
      }
    }
    if (endpoints.isEmpty()) {
      publish(
          EndpointUpdate.empty(
              instances.isEmpty()
                  ? "no instance of '" + serviceId + "' in " + client.description()
                  : "no instance of '" + serviceId + "' with usable data"));
    } else {
      publish(EndpointUpdate.of(endpoints));
    }
  }

  /** The instance as an endpoint, or null (logged once per instance and problem) if unusable. */
  private @Nullable Endpoint endpoint(ServiceInstance instance) {
    try {
      String host = instance.getHost();
      if (host == null || host.isBlank()) {
        throw new IllegalArgumentException("host: none");
      }
      Endpoint endpoint = Endpoint.of(host, instance.getPort());
      Map<String, String> metadata = instance.getMetadata();
      if (metadata != null) {
        for (Map.Entry<String, String> m : metadata.entrySet()) {
          String key = m.getKey();
          String value = m.getValue();
          if (key == null || value == null) {
            continue;
          }
          switch (key.toLowerCase(Locale.ROOT)) {
            case "zone":
              endpoint = endpoint.withZone(value);
              break;
            case "weight":
              endpoint = endpoint.withWeight(parseWeight(value));
              break;
            default:
              endpoint = endpoint.withTag(key, value);
          }
        }
      }
      return endpoint;
    } catch (IllegalArgumentException e) {
      String id =
          instance.getInstanceId() + " (" + instance.getHost() + ":" + instance.getPort() + ")";
      boolean first;
      synchronized (reported) {
        first = reported.add(id + ": " + e.getMessage());
      }
      if (first) {
        log.warn("[{}] instance {} skipped: {}", serviceId, id, e.getMessage());
      }
      return null;
    }
  }

  private static int parseWeight(String value) {
    try {
      return Integer.parseInt(value.strip());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("weight: '" + value + "' (expected: a whole number)");
    }
  }

  @Override
  protected void onClose() {
    ScheduledFuture<?> t = timer;
    if (t != null) {
      t.cancel(false);
    }
  }

  @Override
  public String toString() {
    return "DiscoveryClientEndpointSource[" + serviceId + " in " + client.description() + "]";
  }
}
