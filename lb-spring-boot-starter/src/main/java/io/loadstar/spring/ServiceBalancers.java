package io.loadstar.spring;

import io.loadstar.api.AttemptTimeout;
import io.loadstar.api.Endpoint;
import io.loadstar.api.Hedging;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.RetryPolicy;
import io.loadstar.api.SelectionStrategy;
import io.loadstar.core.HealthCheckConfig;
import io.loadstar.core.LoadBalancers;
import io.loadstar.core.OutlierDetectionConfig;
import io.loadstar.core.Strategies;
import io.loadstar.core.Subsetting;
import io.loadstar.core.TcpHealthChecker;
import io.loadstar.core.TrafficSplit;
import io.loadstar.dns.DnsEndpointSource;
import io.loadstar.etcd.EtcdClient;
import io.loadstar.etcd.EtcdEndpointSource;
import io.loadstar.okhttp.HttpHealthChecker;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;
import okhttp3.OkHttpClient;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.context.properties.source.InvalidConfigurationPropertyValueException;
import org.springframework.boot.convert.DurationStyle;

/**
 * Builds a service's {@link LoadBalancer} from its {@code loadstar.services.<name>.*} properties. A
 * value the library refuses fails with the property's full name, the value and the library's reason
 * (which gives the range).
 */
final class ServiceBalancers {

  private final String prefix;
  private final String name;
  private final ServiceProperties service;
  private final Supplier<OkHttpClient> checkClient;

  private ServiceBalancers(
      String name, ServiceProperties service, Supplier<OkHttpClient> checkClient) {
    this.prefix = "loadstar.services." + name + ".";
    this.name = name;
    this.service = service;
    this.checkClient = checkClient;
  }

  /**
   * Builds the balancer of service {@code name}; etcd sources get their client from {@code etcd}.
   */
  static LoadBalancer build(
      String name,
      ServiceProperties service,
      Function<List<String>, EtcdClient> etcd,
      @Nullable DiscoverySources discovery,
      Supplier<OkHttpClient> checkClient) {
    return new ServiceBalancers(name, service, checkClient).build(etcd, discovery);
  }

  private LoadBalancer build(
      Function<List<String>, EtcdClient> etcd, @Nullable DiscoverySources discovery) {
    LoadBalancers.Builder b = LoadBalancers.builder(name);
    boolean sourced = endpoints(b) | dns(b) | etcd(b, etcd) | discovery(b, discovery);
    if (!sourced) {
      throw missing(
          "endpoints",
          "service '"
              + name
              + "' needs endpoints: set endpoints, dns.name, etcd.urls or discovery.service-id");
    }
    set("strategy", service.getStrategy(), s -> b.strategy(strategy(s)));
    set(
        "max-in-flight-per-endpoint",
        service.getMaxInFlightPerEndpoint(),
        b::maxInFlightPerEndpoint);
    set("selection-timeout", service.getSelectionTimeout(), b::selectionTimeout);
    set("slow-start", service.getSlowStart(), b::slowStart);
    set("zone", service.getZone(), b::zone);
    b.outlierDetection(outlierDetection());
    healthChecks(b);
    b.retryPolicy(retryPolicy());
    canary(b);
    subsetting(b);
    return b.build();
  }

  /** Applies {@code value} (if set) with {@code setter}; a refused value names the property. */
  private <T> void set(String property, @Nullable T value, Consumer<T> setter) {
    if (value != null) {
      call(
          property,
          value,
          () -> {
            setter.accept(value);
            return value;
          });
    }
  }

  /** Refuses start-up for a property that another one needs, saying why. */
  private InvalidConfigurationPropertyValueException missing(String property, String why) {
    return new InvalidConfigurationPropertyValueException(prefix + property, "(none)", why);
  }

