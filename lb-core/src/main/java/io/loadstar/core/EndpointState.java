package io.loadstar.core;

import io.loadstar.api.CallFailure;
import io.loadstar.api.CallHandle;
import io.loadstar.api.Endpoint;
import io.loadstar.api.EndpointView;
import io.loadstar.api.PickResult;
import io.loadstar.api.Ticker;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import org.jspecify.annotations.Nullable;

/*
 * Design notes: the live state of one endpoint, kept across snapshots for as long as the endpoint
 * is listed (reconciled by Endpoint.key()). It is both the EndpointView that pickers read and the
 * CallHandle callers report on, and it holds one pre-built PickResult, so a pick and its report
 * allocate nothing.
 *
 * In-flight counting comes in two forms, chosen per balancer:
 * - a CallLedger slot when nothing reads the count on the pick path (round robin, random, plain
 *   consistent hashing, no limit): each thread counts the calls it starts and ends in a block of
 *   its own with plain stores, and readers sum the blocks (see CallLedger: nothing shared is
 *   written on the call path). In-flight is started - ended, and successes are ended - failures -
 *   cancels;
 * - an exact PaddedCounter (in flight and completed in one long, alone on its cache line) when
 *   picks read counts (least request, peak EWMA, bounded load) or a limit must hold exactly. A
 *   pick compares two candidates' counts, so they must be one number each, read in one load: a
 *   striped count costs a read of every stripe per candidate (measured on 2 cores: P2C with
 *   two stripes per endpoint 220 ns at 2 threads and n = 3 against 165-200 ns with one counter, and
 *   119 against 79-90 at n = 1000). One exact counter is what Envoy, gRPC and Finagle keep too; its
 *   cost at 2 threads is the cache line moving between the cores (FloorBenchmark.exactLeastRequest).
 *
 * Outlier detection on the hot path is lock-free and allocation-free: a success reads the
 * consecutive-failure count and writes it only if non-zero; a counted failure increments it, and
 * only the failure that reaches the threshold (or a trial outcome after an ejection) posts a task
 * to the control loop, which decides. After an ejection, trial calls are let through by a permit
 * count (PickGate): one volatile read per pick when no trial is under way. The same count, set
 * to HELD by the failure that reaches the threshold, holds new picks back until the control loop
 * (on another thread: the request thread hands the decision off) has decided on the ejection, and
 * then while the endpoint is ejected (outside panic), so that a pick through a snapshot read
 * before the ejection was published cannot reach it however late it runs. A held endpoint is the
 * last resort of a pick that finds nothing else (see TieredPicker): when every endpoint of a small
 * set crosses the threshold before the loop runs, the picks go on to them as they did before the
 * hold, rather than fail.
 *
 * The endpoint (and its PickResult) is replaced by the control loop when discovery changes a
 * weight or attribute of the same key; both fields are volatile and the PickResult is always
 * rebuilt before publication of the picker that may return it.
 */
final class EndpointState extends PickGate implements EndpointView, CallHandle {

  private final String key;
  private final int maxInFlight;
  private final @Nullable CallLedger ledger;
  private final int slot;
  private final LongAdder cancels = new LongAdder();
  private final @Nullable PaddedCounter inFlightExact;
  private final @Nullable LongAdder totalInFlight;
  private final @Nullable PeakEwmaTracker latency;
  private final @Nullable LatencyDigest serviceLatency; // the service's, shared by its endpoints
  private final @Nullable OutlierDetectionConfig outlier;
  private final @Nullable OutlierSignals signals;
  private final AtomicInteger consecutiveFailures = new AtomicInteger();
  private final LongAdder countedFailures = new LongAdder();
  private final LongAdder requestFailures = new LongAdder(); // counted and not NOT_SENT

  /** Whether the current run of consecutive failures has one that reached the endpoint. */
  private volatile boolean requestFailureInRun;

  private final LongAdder slowCalls = new LongAdder();
  private volatile @Nullable CallFailure lastCountedFailure;
  private final LongAdder failures = new LongAdder();
  private volatile Endpoint endpoint;
  private volatile PickResult result;

  /** Read by pickers when bounded load is on; written by the control loop at publish. */
  volatile int effectiveWeight;

  /**
   * Told of each failed call, when the endpoint belongs to a canary that may be rolled back; read
   * on the failure path only. Written by the control loop.
   */
  volatile @Nullable Runnable failureTap;

  /** True while trial calls after an ejection are under way; read on every outcome. */
  volatile boolean probation;

  /**
   * Active health's marks (control loop and snapshot() only, like the next two: one per writer).
   */
  final EndpointControl.Health health = new EndpointControl.Health();

  /** An operator's drain and weight override. */
  final EndpointControl.Operator operator = new EndpointControl.Operator();

  /** Slow start's ramp and sticky keys' return, kept by the snapshot build. */
  final EndpointControl.Routing routing = new EndpointControl.Routing();

