package io.loadstar.spring;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * Loadstar's configuration: {@code loadstar.services.<name>.*}, one entry per balanced service.
 * Unknown properties fail start-up, naming the property; values outside their range fail it naming
 * the property, the value and the range. Properties left unset take the library's defaults (least
 * request, outlier detection on, 3 attempts within a 20% retry budget).
 */
@ConfigurationProperties(prefix = "loadstar", ignoreUnknownFields = false)
public class LoadstarProperties {

  /** Whether Loadstar's auto-configuration is on. */
  private boolean enabled = true;

  /**
   * How long start-up waits, per service, for discovery's first answer (a DNS lookup, an etcd
   * read), so that the first requests find endpoints; a service not ready by then is logged and its
   * requests wait or fail as its balancer's selection timeout says.
   */
  private Duration startupWait = Duration.ofSeconds(5);

  /** The balanced services, by name. */
  private Map<String, Service> services = new LinkedHashMap<>();

  public boolean isEnabled() {
    return enabled;
  }

  public void setEnabled(boolean enabled) {
    this.enabled = enabled;
  }

  public Duration getStartupWait() {
    return startupWait;
  }

  public void setStartupWait(Duration startupWait) {
    this.startupWait = startupWait;
  }

  public Map<String, Service> getServices() {
    return services;
  }

  public void setServices(Map<String, Service> services) {
    this.services = services;
  }

  /** How selection chooses among usable endpoints. */
  public enum Strategy {
    /** Least request over two random choices, weight-aware: survives a slow endpoint. */
    LEAST_REQUEST,
    /** Smooth weighted round robin. */
    ROUND_ROBIN,
    /** Weighted random. */
    RANDOM,
    /** Peak EWMA: latency-aware. */
    PEAK_EWMA,
    /** Consistent hashing on a ring, by the request's hash key. */
    RING_HASH,
    /** Consistent hashing with Maglev's table, by the request's hash key. */
    MAGLEV
  }

  /** One balanced service. */
  public static class Service {

    /**
     * The URL host whose requests are balanced, such as {@code orders.internal}. Defaults to the
     * service's name.
     */
    private @Nullable String host;

    /**
     * A fixed list of endpoints, each {@code host:port} (an IPv6 address in brackets). One of
     * endpoints, dns, etcd or discovery is required.
     */
    private List<String> endpoints = new ArrayList<>();

    /** Endpoints from DNS (A/AAAA or SRV records, followed at their TTL). */
    private final Dns dns = new Dns();

    /** Endpoints from an etcd registry (backends registered under a lease). */
    private final Etcd etcd = new Etcd();

    /** Endpoints from a Spring Cloud DiscoveryClient (Consul, Eureka, Kubernetes, ZooKeeper...). */
    private final Discovery discovery = new Discovery();

    /** How endpoints are chosen. Defaults to least request. */
    private @Nullable Strategy strategy;

    /** The most calls in flight per endpoint (HAProxy's maxconn). Defaults to unlimited. */
    private @Nullable Integer maxInFlightPerEndpoint;

    /**
     * How long a request waits for discovery's first answer while no endpoint is known yet.
     * Defaults to 0.
     */
    private @Nullable Duration selectionTimeout;

    /** New and recovered endpoints ramp up over this window (1s to 1h). Defaults to off. */
    private @Nullable Duration slowStart;

    /** This application's zone, for zone-aware routing. Defaults to the LOADSTAR_ZONE variable. */
    private @Nullable String zone;

    /** Passive outlier detection: endpoints whose real calls fail are ejected for a while. */
    private final OutlierDetection outlierDetection = new OutlierDetection();

    /** Active health checks. */
    private final HealthCheck healthCheck = new HealthCheck();

    /** Retries on another endpoint. */
    private final Retry retry = new Retry();

    /** A canary share: the endpoints with a tag get a percentage of the calls. */
    private final Canary canary = new Canary();

    /** Talk to a subset of the endpoints, chosen from this instance's position. */
    private final SubsettingProperties subsetting = new SubsettingProperties();

    public @Nullable String getHost() {
      return host;
    }

    public void setHost(@Nullable String host) {
      this.host = host;
    }