  private static SelectionStrategy strategy(LoadstarProperties.Strategy s) {
    switch (s) {
      case ROUND_ROBIN:
        return Strategies.roundRobin();
      case RANDOM:
        return Strategies.random();
      case PEAK_EWMA:
        return Strategies.peakEwma();
      case RING_HASH:
        return Strategies.ringHash();
      case MAGLEV:
        return Strategies.maglev();
      default:
        return Strategies.leastRequest();
    }
  }

  private boolean endpoints(LoadBalancers.Builder b) {
    List<String> given = service.getEndpoints();
    if (given.isEmpty()) {
      return false;
    }
    List<Endpoint> endpoints = new ArrayList<>();
    for (int i = 0; i < given.size(); i++) {
      String property = "endpoints[" + i + "]";
      String value = given.get(i);
      set(property, value, v -> endpoints.add(hostPort(property, v, -1, Endpoint::of)));
    }
    b.endpoints(endpoints);
    return true;
  }

  /** Parses {@code host:port} ({@code [v6]:port}); without a port, {@code defaultPort} if > 0. */
  private <T> T hostPort(String property, String value, int defaultPort, HostPortFunction<T> make) {
    String v = value.strip();
    int colon = v.lastIndexOf(':');
    // A port follows the last ':' after a bracketed IPv6 address, or the only ':' of anything else.
    boolean hasPort =
        v.startsWith("[") ? colon > v.indexOf(']') : colon > 0 && colon == v.indexOf(':');
    int port = defaultPort;
    if (hasPort) {
      try {
        port = Integer.parseInt(v.substring(colon + 1));
      } catch (NumberFormatException e) {
        port = -1;
      }
    }
    if (port < 1 || port > 65535) {
      throw new InvalidConfigurationPropertyValueException(
          prefix + property, value, "expected host:port, with a port in 1..65535");
    }
    String host = hasPort ? v.substring(0, colon) : v;
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    return make.apply(host, port);
  }

  @FunctionalInterface
  private interface HostPortFunction<T> {
    T apply(String host, int port);
  }

  private boolean dns(LoadBalancers.Builder b) {
    SourceProperties.Dns dns = service.getDns();
    String dnsName = dns.getName();
    if (dnsName == null) {
      if (dns.getPort() != null || dns.isSrv() || !dns.getServers().isEmpty()) {
        throw missing("dns.name", "a DNS source needs the name to look up");
      }
      return false;
    }
    DnsEndpointSource.Builder source;
    if (dns.isSrv()) {
      source = call("dns.name", dnsName, () -> DnsEndpointSource.srv(dnsName));
    } else {
      Integer port = dns.getPort();
      if (port == null) {
        throw missing("dns.port", "A/AAAA records need the port to connect to (1..65535)");
      }
      source =
          call("dns.name", dnsName + ":" + port, () -> DnsEndpointSource.builder(dnsName, port));
    }
    List<String> servers = dns.getServers();
    if (!servers.isEmpty()) {
      List<InetSocketAddress> addresses = new ArrayList<>();
      for (int i = 0; i < servers.size(); i++) {
        addresses.add(
            hostPort("dns.servers[" + i + "]", servers.get(i), 53, InetSocketAddress::new));
      }
      source.servers(addresses);
    }
    b.source(source.build());
    return true;
  }

  /** Makes something from {@code value}; a refused value names the property. */
  private <T> T call(String property, Object value, Supplier<T> make) {
    try {
      return make.get();
    } catch (IllegalArgumentException e) {
      throw new InvalidConfigurationPropertyValueException(
          prefix + property, value, e.getMessage());
    }
  }

  private boolean etcd(LoadBalancers.Builder b, Function<List<String>, EtcdClient> clients) {
    SourceProperties.Etcd etcd = service.getEtcd();
    if (etcd.getUrls().isEmpty()) {
      if (etcd.getService() != null || etcd.getPrefix() != null) {
        throw missing("etcd.urls", "an etcd source needs the members' client URLs");
      }
      return false;
    }
    EtcdClient client = call("etcd.urls", etcd.getUrls(), () -> clients.apply(etcd.getUrls()));
    String registered = etcd.getService() != null ? etcd.getService() : name;
    EtcdEndpointSource.Builder source =
        call("etcd.service", registered, () -> EtcdEndpointSource.builder(client, registered));
    set("etcd.prefix", etcd.getPrefix(), source::prefix);
    b.source(source.build());
    return true;
  }

