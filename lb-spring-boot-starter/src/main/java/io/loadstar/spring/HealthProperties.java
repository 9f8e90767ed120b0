package io.loadstar.spring;

import java.time.Duration;
import org.jspecify.annotations.Nullable;

/** How a service's endpoints are judged: outlier detection on real calls, active checks. */
public final class HealthProperties {

  private HealthProperties() {}

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
}
