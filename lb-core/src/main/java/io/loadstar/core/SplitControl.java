package io.loadstar.core;

import static java.util.Objects.requireNonNull;

import io.loadstar.core.internal.SerialExecutor;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The handle of a running canary split: give it to {@link LoadBalancers.Builder#trafficSplit}, then
 * {@link #set} a new split or {@link #clear} it at any time; the balancers using it apply the
 * change before {@code set} returns, so the next pick follows it. A balancer that rolls the canary
 * back ({@link TrafficSplit#rollbackOnErrors}) sets the split here to 0%, so {@link #split()}
 * always reports the share in force and every balancer using the control follows. Thread-safe.
 */
public final class SplitControl {

  /** How long {@link #set} and {@link #clear} wait, in all, for the balancers to apply them. */
  static final long APPLY_WAIT_NANOS = TimeUnit.SECONDS.toNanos(10);

  private static final Logger logger = LoggerFactory.getLogger(SplitControl.class);

  /** A balancer applying this control's splits. */
  interface Subscriber {
    /**
     * The split changed: queue applying it on the balancer's control loop (run at once if the loop
     * is idle) and run {@code applied} once it has been applied, or the balancer is closed.
     */
    void changed(Runnable applied);

    /** The balancer's name, for the log. */
    String service();
  }

  /** The split in force (null: none) and why it was rolled back (empty: it was not), together. */
  record InForce(@Nullable TrafficSplit split, String rollbackReason) {}

  private volatile InForce inForce;
  private final List<Subscriber> balancers = new CopyOnWriteArrayList<>();

  private SplitControl(@Nullable TrafficSplit split) {
    this.inForce = new InForce(split, "");
  }

  /** A control starting with {@code split}. */
  public static SplitControl of(TrafficSplit split) {
    return new SplitControl(requireNonNull(split, "split"));
  }

  /** A control with no split yet. */
  public static SplitControl none() {
    return new SplitControl(null);
  }

  /** Returns the split in force, or null if none: after a rollback, the rolled-back split at 0%. */
  public @Nullable TrafficSplit split() {
    return inForce.split();
  }

  /**
   * Returns why the canary was rolled back, or an empty string if the split in force was set by
   * {@link #set} (or the control was made with it) and not rolled back.
   */
  public String rollbackReason() {
    return inForce.rollbackReason();
  }

  /** The split in force with its rollback reason, read together; for the balancers. */
  InForce inForce() {
    return inForce;
  }

  /**
   * Replaces the split (a ramp starts again from its first percentage, a rollback is forgotten);
   * applied by every balancer using this control before it returns. The balancers apply it at the
   * same time, each on its control loop; a balancer busy with a change applies it right after, and
   * {@code set} waits at most 10 s in all (then logs which balancers had not applied it yet; they
   * still do, later). From one of the balancers' own listeners, it returns without waiting.
   */
  public void set(TrafficSplit split) {
    requireNonNull(split, "split");
    synchronized (this) {
      inForce = new InForce(split, "");
    }
    notifyBalancers(null, true);
  }

  /**
   * Ends the split: every pick goes to every endpoint again, canary or not; waits as {@link #set}.
   */
  public void clear() {
    synchronized (this) {
      inForce = new InForce(null, "");
    }
    notifyBalancers(null, true);
  }

  /**
   * Rolls {@code from} back to 0% for {@code reason}, unless another split was set meanwhile;
   * returns whether it did. Called by {@code by}'s control loop, which applies it itself; the
   * others follow without anyone waiting (two balancers rolling back at once must not wait on each
   * other's control loops).
   */
  boolean rollBack(TrafficSplit from, String reason, Subscriber by) {
    synchronized (this) {
      if (inForce.split() != from) {
        return false;
      }
      inForce = new InForce(from.percent(0), reason);
    }
    notifyBalancers(by, false);
    return true;
  }

  void subscribe(Subscriber balancer) {
    balancers.add(balancer);
  }

  void unsubscribe(Subscriber balancer) {
    balancers.remove(balancer);
  }

  private void notifyBalancers(@Nullable Subscriber except, boolean await) {
    List<Subscriber> notified = new ArrayList<>(balancers);
    notified.remove(except);
    if (!await) {
      for (Subscriber b : notified) {
        b.changed(() -> {});
      }
      return;
    }
    Set<Subscriber> pending = ConcurrentHashMap.newKeySet();
    pending.addAll(notified);
    CountDownLatch applied = new CountDownLatch(notified.size());
    for (Subscriber b : notified) {
      b.changed(
          () -> {
            pending.remove(b);
            applied.countDown();
          });
    }
    if (!SerialExecutor.awaitUninterruptibly(applied, APPLY_WAIT_NANOS)) {
      List<String> late = new ArrayList<>();
      for (Subscriber b : pending) {
        late.add(b.service());
      }
      logger.warn(
          "a new traffic split waited 10 s for the control loops of {}; they apply it when free",
          late);
    }
  }

  @Override
  public String toString() {
    InForce now = inForce;
    String r = now.rollbackReason();
    return "SplitControl{" + now.split() + (r.isEmpty() ? "" : ", rolled back: " + r) + "}";
  }
}
