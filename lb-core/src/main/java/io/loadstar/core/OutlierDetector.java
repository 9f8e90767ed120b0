package io.loadstar.core;

import io.github.resilience4j.core.IntervalFunction;
import io.loadstar.api.CallFailure;
import io.loadstar.api.EndpointSnapshot;
import io.loadstar.api.HealthChecker;
import io.loadstar.api.Ticker;
import io.loadstar.core.internal.SerialExecutor;
import java.util.Collection;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/*
 * Design notes: passive health, Envoy's outlier detection. EndpointState counts on the hot path
 * and signals threshold crossings (OutlierSignals); every decision is taken here, on the
 * balancer's control loop: the max-ejection cap, the ejection time from Resilience4j's exponential
 * backoff (jittered from the balancer's seed), trial calls after an ejection, the failure-rate
 * sweep, and the end of an ejection by health checks (HAProxy's rise). The per-endpoint state of
 * all that is an Ejection, written only here.
 *
 * Time: every interval is a difference of two readings of the balancer's Ticker, never a reading
 * compared with a constant (System.nanoTime() counts from an arbitrary origin, and may be
 * negative). Ejection times double with each ejection (base, 2 x base, 4 x base, ... up to the
 * maximum, +-20% jitter); the count starts over only once the endpoint has served a whole
 * maxEjectionTime since its last ejection ended with passed trial calls.
 *
 * Evidence has a layer: an ejection remembers whether every failure behind it was a connect
 * failure (the request never sent). A probe ends an ejection only if it tests that layer: a TCP
 * connect (HealthChecker.Layer.CONNECT, on the endpoint's own port) ends an ejection for connect
 * failures; a request-level check (an HTTP 2xx) ends any. A passing TCP connect says nothing about
 * the 503s or timeouts real calls saw.
 *
 * Old failures do not eject: an ejection, its end, and a whole sweep interval without a counted
 * failure each start the consecutive count over and forget an ejection the cap refused. So an
 * endpoint that went last (see SnapshotBuilder) and recovered is back after at most two clean
 * intervals, and is not ejected later for failures from before them.
 *
 * Resilience4j's CircuitBreaker is not used per call: its sliding windows take a lock (or allocate
 * a node and a snapshot) on every recorded outcome, which the hot path must not do.
 */
/** Outlier detection and ejection for one balancer; control loop only, unless said otherwise. */
final class OutlierDetector implements OutlierSignals {

  private static final Logger logger = LoggerFactory.getLogger(OutlierDetector.class);

  private final String name;
  private final OutlierDetectionConfig config;
  private final IntervalFunction backoff;
  private final SplittableRandom random;
  private final Ticker ticker;
  private final SerialExecutor controlLoop;
  private final BalancerHost host;
  private final ControlTimer sweepTimer; // every interval: rates, and clean intervals
  private boolean closed; // control loop only
  private boolean inPanic; // the last published snapshot's; control loop only

  OutlierDetector(OutlierDetectionConfig config, long seed, BalancerHost host) {
    this.name = host.name();
    this.config = config;
    this.backoff =
        IntervalFunction.ofExponentialBackoff(
            config.baseEjectionTime(), 2.0, config.maxEjectionTime());
    this.random = new SplittableRandom(seed ^ 0x454a454354L);
    this.ticker = host.ticker();
    this.controlLoop = host.controlLoop();
    this.host = host;
    this.sweepTimer = new ControlTimer(host::scheduler, controlLoop, ticker, this::sweep);
  }

  OutlierDetectionConfig config() {
    return config;
  }

  // ---- signals from the hot path (request threads): handed off to the control loop ----

  @Override
  public void consecutiveFailures(EndpointState state) {
    controlLoop.handOff(() -> onConsecutiveFailures(state));
  }

  @Override
  public void failureRunEnded(EndpointState state) {
    controlLoop.handOff(() -> clearRefusedEjection(state));
  }

