package io.loadstar.core;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/*
 * Design notes: whether a pick may take an endpoint besides its in-flight limit, in one int. -1:
 * open (one volatile read per pick, the steady state). n >= 0: trial calls after an ejection, n
 * permits left, taken and given back with a compare-and-set. HELD: held back, from the failure
 * that reaches the outlier threshold until the control loop (on another thread) has decided, and
 * while the endpoint is ejected outside panic, so a pick through a snapshot read before the
 * ejection was published cannot take it however late it runs. A base class rather than a field
 * of its own: the count stays in the endpoint state's object, with no pointer to follow per pick.
 */
/** The trial-call and hold gate of an endpoint state; see {@link EndpointState}. */
abstract class PickGate {

  private static final VarHandle PERMITS;

  /** The gate's value while picks are held back. */
  private static final int HELD = Integer.MIN_VALUE;

  static {
    try {
      PERMITS = MethodHandles.lookup().findVarHandle(PickGate.class, "permits", int.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  private volatile int permits = -1;

  /** Lets a pick through, taking a trial permit if a trial is under way; any thread. */
  final boolean passGate() {
    return permits == -1 || takePermit();
  }

  private boolean takePermit() {
    while (true) {
      int p = permits;
      if (p == -1) {
        return true; // the trial or the hold ended meanwhile
      }
      if (p <= 0) {
        return false; // no permit left, or held back (HELD)
      }
      if (PERMITS.compareAndSet(this, p, p - 1)) {
        return true;
      }
    }
  }

  /** Whether {@link #passGate} would let a pick through now, without taking anything. */
  final boolean gateOpen() {
    int p = permits;
    return p == -1 || p > 0;
  }

  /**
   * Whether new picks are held back: until the control loop decides on an ejection the failures
   * asked for, and while the endpoint is ejected (outside panic).
   */
  final boolean isHeld() {
    return permits == HELD;
  }

  /** Holds new picks back, unless a trial or a hold is in force; the failure at the threshold. */
  final void holdIfOpen() {
    PERMITS.compareAndSet(this, -1, HELD);
  }

  /** Holds new picks back (an ejection); control loop only. */
  final void holdBack() {
    permits = HELD;
  }

  /** Starts (n >= 0) or ends (-1) trial gating, or a hold; control loop only. */
  final void setTrialPermits(int n) {
    permits = n;
  }

  /** Gives a trial permit back (a cancelled trial call says nothing), if a trial is under way. */
  final void returnTrialPermit() {
    while (true) {
      int p = permits;
      if (p < 0 || PERMITS.compareAndSet(this, p, p + 1)) {
        return;
      }
    }
  }
}
