package io.loadstar.core;

import io.loadstar.api.Endpoint;
import io.loadstar.api.EndpointSnapshot;
import io.loadstar.api.LbEventListener;
import io.loadstar.core.internal.Listeners;
import java.util.List;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/*
 * Design notes: what a balancer tells its logs and its event listener, once per episode. Discovery
 * errors are expected network trouble: one WARN when discovery starts failing, DEBUG (with the
 * stack trace) while it goes on, one INFO when it recovers. Panic: one WARN when it starts, one
 * INFO when it ends. A listener that throws is logged and cannot break the balancer.
 */
/** The logs and events of one balancer; the discovery error is read by any thread. */
final class ServiceEvents {

  private static final Logger logger = LoggerFactory.getLogger(ServiceEvents.class);

  private final String service;
  private final LbEventListener listener;
  private volatile @Nullable Throwable discoveryError;

  // Control loop only.
  private boolean degraded;
  private volatile boolean inPanic; // written on the control loop, read by hedges

  ServiceEvents(String service, LbEventListener listener) {
    this.service = service;
    this.listener = listener;
  }

  String service() {
    return service;
  }

  /** Every listener of the balancer, as one. */
  LbEventListener listener() {
    return listener;
  }

  /** The last discovery error, or null once discovery answered again; any thread. */
  @Nullable Throwable discoveryError() {
    return discoveryError;
  }

  /** {@code reason} with the last discovery error, for a failed pick's message; any thread. */
  String withDiscoveryError(String reason) {
    Throwable error = discoveryError;
    return error != null ? reason + "; last discovery error: " + error : reason;
  }

  /**
   * A pick failed; any thread. Listeners.notify written out: a picker calls it, and a lambda
   * capturing the reason would allocate on every failed pick.
   */
  void pickFailed(String reason) {
    try {
      listener.pickFailed(service, reason);
    } catch (RuntimeException e) {
      logger.warn("[{}] event listener {} threw", service, listener, e);
    }
  }

  /** Discovery failed; {@code known} endpoints are kept. */
  void discoveryFailed(Throwable error, int known) {
    discoveryError = error;
    if (!degraded) {
      degraded = true;
      if (known == 0) {
        logger.warn("[{}] discovery failed, no endpoints known yet: {}", service, error.toString());
      } else {
        logger.warn(
            "[{}] discovery failed; keeping the last {} endpoints: {}",
            service,
            known,
            error.toString());
      }
      logger.debug("[{}] discovery error", service, error);
    } else {
      logger.debug("[{}] discovery still failing: {}", service, error.toString());
    }
    notify(() -> listener.discoveryFailed(service, error));
  }

  /** Discovery answered with {@code count} endpoints (changed or not). */
  void discoveryAnswered(int count) {
    if (degraded) {
      degraded = false;
      logger.info("[{}] discovery recovered: {} endpoints", service, count);
      notify(() -> listener.discoveryRecovered(service, count));
    }
    discoveryError = null;
  }

  /**
   * Discovery failed ({@code error}) or answered with none (null) for longer than the balancer
   * keeps its last endpoints: the {@code count} it had are dropped.
   */
  void lastEndpointsDropped(int count, long keptNanos, @Nullable Throwable error) {
    discoveryError = error;
    degraded = error != null;
    logger.warn(
        "[{}] discovery {} no endpoints {}; dropping the last {}{}",
        service,
        keptNanos == 0 ? "answered with" : "has answered with",
        keptNanos == 0
            ? "(keepLastEndpoints is 0)"
            : "for longer than keepLastEndpoints (" + keptNanos / 1_000_000_000L + " s)",
        count,
        error != null ? ": " + error : "");
    if (error != null) {
      notify(() -> listener.discoveryFailed(service, error));
    }
  }

  /**
   * Discovery's answer that there is no endpoint, for {@code reason} (may be empty), as the error
   * messages name: with {@code kept} endpoints kept, or none.
   */
  static IllegalStateException noEndpoints(String reason, int kept) {
    return new IllegalStateException(
        kept > 0
            ? "discovery returned no endpoints"
                + (reason.isEmpty() ? "" : " (" + reason + ")")
                + "; keeping the last "
                + kept
            : "discovery answered with no endpoints" + (reason.isEmpty() ? "" : ": " + reason));
  }

  void endpointsUpdated(int added, int removed, List<Endpoint> endpoints) {
    logger.info(
        "[{}] endpoints updated: {} added, {} removed, {} total",
        service,
        added,
        removed,
        endpoints.size());
    notify(() -> listener.endpointsUpdated(service, endpoints));
  }

  /** Whether the last published snapshot was in panic. */
  boolean inPanic() {
    return inPanic;
  }

  /** The published snapshot is in panic for {@code reason}, or not (null). */
  void panic(@Nullable String reason, boolean failFast) {
    boolean now = reason != null;
    if (now == inPanic) {
      return;
    }
    inPanic = now;
    if (now) {
      logger.warn(
          "[{}] panic: {}; {}",
          service,
          reason,
          failFast ? "failing picks" : "spreading picks over all endpoints");
    } else {
      logger.info("[{}] panic over", service);
    }
    String r = now ? reason : "";
    notify(() -> listener.panicChanged(service, now, r));
  }

  void canaryRolledBack(String reason) {
    logger.warn("[{}] canary rolled back to 0%: {}", service, reason);
    notify(() -> listener.canaryRolledBack(service, reason));
  }

  void stateChanged(Endpoint endpoint, EndpointSnapshot.State state, String reason) {
    notify(() -> listener.endpointStateChanged(service, endpoint, state, reason));
  }

  private void notify(Runnable call) {
    Listeners.notify(logger, service, listener, call);
  }
}