  private boolean discovery(LoadBalancers.Builder b, @Nullable DiscoverySources sources) {
    SourceProperties.Discovery d = service.getDiscovery();
    String serviceId = d.getServiceId();
    if (serviceId == null) {
      return false;
    }
    if (sources == null) {
      throw new InvalidConfigurationPropertyValueException(
          prefix + "discovery.service-id",
          serviceId,
          "a DiscoveryClient source needs Spring Cloud Commons and a registry's starter (such as"
              + " spring-cloud-starter-zookeeper-discovery) on the class path");
    }
    try {
      b.source(sources.create(serviceId, d.getRefreshInterval()));
    } catch (IllegalArgumentException e) {
      throw new InvalidConfigurationPropertyValueException(
          prefix + "discovery", serviceId + ", " + d.getRefreshInterval(), e.getMessage());
    } catch (IllegalStateException e) {
      throw new InvalidConfigurationPropertyValueException(
          prefix + "discovery.service-id", serviceId, e.getMessage());
    }
    return true;
  }

  private OutlierDetectionConfig outlierDetection() {
    HealthProperties.OutlierDetection o = service.getOutlierDetection();
    if (!o.isEnabled()) {
      return OutlierDetectionConfig.disabled();
    }
    OutlierDetectionConfig.Builder c = OutlierDetectionConfig.defaults().toBuilder();
    String p = "outlier-detection.";
    set(p + "consecutive-failures", o.getConsecutiveFailures(), c::consecutiveFailures);
    set(p + "failure-rate-threshold", o.getFailureRateThreshold(), c::failureRateThreshold);
    set(p + "minimum-calls", o.getMinimumCalls(), c::minimumCalls);
    set(p + "interval", o.getInterval(), c::interval);
    set(p + "base-ejection-time", o.getBaseEjectionTime(), c::baseEjectionTime);
    set(p + "max-ejection-time", o.getMaxEjectionTime(), c::maxEjectionTime);
    set(p + "max-ejection-percent", o.getMaxEjectionPercent(), c::maxEjectionPercent);
    return c.build();
  }

  private void healthChecks(LoadBalancers.Builder b) {
    HealthProperties.HealthCheck h = service.getHealthCheck();
    if (!h.isEnabled()) {
      return;
    }
    HealthCheckConfig.Builder c = HealthCheckConfig.builder();
    String p = "health-check.";
    set(p + "interval", h.getInterval(), c::interval);
    set(p + "timeout", h.getTimeout(), c::timeout);
    set(p + "rise", h.getRise(), c::rise);
    set(p + "fall", h.getFall(), c::fall);
    set(p + "port", h.getPort(), c::port);
    String path = h.getPath();
    if (path == null) {
      if (h.isHttps() || h.getHost() != null) {
        throw missing("health-check.path", "an HTTP check (https, host) needs its path");
      }
      b.healthChecks(TcpHealthChecker.create(), c.build());
      return;
    }
    HttpHealthChecker.Builder http =
        HttpHealthChecker.builder(checkClient.get()).https(h.isHttps());
    set(p + "path", path, http::path);
    String host = h.getHost() != null ? h.getHost() : service.hostOr(name);
    set(p + "host", host, http::host);
    b.healthChecks(http.build(), c.build());
  }

