package io.loadstar.spring;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;

/** One balanced service: {@code loadstar.services.<name>.*}. */
public class ServiceProperties {

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
  private final SourceProperties.Dns dns = new SourceProperties.Dns();

  /** Endpoints from an etcd registry (backends registered under a lease). */
  private final SourceProperties.Etcd etcd = new SourceProperties.Etcd();

  /** Endpoints from a Spring Cloud DiscoveryClient (Consul, Eureka, Kubernetes, ZooKeeper...). */
  private final SourceProperties.Discovery discovery = new SourceProperties.Discovery();

  /**
   * Whether the service is called over HTTPS. With a client that cannot keep the service's TLS name
   * (see tls-name), start-up then fails unless tls-name is endpoint-address. Defaults to false.
   */
  private boolean https;

  /**
   * The name an endpoint's certificate is checked against. Apache HttpClient 5 always checks the
   * service's host; the JDK client, Jetty, Reactor Netty and HttpURLConnection connect by the
   * endpoint's address and can only check that, so they send HTTPS to this service only when this
   * says endpoint-address (its certificates name their addresses). Defaults to service.
   */
  private TlsName tlsName = TlsName.SERVICE;

  /** How endpoints are chosen. Defaults to least request. */
  private LoadstarProperties.@Nullable Strategy strategy;

  /** The most calls in flight per endpoint (HAProxy's maxconn). Defaults to unlimited. */
  private @Nullable Integer maxInFlightPerEndpoint;

  /**
   * How long a request waits for discovery's first answer while no endpoint is known yet. Defaults
   * to 0.
   */
  private @Nullable Duration selectionTimeout;

  /** New and recovered endpoints ramp up over this window (1s to 1h). Defaults to off. */
  private @Nullable Duration slowStart;

  /** This application's zone, for zone-aware routing. Defaults to the LOADSTAR_ZONE variable. */
  private @Nullable String zone;

  /** Passive outlier detection: endpoints whose real calls fail are ejected for a while. */
  private final HealthProperties.OutlierDetection outlierDetection =
      new HealthProperties.OutlierDetection();

  /** Active health checks. */
  private final HealthProperties.HealthCheck healthCheck = new HealthProperties.HealthCheck();

  /** Retries on another endpoint. */
  private final CallProperties.Retry retry = new CallProperties.Retry();

  /** A canary share: the endpoints with a tag get a percentage of the calls. */
  private final CallProperties.Canary canary = new CallProperties.Canary();

  /** Talk to a subset of the endpoints, chosen from this instance's position. */
  private final CallProperties.Subsetting subsetting = new CallProperties.Subsetting();

  public @Nullable String getHost() {
    return host;
  }

  public void setHost(@Nullable String host) {
    this.host = host;
  }

  /** The URL host whose requests are balanced: {@link #getHost()}, else the service's name. */
  String hostOr(String serviceName) {
    return host != null ? host : serviceName;
  }

  public List<String> getEndpoints() {
    return endpoints;
  }

  public void setEndpoints(List<String> endpoints) {
    this.endpoints = endpoints;
  }

  public SourceProperties.Dns getDns() {
    return dns;
  }

  public SourceProperties.Etcd getEtcd() {
    return etcd;
  }

  public SourceProperties.Discovery getDiscovery() {
    return discovery;
  }

  public boolean isHttps() {
    return https;
  }

  public void setHttps(boolean https) {
    this.https = https;
  }

  public TlsName getTlsName() {
    return tlsName;
  }

  public void setTlsName(TlsName tlsName) {
    this.tlsName = tlsName;
  }

  public LoadstarProperties.@Nullable Strategy getStrategy() {
    return strategy;
  }

  public void setStrategy(LoadstarProperties.@Nullable Strategy strategy) {
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

  public HealthProperties.OutlierDetection getOutlierDetection() {
    return outlierDetection;
  }

  public HealthProperties.HealthCheck getHealthCheck() {
    return healthCheck;
  }

  public CallProperties.Retry getRetry() {
    return retry;
  }

  public CallProperties.Canary getCanary() {
    return canary;
  }

  public CallProperties.Subsetting getSubsetting() {
    return subsetting;
  }

  /** The name an endpoint's TLS certificate is checked against. */
  public enum TlsName {
    /** The service's host, the URL's: what Apache HttpClient 5 checks. */
    SERVICE,
    /** The endpoint's address: for certificates that name their endpoints' addresses. */
    ENDPOINT_ADDRESS
  }
}
