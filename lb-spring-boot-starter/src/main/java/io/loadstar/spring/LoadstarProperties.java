package io.loadstar.spring;

import io.loadstar.api.AttemptTimeout;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
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

  /**
   * The request header that tells a server how long an attempt has, in whole milliseconds, sent
   * with an attempt that is cut at the attempt timeout (an idempotent request another attempt may
   * follow); empty for none.
   */
  private String timeoutHeader = AttemptTimeout.BUDGET_HEADER;

  /** The balanced services, by name. */
  private Map<String, ServiceProperties> services = new LinkedHashMap<>();

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

  public String getTimeoutHeader() {
    return timeoutHeader;
  }

  public void setTimeoutHeader(String timeoutHeader) {
    this.timeoutHeader = timeoutHeader;
  }

  public Map<String, ServiceProperties> getServices() {
    return services;
  }

  public void setServices(Map<String, ServiceProperties> services) {
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
}