  private RetryPolicy retryPolicy() {
    CallProperties.Retry r = service.getRetry();
    RetryPolicy.Builder c = RetryPolicy.defaults().toBuilder();
    String p = "retry.";
    set(p + "max-attempts", r.getMaxAttempts(), c::maxAttempts);
    if (!r.getRetryableStatuses().isEmpty()) {
      int[] statuses = r.getRetryableStatuses().stream().mapToInt(Integer::intValue).toArray();
      set(p + "retryable-statuses", r.getRetryableStatuses(), v -> c.retryableStatuses(statuses));
    }
    RetryPolicy defaults = RetryPolicy.defaults(); // only the percentage is a property
    set(
        p + "budget-percent",
        r.getBudgetPercent(),
        v -> c.budget(v, defaults.budgetWindow(), defaults.minRetriesPerSecond()));
    set(p + "retry-after-max", r.getRetryAfterMax(), c::retryAfterMax);
    String timeout = r.getAttemptTimeout();
    if (timeout != null) {
      c.attemptTimeout(
          timedOption(
              p + "attempt-timeout",
              timeout,
              "adaptive",
              AttemptTimeout::adaptive,
              "none",
              AttemptTimeout::none,
              AttemptTimeout::fixed));
    }
    String hedging = r.getHedging();
    if (hedging != null) {
      c.hedging(
          timedOption(
              p + "hedging",
              hedging,
              "adaptive",
              Hedging::adaptive,
              "off",
              Hedging::off,
              Hedging::after));
    }
    return c.build();
  }

  /**
   * A property that is one of two words or a duration ({@code 250ms}, {@code 1s}, {@code PT0.25S}):
   * what it names, or a start-up failure naming the property, its value and what is allowed.
   */
  private <T> T timedOption(
      String property,
      String value,
      String word,
      Supplier<T> byWord,
      String otherWord,
      Supplier<T> byOtherWord,
      Function<Duration, T> byDuration) {
    String v = value.trim();
    if (v.equalsIgnoreCase(word)) {
      return byWord.get();
    }
    if (v.equalsIgnoreCase(otherWord)) {
      return byOtherWord.get();
    }
    Duration d;
    try {
      d = DurationStyle.detectAndParse(v);
    } catch (IllegalArgumentException e) {
      throw new InvalidConfigurationPropertyValueException(
          prefix + property,
          value,
          "expected " + word + ", " + otherWord + ", or a duration such as 250ms");
    }
    return call(property, value, () -> byDuration.apply(d));
  }

  private void canary(LoadBalancers.Builder b) {
    CallProperties.Canary canary = service.getCanary();
    String tag = canary.getTag();
    if (tag == null) {
      return;
    }
    int eq = tag.indexOf('=');
    if (eq <= 0 || eq == tag.length() - 1) {
      throw new InvalidConfigurationPropertyValueException(
          prefix + "canary.tag", tag, "expected name=value, such as version=2");
    }
    TrafficSplit split =
        call(
            "canary.tag",
            tag,
            () -> TrafficSplit.toTag(tag.substring(0, eq), tag.substring(eq + 1)));
    TrafficSplit percent =
        call("canary.percent", canary.getPercent(), () -> split.percent(canary.getPercent()));
    Double rollback = canary.getRollbackOnErrors();
    TrafficSplit full =
        rollback == null
            ? percent
            : call("canary.rollback-on-errors", rollback, () -> percent.rollbackOnErrors(rollback));
    b.trafficSplit(full);
  }

  private void subsetting(LoadBalancers.Builder b) {
    CallProperties.Subsetting s = service.getSubsetting();
    Integer size = s.getSize();
    if (size == null) {
      if (s.getInstanceIndex() != null || s.getInstanceCount() != null) {
        throw missing("subsetting.size", "subsetting needs the subset's size");
      }
      return;
    }
    Integer index = s.getInstanceIndex();
    Integer count = s.getInstanceCount();
    if (index == null || count == null) {
      throw missing(
          "subsetting." + (index == null ? "instance-index" : "instance-count"),
          "subsetting needs this instance's position: instance-index and instance-count");
    }
    Subsetting sized = call("subsetting.size", size, () -> Subsetting.size(size));
    b.subsetting(call("subsetting.instance-index", index, () -> sized.instance(index, count)));
  }
}