  /** Outlier ejection: written by the balancer's OutlierDetector only. */
  final Ejection ejection = new Ejection();

  EndpointState(
      Endpoint endpoint,
      int maxInFlight,
      @Nullable CallLedger ledger,
      int slot,
      @Nullable LongAdder totalInFlight,
      BuiltinStrategy.@Nullable PeakEwmaSettings latencySettings,
      Ticker ticker,
      long origin,
      @Nullable OutlierDetectionConfig outlier,
      @Nullable OutlierSignals signals,
      @Nullable LatencyDigest serviceLatency) {
    this.serviceLatency = serviceLatency;
    this.outlier = outlier;
    this.signals = signals;
    this.key = endpoint.key();
    this.endpoint = endpoint;
    this.maxInFlight = maxInFlight;
    this.ledger = ledger;
    this.slot = slot;
    this.inFlightExact = ledger == null ? new PaddedCounter() : null;
    this.totalInFlight = totalInFlight;
    PaddedCounter cell = inFlightExact;
    if (latencySettings != null && cell == null) {
      throw new IllegalArgumentException("latency tracking needs exact in-flight counting");
    }
    this.latency =
        latencySettings == null
            ? null
            : new PeakEwmaTracker(
                cell,
                ticker,
                origin,
                latencySettings.decayNanos,
                latencySettings.defaultRttNanos,
                latencySettings.failurePenaltyNanos);
    this.result = PickResult.of(endpoint, this);
    this.effectiveWeight = endpoint.weight();
  }

  String key() {
    return key;
  }

  /** Replaces the endpoint after discovery changed an attribute; control loop only. */
  void setEndpoint(Endpoint updated) {
    if (!updated.equals(endpoint)) {
      this.result = PickResult.of(updated, this);
      this.endpoint = updated;
    }
  }

  @Override
  public Endpoint endpoint() {
    return endpoint;
  }

  /** The weight strategies see: base weight, x100 and ramped when slow start applies. */
  @Override
  public int weight() {
    return effectiveWeight;
  }

  /** Discovery's weight, or the runtime override; control loop. */
  int baseWeight() {
    int override = operator.weightOverride;
    return override >= 0 ? override : endpoint.weight();
  }

  @Override
  public int inFlight() {
    PaddedCounter exact = inFlightExact;
    if (exact != null) {
      return exact.get();
    }
    long[] counts = ledgerCounts();
    return (int) Math.max(0, counts[0] - counts[1]);
  }

  /** Ledger mode: {started, ended} since this endpoint took its slot. */
  private long[] ledgerCounts() {
    long[] counts = new long[2];
    ledger.read(slot, counts);
    return counts;
  }

  boolean atLimit() {
    PaddedCounter exact = inFlightExact;
    return exact != null && exact.get() >= maxInFlight;
  }

  /**
   * Whether {@link #tryAcquire} would succeed now, without acquiring: not at its limit, not held
   * back for trial calls. For explain(); a racing pick may change the answer.
   */
  boolean wouldAcquire() {
    return gateOpen() && !atLimit();
  }

  @Override
  public @Nullable PickResult tryAcquire() {
    return passGate() ? acquireSlot() : null;
  }

  /**
   * A pick's last resort: acquires this endpoint although it is held back for the control loop's
   * decision (never past its in-flight limit); null if it cannot or is no longer held.
   */
  @Nullable PickResult tryAcquireHeld() {
    return isHeld() ? acquireSlot() : null;
  }

  private @Nullable PickResult acquireSlot() {
    PaddedCounter exact = inFlightExact;
    if (exact == null) {
      ledger.started(slot);
    } else if (maxInFlight == Integer.MAX_VALUE) {
      exact.increment();
    } else if (!exact.incrementIfBelow(maxInFlight)) {
      return null;
    }
    LongAdder total = totalInFlight;
    if (total != null) {
      total.increment();
    }
    return result;
  }

  int consecutiveFailures() {
    return consecutiveFailures.get();
  }

  void resetConsecutiveFailures() {
    consecutiveFailures.set(0);
    requestFailureInRun = false;
  }

  /**
   * Ends a run of consecutive failures that is still {@code run} long (a failure that came in
   * meanwhile keeps it); control loop.
   */
  void resetConsecutiveFailures(int run) {
    if (consecutiveFailures.compareAndSet(run, 0)) {
      requestFailureInRun = false;
    }
  }

  long countedFailures() {
    return countedFailures.sum();
  }

  /** Counted failures where the request was sent (statuses, timeouts, resets). */
  long requestFailures() {
    return requestFailures.sum();
  }

  /**
   * Whether the current run of consecutive failures includes one where the request reached the
   * endpoint; false if every one was a connect failure.
   */
  boolean requestFailureInRun() {
    return requestFailureInRun;
  }

  @Nullable CallFailure lastCountedFailure() {
    return lastCountedFailure;
  }