  @Override
  public void trialOutcome(EndpointState state, boolean success) {
    controlLoop.handOff(() -> onTrialOutcome(state, success));
  }

  // ---- control loop ----

  /**
   * Starts the sweep: every interval it checks failure and slow-call rates (if on) and forgets the
   * failures of endpoints that had none over a whole interval.
   */
  void start() {
    scheduleSweep();
  }

  /** Cancels the sweep and every ejection timer. */
  void close(Collection<EndpointState> states) {
    closed = true;
    sweepTimer.cancel();
    for (EndpointState state : states) {
      cancelTimer(state.ejection);
    }
  }

  /** An endpoint is no longer listed: its ejection timer goes. */
  void removed(EndpointState state) {
    cancelTimer(state.ejection);
  }

  /** The list changed: the cap is a share of the listed endpoints, so it may have room now. */
  void listChanged() {
    retryRefusedEjections();
  }

  /**
   * A health check result for an ejected endpoint: {@code rise} passes in a row end the ejection
   * (HAProxy's rise: one passing probe does not outweigh the calls that failed).
   */
  void onProbe(EndpointState state, boolean passed, int rise, HealthChecker.Layer layer, int port) {
    Ejection e = state.ejection;
    Ejection.InForce ejection = e.inForce;
    if (ejection == null) {
      return;
    }
    boolean testsTheFailure =
        layer == HealthChecker.Layer.REQUEST
            || (ejection.cause().connectOnly() && (port == 0 || port == state.endpoint().port()));
    if (!testsTheFailure) {
      return; // a TCP connect says nothing about 5xx responses or timeouts: the time decides
    }
    e.passesWhileEjected = passed ? e.passesWhileEjected + 1 : 0;
    if (e.passesWhileEjected >= rise) {
      endEjection(state, rise + (rise == 1 ? " health check" : " health checks") + " passed");
    }
  }

  private void onConsecutiveFailures(EndpointState state) {
    if (!host.isCurrent(state) || state.probation) {
      return;
    }
    if (state.ejection.isEjected()) {
      holdWhileEjected(state); // calls in flight at the ejection failed: the hold they set stays
      return;
    }
    int n = state.consecutiveFailures();
    if (n < config.consecutiveFailures()) {
      state.setTrialPermits(-1); // a success came in meanwhile: picks may go to it again
      return;
    }
    eject(
        state,
        new Ejection.Cause(
            n + " consecutive " + describe(state.lastCountedFailure()),
            !state.requestFailureInRun()));
  }

  /** A success ended the failures an ejection was refused for. */
  private void clearRefusedEjection(EndpointState state) {
    if (host.isCurrent(state) && state.ejection.refused != null) {
      logger.info("[{}] {} answers again; its failures stopped", name, state.endpoint());
      state.ejection.refused = null;
      host.republish(); // zone routing counts it as capacity again
    }
  }

  /**
   * Ejects endpoints the cap refused while they still fail, now that the cap may have room. A
   * refusal is forgotten after a success or a clean interval, so only recent failures count.
   */
  private void retryRefusedEjections() {
    for (EndpointState s : host.states()) {
      Ejection.Refused refused = s.ejection.refused;
      if (!s.ejection.isEjected()
          && !s.probation
          && refused != null
          && s.consecutiveFailures() > 0) {
        eject(s, refused.cause());
      }
    }
  }

  private static String describe(@Nullable CallFailure failure) {
    if (failure == null) {
      return "failures";
    }
    switch (failure.kind()) {
      case NOT_SENT:
        return "connect failures";
      case RESPONSE_STATUS:
        return "5xx responses";
      default:
        return "failures";
    }
  }

  private void scheduleSweep() {
    sweepTimer.runAfter(config.interval().toNanos());
  }

