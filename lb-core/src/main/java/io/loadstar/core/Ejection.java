package io.loadstar.core;

import org.jspecify.annotations.Nullable;

/*
 * Design notes: the outlier state of one endpoint, kept with its EndpointState and written only by
 * its balancer's OutlierDetector on the control loop. What other threads read (snapshot(), the
 * snapshot builder) is published as immutable values through two volatile fields, so a reader sees
 * an ejection's cause, words, end and length together: the ejection in force, and the ejection the
 * max-ejection cap refused. The rest (the backoff count, probe passes, trial successes, the sweep's
 * last counts, the timer) is the detector's alone.
 */
/** One endpoint's ejection state; written by its balancer's {@link OutlierDetector} only. */
final class Ejection {

  /** Why an endpoint is to be ejected, and whether only connect failures were behind it. */
  record Cause(String why, boolean connectOnly) {}

  /** An ejection in force: its cause, the words snapshot() shows, when it ends, how long it is. */
  record InForce(Cause cause, String reason, long untilNanos, long forNanos) {}

  /** An ejection the cap refused: its cause and the words snapshot() shows. */
  record Refused(Cause cause, String shown) {}

  /** The ejection in force, or null; any thread reads it. */
  volatile @Nullable InForce inForce;

  /** The ejection the cap refused while the failures go on, or null; any thread reads it. */
  volatile @Nullable Refused refused;

  // The detector's alone (control loop).
  /** Passing health checks in a row while ejected; {@code rise} of them end the ejection. */
  int passesWhileEjected;

  /** Ejections since the count last started over: the backoff's exponent. */
  int ejections;

  /** When trial calls last passed; valid only when {@code restored} is true. */
  long lastRestoredNanos;

  boolean restored;
  int trialSuccesses;
  @Nullable ControlTimer timer; // the end of the ejection in force
  long sweepSuccesses;
  long sweepFailures;
  long sweepRequestFailures;
  long sweepSlowCalls;

  /** Whether the endpoint is ejected now; any thread. */
  boolean isEjected() {
    return inForce != null;
  }

  /** Why it is ejected, or empty; any thread. */
  String reason() {
    InForce e = inForce;
    return e == null ? "" : e.reason();
  }

  /** Why it should be ejected and is not (the cap refused), or empty; any thread. */
  String refused() {
    Refused r = refused;
    return r == null ? "" : r.shown();
  }
}