    public List<String> getEndpoints() {
      return endpoints;
    }

    public void setEndpoints(List<String> endpoints) {
      this.endpoints = endpoints;
    }

    public Dns getDns() {
      return dns;
    }

    public Etcd getEtcd() {
      return etcd;
    }

    public Discovery getDiscovery() {
      return discovery;
    }

    public @Nullable Strategy getStrategy() {
      return strategy;
    }

    public void setStrategy(@Nullable Strategy strategy) {
      this.strategy = strategy;
    }

    public @Nullable Integer getMaxInFlightPerEndpoint() {
      return maxInFlightPerEndpoint;
    }

    public void setMaxInFlightPerEndpoint(@Nullable Integer maxInFlightPerEndpoint) {
      this.maxInFlightPerEndpoint = maxInFlightPerEndpoint;
    }

    public @Nullable Duration getSelectionTimeout() {
      return selectionTimeout;
    }

    public void setSelectionTimeout(@Nullable Duration selectionTimeout) {
      this.selectionTimeout = selectionTimeout;
    }

    public @Nullable Duration getSlowStart() {
      return slowStart;
    }

    public void setSlowStart(@Nullable Duration slowStart) {
      this.slowStart = slowStart;
    }

    public @Nullable String getZone() {
      return zone;
    }

    public void setZone(@Nullable String zone) {
      this.zone = zone;
    }

    public OutlierDetection getOutlierDetection() {
      return outlierDetection;
    }

    public HealthCheck getHealthCheck() {
      return healthCheck;
    }

    public Retry getRetry() {
      return retry;
    }

    public Canary getCanary() {
      return canary;
    }

    public SubsettingProperties getSubsetting() {
      return subsetting;
    }
  }

  /** A DNS source. */
  public static class Dns {

    /** The name to look up: A/AAAA records, or SRV records when srv is true. */
    private @Nullable String name;

    /** The port of the A/AAAA records' addresses (SRV records carry their own). */
    private @Nullable Integer port;

    /** Whether name is an SRV name (such as _http._tcp.orders.internal). */
    private boolean srv;

    /** The DNS servers, each host or host:port. Defaults to the system's (/etc/resolv.conf). */
    private List<String> servers = new ArrayList<>();

    public @Nullable String getName() {
      return name;
    }

    public void setName(@Nullable String name) {
      this.name = name;
    }

    public @Nullable Integer getPort() {
      return port;
    }

    public void setPort(@Nullable Integer port) {
      this.port = port;
    }

    public boolean isSrv() {
      return srv;
    }

    public void setSrv(boolean srv) {
      this.srv = srv;
    }

    public List<String> getServers() {
      return servers;
    }

    public void setServers(List<String> servers) {
      this.servers = servers;
    }
  }

  /** An etcd registry source. */
  public static class Etcd {

    /** The etcd members' client URLs, such as http://10.0.0.1:2379. */
    private List<String> urls = new ArrayList<>();

    /** The service's name in the registry. Defaults to the service's name here. */
    private @Nullable String service;

    /** The key prefix to follow. Defaults to /loadstar/services/{service}/. */
    private @Nullable String prefix;

    public List<String> getUrls() {
      return urls;
    }

    public void setUrls(List<String> urls) {
      this.urls = urls;
    }

    public @Nullable String getService() {
      return service;
    }

    public void setService(@Nullable String service) {
      this.service = service;
    }

    public @Nullable String getPrefix() {
      return prefix;
    }

    public void setPrefix(@Nullable String prefix) {
      this.prefix = prefix;
    }
  }

  /** A Spring Cloud DiscoveryClient source. */
  public static class Discovery {

    /** The service's id in the registry. Setting it turns the source on. */
    private @Nullable String serviceId;

    /**
     * How often the instances are read again (100ms to 1h); a registry that announces changes is
     * read at once too.
     */
    private Duration refreshInterval = Duration.ofSeconds(5);

    public @Nullable String getServiceId() {
      return serviceId;
    }

    public void setServiceId(@Nullable String serviceId) {
      this.serviceId = serviceId;
    }

    public Duration getRefreshInterval() {
      return refreshInterval;
    }

