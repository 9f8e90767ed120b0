package io.loadstar.spring;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;

/** What a service's calls do beyond the pick: retries, a canary share, subsetting. */
public final class CallProperties {

  private CallProperties() {}

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

    /**
     * How long an attempt that could be retried waits for its answer before the call goes on to
     * another endpoint: {@code adaptive} (4 x the service's recent p99, at least 100ms; 1s until 20
     * successes are measured), {@code none}, or a fixed duration such as {@code 250ms}. Defaults to
     * adaptive.
     */
    private @Nullable String attemptTimeout;

    /**
     * When an idempotent call sends a second attempt to another endpoint while its first waits:
     * {@code off}, {@code adaptive} (at the service's recent p95), or a fixed delay such as {@code
     * 50ms}. The first answer wins; hedges count against the retry budget. Defaults to off.
     */
    private @Nullable String hedging;

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

    public @Nullable String getAttemptTimeout() {
      return attemptTimeout;
    }

    public void setAttemptTimeout(@Nullable String attemptTimeout) {
      this.attemptTimeout = attemptTimeout;
    }

    public @Nullable String getHedging() {
      return hedging;
    }

    public void setHedging(@Nullable String hedging) {
      this.hedging = hedging;
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
  public static class Subsetting {

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