  /** The exact counter (which also holds the latency estimate), or null in adder mode. */
  @Nullable PaddedCounter exactCounter() {
    return inFlightExact;
  }

  /** The peak-EWMA tracker, when the strategy uses one. */
  @Nullable PeakEwmaTracker latency() {
    return latency;
  }

  long successes() {
    PaddedCounter exact = inFlightExact;
    long completed = exact != null ? exact.completed() : ledgerCounts()[1];
    return Math.max(0, completed - failures.sum() - cancels.sum());
  }

  long failures() {
    return failures.sum();
  }

  @Override
  public void onSuccess(long latencyNanos) {
    long completed = release();
    PeakEwmaTracker l = latency;
    if (l != null) {
      l.observe(latencyNanos);
    }
    LatencyDigest service = serviceLatency;
    if (service != null && (completed & LatencyDigest.SAMPLE_MASK) == 0) {
      service.record(latencyNanos);
    }
    OutlierDetectionConfig o = outlier;
    if (o != null) {
      long slow = o.slowCallNanos();
      if (slow != 0 && latencyNanos >= slow) {
        slowCalls.increment();
      }
      recordOutlierSuccess(o);
    }
  }

  long slowCalls() {
    return slowCalls.sum();
  }

  private void recordOutlierSuccess(OutlierDetectionConfig o) {
    if (consecutiveFailures.get() != 0) {
      int run = consecutiveFailures.getAndSet(0);
      requestFailureInRun = false;
      int threshold = o.consecutiveFailures();
      if (threshold > 0 && run >= threshold && !probation) {
        signals.failureRunEnded(this); // rare: the run had asked for an ejection
      }
    }
    if (probation) {
      signals.trialOutcome(this, true);
    }
  }

  @Override
  public void onFailure(CallFailure failure, long latencyNanos) {
    failures.increment(); // before release(): successes = ended - failures - cancels
    release();
    Runnable tap = failureTap;
    if (tap != null) {
      tap.run();
    }
    PeakEwmaTracker l = latency;
    if (l != null) {
      l.observeFailure(latencyNanos);
    }
    OutlierDetectionConfig o = outlier;
    if (o != null) {
      if (!o.counts(failure)) {
        recordOutlierSuccess(o); // e.g. a 404: the endpoint answered properly
        return;
      }
      countedFailures.increment();
      if (failure.kind() != CallFailure.Kind.NOT_SENT) {
        requestFailures.increment();
        requestFailureInRun = true;
      }
      lastCountedFailure = failure;
      int inARow = consecutiveFailures.incrementAndGet();
      int threshold = o.consecutiveFailures();
      if (probation) {
        signals.trialOutcome(this, false);
      } else if (threshold > 0 && inARow % threshold == 0) {
        // At the threshold, and again at each multiple of it (an ejection the max-ejection cap
        // refused is asked for again while the failures go on). New picks skip the endpoint from
        // now on, before the control loop has decided: a cold JVM can take milliseconds to get
        // there, and every pick meanwhile would be a failure and a retry. The loop ejects it, or
        // lets picks through again if it does not.
        holdIfOpen();
        signals.consecutiveFailures(this);
      }
    }
  }

  @Override
  public void onCancel() {
    cancels.increment();
    release();
    returnTrialPermit(); // a cancelled trial call says nothing: let another one through
  }

  @Override
  public void onOvertaken(long elapsedNanos) {
    cancels.increment();
    long completed = release();
    returnTrialPermit(); // says nothing of the endpoint's health
    PeakEwmaTracker l = latency;
    if (l != null) {
      l.observeAtLeast(elapsedNanos); // it took at least that: a lower bound, not a sample
    }
    // The service's latency counts it at what it took so far: without it, hedging would hide the
    // slowest attempts from the p99 that the attempt timeout follows, which would then cut a slow
    // but working endpoint's attempts, and outlier detection would eject it.
    LatencyDigest service = serviceLatency;
    if (service != null && (completed & LatencyDigest.SAMPLE_MASK) == 0) {
      service.record(elapsedNanos);
    }
  }

  /**
   * Releases the call's slot; returns the calls this endpoint completed before it (exact counting),
   * or 0 (ledger counting, which has no count at hand).
   */
  private long release() {
    PaddedCounter exact = inFlightExact;
    long completed = 0;
    if (exact == null) {
      ledger.ended(slot);
    } else {
      completed = exact.release();
    }
    LongAdder total = totalInFlight;
    if (total != null) {
      total.decrement();
    }
    return completed;
  }

  /** This state is no longer listed: its ledger slot, if it counts in one, is reused once idle. */
  void retire(long nowNanos) {
    if (ledger != null) {
      ledger.retire(this, slot, nowNanos);
    }
  }

  @Override
  public String toString() {
    return endpoint + " (inFlight=" + inFlight() + ")";
  }
}