    public void setRefreshInterval(Duration refreshInterval) {
      this.refreshInterval = refreshInterval;
    }
  }

  /** Outlier detection; each property left unset keeps the library's default. */
  public static class OutlierDetection {

    /** Whether outlier detection is on. */
    private boolean enabled = true;

    /** Failures in a row that eject (0: off). Defaults to 5. */
    private @Nullable Integer consecutiveFailures;

    /** Failure rate over an interval that ejects, in percent (0: off). Defaults to 50. */
    private @Nullable Integer failureRateThreshold;

    /** Calls an interval needs before its failure rate counts. Defaults to 20. */
    private @Nullable Integer minimumCalls;

    /** The failure-rate interval. Defaults to 10s. */
    private @Nullable Duration interval;

    /** The first ejection's length, doubled on each repeat. Defaults to 30s. */
    private @Nullable Duration baseEjectionTime;

    /** The longest ejection. Defaults to 300s. */
    private @Nullable Duration maxEjectionTime;

    /** The most endpoints ejected at once, in percent. Defaults to 10 (one is always allowed). */
    private @Nullable Integer maxEjectionPercent;

    public boolean isEnabled() {
      return enabled;
    }

    public void setEnabled(boolean enabled) {
      this.enabled = enabled;
    }

    public @Nullable Integer getConsecutiveFailures() {
      return consecutiveFailures;
    }

    public void setConsecutiveFailures(@Nullable Integer consecutiveFailures) {
      this.consecutiveFailures = consecutiveFailures;
    }

    public @Nullable Integer getFailureRateThreshold() {
      return failureRateThreshold;
    }

    public void setFailureRateThreshold(@Nullable Integer failureRateThreshold) {
      this.failureRateThreshold = failureRateThreshold;
    }

    public @Nullable Integer getMinimumCalls() {
      return minimumCalls;
    }

    public void setMinimumCalls(@Nullable Integer minimumCalls) {
      this.minimumCalls = minimumCalls;
    }

    public @Nullable Duration getInterval() {
      return interval;
    }

    public void setInterval(@Nullable Duration interval) {
      this.interval = interval;
    }

    public @Nullable Duration getBaseEjectionTime() {
      return baseEjectionTime;
    }

    public void setBaseEjectionTime(@Nullable Duration baseEjectionTime) {
      this.baseEjectionTime = baseEjectionTime;
    }

    public @Nullable Duration getMaxEjectionTime() {
      return maxEjectionTime;
    }

    public void setMaxEjectionTime(@Nullable Duration maxEjectionTime) {
      this.maxEjectionTime = maxEjectionTime;
    }

    public @Nullable Integer getMaxEjectionPercent() {
      return maxEjectionPercent;
    }

    public void setMaxEjectionPercent(@Nullable Integer maxEjectionPercent) {
      this.maxEjectionPercent = maxEjectionPercent;
    }
  }

  /** Active health checks (HAProxy's check inter/rise/fall/port): TCP, or HTTP with a path. */
  public static class HealthCheck {

    /** Whether endpoints are probed: a TCP connect to each, or an HTTP GET when path is set. */
    private boolean enabled;

    /** The HTTP path to GET (2xx and 3xx pass); unset: a TCP connect. */
    private @Nullable String path;

    /** Whether the HTTP check uses TLS. */
    private boolean https;

    /** The HTTP check's Host header and TLS name. Defaults to the service's host. */
    private @Nullable String host;

    /** Between probes. Defaults to 2s. */
    private @Nullable Duration interval;

    /** One probe's limit. Defaults to 1s. */
    private @Nullable Duration timeout;

    /** Passing probes in a row to become healthy. Defaults to 2. */
    private @Nullable Integer rise;

    /** Failing probes in a row to become unhealthy. Defaults to 3. */
    private @Nullable Integer fall;

    /** A separate check port. Defaults to the endpoint's. */
    private @Nullable Integer port;

    public boolean isEnabled() {
      return enabled;
    }

    public void setEnabled(boolean enabled) {
      this.enabled = enabled;
    }

    public @Nullable String getPath() {
      return path;
    }

    public void setPath(@Nullable String path) {
      this.path = path;
    }

    public boolean isHttps() {
      return https;
    }

