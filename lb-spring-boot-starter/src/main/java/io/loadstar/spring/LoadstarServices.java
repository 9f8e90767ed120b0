package io.loadstar.spring;

import static java.util.Objects.requireNonNull;

import io.loadstar.api.LoadBalancer;
import io.loadstar.etcd.EtcdClient;
import io.loadstar.httpclient5.HttpClientLoadBalancing;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;
import okhttp3.OkHttpClient;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.context.properties.source.InvalidConfigurationPropertyValueException;

/**
 * The balancers of the services configured under {@code loadstar.services}, by name, and the
 * HttpClient 5 balancing that routes their hosts' requests. A bean of the application context:
 * inject it to reach a service's balancer ({@code inspect()}, {@code control()}, {@code
 * execute()}). Closing it closes the balancers and the etcd clients it made.
 */
public final class LoadstarServices implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(LoadstarServices.class);

  private final Map<String, LoadBalancer> balancers;
  private final Map<String, String> hosts;
  private final List<EtcdClient> etcdClients;
  private final @Nullable OkHttpClient checkClient;
  private final @Nullable HttpClientLoadBalancing http;
  private final @Nullable AddressRewriting addressRewriting;
  private final List<String> httpsByServiceName;

  private LoadstarServices(
      Map<String, LoadBalancer> balancers,
      Map<String, String> hosts,
      Map<String, ServiceProperties> properties,
      @Nullable String timeoutHeader,
      List<EtcdClient> etcdClients,
      @Nullable OkHttpClient checkClient) {
    this.balancers = Collections.unmodifiableMap(balancers);
    this.hosts = Collections.unmodifiableMap(hosts);
    this.etcdClients = etcdClients;
    this.checkClient = checkClient;
    if (balancers.isEmpty()) {
      this.http = null;
    } else {
      HttpClientLoadBalancing.Builder b = HttpClientLoadBalancing.builder();
      try {
        b.timeoutHeader(timeoutHeader == null || timeoutHeader.isEmpty() ? null : timeoutHeader);
      } catch (IllegalArgumentException e) {
        throw new InvalidConfigurationPropertyValueException(
            "loadstar.timeout-header", timeoutHeader, e.getMessage());
      }
      hosts.forEach(
          (name, host) -> {
            try {
              b.service(host, balancers.get(name));
            } catch (IllegalArgumentException e) {
              // Not a URL host, or one another service balances already.
              throw new InvalidConfigurationPropertyValueException(
                  "loadstar.services." + name + ".host", host, e.getMessage());
            }
          });
      this.http = b.build();
    }
    Map<String, ServiceProperties.TlsName> tlsNames = new LinkedHashMap<>();
    List<String> https = new ArrayList<>();
    properties.forEach(
        (name, p) -> {
          tlsNames.put(name, p.getTlsName());
          if (p.isHttps() && p.getTlsName() == ServiceProperties.TlsName.SERVICE) {
            https.add(name);
          }
        });
    this.addressRewriting = http == null ? null : new AddressRewriting(http, tlsNames);
    this.httpsByServiceName = List.copyOf(https);
  }

  /**
   * Builds every configured service's balancer, then waits up to {@code startupWait} for each one's
   * first endpoints.
   */
  static LoadstarServices create(
      LoadstarProperties properties, @Nullable DiscoverySources discovery) {
    Map<String, LoadBalancer> balancers = new LinkedHashMap<>();
    Map<String, String> hosts = new LinkedHashMap<>();
    Map<List<String>, EtcdClient> etcd = new LinkedHashMap<>();
    // One client for every service's HTTP health checks, made if one has them.
    OkHttpClient[] checks = new OkHttpClient[1];
    Supplier<OkHttpClient> checkClient =
        () -> {
          if (checks[0] == null) {
            checks[0] = new OkHttpClient.Builder().retryOnConnectionFailure(false).build();
          }
          return checks[0];
        };
    try {
      for (Map.Entry<String, ServiceProperties> e : properties.getServices().entrySet()) {
        String name = e.getKey();
        ServiceProperties service = e.getValue();
        String host = service.hostOr(name);
        balancers.put(
            name,
            ServiceBalancers.build(
                name,
                service,
                urls -> etcd.computeIfAbsent(List.copyOf(urls), u -> EtcdClient.builder(u).build()),
                discovery,
                checkClient));
        hosts.put(name, host);
      }
      LoadstarServices services =
          new LoadstarServices(
              balancers,
              hosts,
              properties.getServices(),
              properties.getTimeoutHeader(),
              new ArrayList<>(etcd.values()),
              checks[0]);
      services.awaitReady(properties.getStartupWait());
      return services;
    } catch (RuntimeException e) {
      balancers.values().forEach(LoadBalancer::close);
      etcd.values().forEach(EtcdClient::close);
      if (checks[0] != null) {
        close(checks[0]);
      }
      throw e;
    }
  }

  private void awaitReady(Duration wait) {
    for (LoadBalancer lb : balancers.values()) {
      try {
        if (!lb.awaitReady(wait)) {
          log.warn(
              "Loadstar service '{}' has no endpoints after {}; its requests fail until discovery"
                  + " finds some",
              lb.name(),
              wait);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  /** Returns the names of the configured services, in configuration order. */
  public List<String> names() {
    return List.copyOf(balancers.keySet());
  }

  /**
   * Returns the balancer of service {@code name}.
   *
   * @throws IllegalArgumentException if no service of that name is configured, naming those that
   *     are
   */
  public LoadBalancer balancer(String name) {
    LoadBalancer lb = balancers.get(requireNonNull(name, "name"));
    if (lb == null) {
      throw new IllegalArgumentException(
          "no Loadstar service '" + name + "' (configured: " + balancers.keySet() + ")");
    }
    return lb;
  }

  /** Returns the URL host each service balances, by service name. */
  public Map<String, String> hosts() {
    return hosts;
  }

  /** Returns the HttpClient 5 balancing of the services' hosts, empty if none is configured. */
  public Optional<HttpClientLoadBalancing> httpClientBalancing() {
    return Optional.ofNullable(http);
  }

  /**
   * The balancing of the services' hosts for clients that connect by the endpoint's address, empty
   * if no service is configured.
   */
  Optional<AddressRewriting> addressRewriting() {
    return Optional.ofNullable(addressRewriting);
  }

  /**
   * The services declared HTTPS ({@code https=true}) whose certificates name the service, not the
   * endpoints' addresses: those a client connecting by address cannot call.
   */
  List<String> httpsByServiceName() {
    return httpsByServiceName;
  }

  @Override
  public void close() {
    for (LoadBalancer lb : balancers.values()) {
      try {
        lb.close();
      } catch (RuntimeException e) {
        log.warn("Loadstar service '{}' failed to close", lb.name(), e);
      }
    }
    for (EtcdClient client : etcdClients) {
      client.close();
    }
    if (checkClient != null) {
      close(checkClient);
    }
  }

  private static void close(OkHttpClient client) {
    client.dispatcher().executorService().shutdown();
    client.connectionPool().evictAll();
  }

  @Override
  public String toString() {
    return "LoadstarServices" + hosts;
  }
}