  /** Every interval: eject endpoints whose failure or slow-call rate over it is too high. */
  private void sweep() {
    if (closed) {
      return;
    }
    boolean changed = false;
    for (EndpointState state : host.states()) {
      Ejection e = state.ejection;
      int run = state.consecutiveFailures();
      long ok = state.successes();
      long failed = state.countedFailures();
      long requestFailed = state.requestFailures();
      long slow = state.slowCalls();
      long okNow = ok - e.sweepSuccesses;
      long failedNow = failed - e.sweepFailures;
      long requestFailedNow = requestFailed - e.sweepRequestFailures;
      long slowNow = slow - e.sweepSlowCalls;
      long calls = okNow + failedNow;
      e.sweepSuccesses = ok;
      e.sweepFailures = failed;
      e.sweepRequestFailures = requestFailed;
      e.sweepSlowCalls = slow;
      if (e.isEjected() || state.probation) {
        continue;
      }
      if (failedNow == 0) {
        // A whole interval without a counted failure: older failures no longer count, and an
        // endpoint that went last because the cap refused its ejection serves again.
        if (run > 0) {
          state.resetConsecutiveFailures(run);
        }
        if (e.refused != null) {
          e.refused = null;
          logger.info(
              "[{}] {} had no failure for {} s: it serves again",
              name,
              state.endpoint(),
              config.interval().toSeconds());
          changed = true;
        }
      }
      int slowThreshold = config.slowCallRateThreshold();
      if (slowThreshold > 0
          && okNow >= config.minimumCalls()
          && slowNow * 100 >= (long) slowThreshold * okNow) {
        String why =
            (slowNow * 100 / okNow)
                + "% of "
                + okNow
                + " calls took "
                + config.slowCallDuration().toMillis()
                + " ms or longer in "
                + config.interval().toSeconds()
                + " s";
        eject(state, new Ejection.Cause(why, false));
        continue;
      }
      if (config.failureRateThreshold() == 0 || failedNow == 0 || calls < config.minimumCalls()) {
        continue;
      }
      if (failedNow * 100 >= (long) config.failureRateThreshold() * calls) {
        String why =
            (failedNow * 100 / calls)
                + "% of "
                + calls
                + " calls failed in "
                + config.interval().toSeconds()
                + " s";
        eject(state, new Ejection.Cause(why, requestFailedNow == 0));
      }
    }
    if (changed) {
      host.republish();
    }
    scheduleSweep();
  }

  /** Ejects {@code state} for {@code cause}, unless the cap refuses. */
  private void eject(EndpointState state, Ejection.Cause cause) {
    String why = cause.why();
    Collection<EndpointState> all = host.states();
    int ejectedNow = 0;
    for (EndpointState s : all) {
      ejectedNow += s.ejection.isEjected() ? 1 : 0;
    }
    Ejection e = state.ejection;
    if (ejectedNow >= config.maxEjected(all.size())) {
      String refused =
          "failing ("
              + why
              + "), not ejected: "
              + ejectedNow
              + " of "
              + all.size()
              + " endpoints already ejected, the most maxEjectionPercent "
              + config.maxEjectionPercent()
              + " allows";
      boolean first = e.refused == null;
      e.refused = new Ejection.Refused(cause, refused);
      // Held back by the failure that asked: picks may go to it again once it goes last.
      Runnable release = () -> releaseHold(state);
      if (first) {
        logger.warn("[{}] {} {}", name, state.endpoint(), refused);
        host.republishThen(release); // goes last; zone routing no longer counts it as capacity
      } else {
        logger.debug("[{}] {} {}", name, state.endpoint(), refused);
        release.run(); // going last in the published snapshot already
      }
      return;
    }
    long now = ticker.nanoTime();
    if (e.restored && now - e.lastRestoredNanos >= config.maxEjectionTime().toNanos()) {
      e.ejections = 0; // served a whole maxEjectionTime since its last ejection: start over
    }
    e.restored = false;
    if (e.ejections < 64) {
      e.ejections++;
    }
    // Resilience4j's exponential interval, jittered +-20% from the balancer's seed (its own
    // random variant draws from Math.random, which a seeded test cannot repeat).
    long millis =
        Math.min(
            Math.round(backoff.apply(e.ejections) * (0.8 + 0.4 * random.nextDouble())),
            config.maxEjectionTime().toMillis());
    String reason = "ejected: " + why + ", for " + Math.round(millis / 1000.0) + " s";
    long forNanos = TimeUnit.MILLISECONDS.toNanos(millis);
    e.inForce = new Ejection.InForce(cause, reason, now + forNanos, forNanos);
    e.refused = null;
    e.passesWhileEjected = 0;
    state.probation = false;
    state.resetConsecutiveFailures();
    cancelTimer(e);
    e.timer =
        new ControlTimer(
            host::scheduler, controlLoop, ticker, () -> endEjection(state, "ejection time over"));
    e.timer.runAfter(forNanos);
    logger.warn("[{}] {} {}", name, state.endpoint(), reason);
    // Held while ejected: a pick that read the snapshot before this one was published cannot take
    // it, however late it runs. Panic, which may pick ejected endpoints, lets the hold go
    // (publish).
    state.holdBack();
    host.republish();
    host.stateChanged(state.endpoint(), EndpointSnapshot.State.EJECTED, reason);
  }