    public void setHttps(boolean https) {
      this.https = https;
    }

    public @Nullable String getHost() {
      return host;
    }

    public void setHost(@Nullable String host) {
      this.host = host;
    }

    public @Nullable Duration getInterval() {
      return interval;
    }

    public void setInterval(@Nullable Duration interval) {
      this.interval = interval;
    }

    public @Nullable Duration getTimeout() {
      return timeout;
    }

    public void setTimeout(@Nullable Duration timeout) {
      this.timeout = timeout;
    }

    public @Nullable Integer getRise() {
      return rise;
    }

    public void setRise(@Nullable Integer rise) {
      this.rise = rise;
    }

    public @Nullable Integer getFall() {
      return fall;
    }

    public void setFall(@Nullable Integer fall) {
      this.fall = fall;
    }

    public @Nullable Integer getPort() {
      return port;
    }

    public void setPort(@Nullable Integer port) {
      this.port = port;
    }
  }

  /** Retries on another endpoint. */
  public static class Retry {

    /** Attempts per call, the first included (1: no retries). Defaults to 3. */
    private @Nullable Integer maxAttempts;

    /** Statuses retried for idempotent requests. Defaults to 502, 503, 504. */
    private List<Integer> retryableStatuses = new ArrayList<>();

    /** Retries allowed per calls in the budget's window, in percent. Defaults to 20. */
    private @Nullable Integer budgetPercent;

    /** The longest Retry-After honoured. Defaults to 1s. */
    private @Nullable Duration retryAfterMax;

    public @Nullable Integer getMaxAttempts() {
      return maxAttempts;
    }

    public void setMaxAttempts(@Nullable Integer maxAttempts) {
      this.maxAttempts = maxAttempts;
    }

    public List<Integer> getRetryableStatuses() {
      return retryableStatuses;
    }

    public void setRetryableStatuses(List<Integer> retryableStatuses) {
      this.retryableStatuses = retryableStatuses;
    }

    public @Nullable Integer getBudgetPercent() {
      return budgetPercent;
    }

    public void setBudgetPercent(@Nullable Integer budgetPercent) {
      this.budgetPercent = budgetPercent;
    }

    public @Nullable Duration getRetryAfterMax() {
      return retryAfterMax;
    }

    public void setRetryAfterMax(@Nullable Duration retryAfterMax) {
      this.retryAfterMax = retryAfterMax;
    }
  }

  /** A canary split. */
  public static class Canary {

    /** The canary endpoints' tag, name=value (for example version=2). Off when unset. */
    private @Nullable String tag;

    /** The canary's share of calls, in percent. */
    private double percent;

    /** Roll back to 0% when the canary fails more than the stable endpoints by these points. */
    private @Nullable Double rollbackOnErrors;

    public @Nullable String getTag() {
      return tag;
    }

    public void setTag(@Nullable String tag) {
      this.tag = tag;
    }

    public double getPercent() {
      return percent;
    }

    public void setPercent(double percent) {
      this.percent = percent;
    }

    public @Nullable Double getRollbackOnErrors() {
      return rollbackOnErrors;
    }

    public void setRollbackOnErrors(@Nullable Double rollbackOnErrors) {
      this.rollbackOnErrors = rollbackOnErrors;
    }
  }

  /** Deterministic subsetting by a fixed position. */
  public static class SubsettingProperties {

    /** Endpoints per client. Off when unset. */
    private @Nullable Integer size;

    /** This instance's position among the clients, from 0. */
    private @Nullable Integer instanceIndex;

    /** How many clients there are. */
    private @Nullable Integer instanceCount;

    public @Nullable Integer getSize() {
      return size;
    }

    public void setSize(@Nullable Integer size) {
      this.size = size;
    }

    public @Nullable Integer getInstanceIndex() {
      return instanceIndex;
    }

    public void setInstanceIndex(@Nullable Integer instanceIndex) {
      this.instanceIndex = instanceIndex;
    }

    public @Nullable Integer getInstanceCount() {
      return instanceCount;
    }

    public void setInstanceCount(@Nullable Integer instanceCount) {
      this.instanceCount = instanceCount;
    }
  }
}