  /**
   * Ends the hold the failure at the threshold put on new picks (and a trial's permits, once it
   * failed), unless a new trial began since.
   */
  private static void releaseHold(EndpointState state) {
    if (!state.probation) {
      state.setTrialPermits(-1);
    }
  }

  /**
   * A snapshot was published: in panic, which spreads picks over ejected endpoints too, their hold
   * goes; out of panic it comes back (a pick through the panic snapshot that still reaches one is
   * what panic does).
   */
  void published(Collection<EndpointState> states, boolean panic) {
    inPanic = panic;
    for (EndpointState s : states) {
      if (s.ejection.isEjected()) {
        holdWhileEjected(s);
      }
    }
  }

  /** An ejected endpoint is held back from picks, but in panic, which spreads picks over it. */
  private void holdWhileEjected(EndpointState state) {
    if (inPanic) {
      if (state.isHeld()) {
        state.setTrialPermits(-1);
      }
    } else if (!state.isHeld()) {
      state.holdBack();
    }
  }

  /** The ejection time is over, or health checks passed: let trial calls through. */
  private void endEjection(EndpointState state, String why) {
    Ejection e = state.ejection;
    if (!host.isCurrent(state) || !e.isEjected()) {
      return;
    }
    cancelTimer(e);
    e.inForce = null;
    e.trialSuccesses = 0;
    state.resetConsecutiveFailures(); // failures of calls in flight when it was ejected are old
    state.probation = true;
    state.setTrialPermits(config.trialCalls());
    host.startRamp(state);
    logger.info(
        "[{}] {} ejection over ({}); letting {} trial calls through",
        name,
        state.endpoint(),
        why,
        config.trialCalls());
    host.republish();
    retryRefusedEjections();
    host.stateChanged(state.endpoint(), EndpointSnapshot.State.READY, "trial calls after ejection");
  }

  private void onTrialOutcome(EndpointState state, boolean success) {
    if (!host.isCurrent(state) || !state.probation) {
      return;
    }
    if (!success) {
      state.probation = false;
      state.setTrialPermits(-1);
      CallFailure last = state.lastCountedFailure();
      eject(
          state,
          new Ejection.Cause(
              "a trial call failed after ejection",
              last != null && last.kind() == CallFailure.Kind.NOT_SENT));
      return;
    }
    Ejection e = state.ejection;
    if (++e.trialSuccesses >= config.trialCalls()) {
      state.probation = false;
      state.setTrialPermits(-1);
      e.lastRestoredNanos = ticker.nanoTime();
      e.restored = true;
      logger.info("[{}] {} passed its trial calls", name, state.endpoint());
    }
  }

  private static void cancelTimer(Ejection e) {
    ControlTimer t = e.timer;
    if (t != null) {
      e.timer = null;
      t.cancel();
    }
  }
}
