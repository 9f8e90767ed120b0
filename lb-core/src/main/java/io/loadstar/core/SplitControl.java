package io.loadstar.core;

import static java.util.Objects.requireNonNull;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.jspecify.annotations.Nullable;

/**
 * The handle of a running canary split: give it to {@link LoadBalancers.Builder#trafficSplit}, then
 * {@link #set} a new split or {@link #clear} it at any time; the balancers using it apply the
 * change before {@code set} returns, so the next pick follows it. Thread-safe.
 */
public final class SplitControl {

  private volatile @Nullable TrafficSplit split;
  private final List<Runnable> balancers = new CopyOnWriteArrayList<>();

  private SplitControl(@Nullable TrafficSplit split) {
    this.split = split;
  }

  /** A control starting with {@code split}. */
  public static SplitControl of(TrafficSplit split) {
    return new SplitControl(requireNonNull(split, "split"));
  }

  /** A control with no split yet. */
  public static SplitControl none() {
    return new SplitControl(null);
  }

  /** Returns the split now, or null if none. */
  public @Nullable TrafficSplit split() {
    return split;
  }

  /**
   * Replaces the split (a ramp starts again from its first percentage); applied by every balancer
   * using this control before it returns.
   */
  public void set(TrafficSplit split) {
    this.split = requireNonNull(split, "split");
    notifyBalancers();
  }

  /** Ends the split: every pick goes to every endpoint again, canary or not. */
  public void clear() {
    this.split = null;
    notifyBalancers();
  }

  void subscribe(Runnable onChange) {
    balancers.add(onChange);
  }

  void unsubscribe(Runnable onChange) {
    balancers.remove(onChange);
  }

  private void notifyBalancers() {
    for (Runnable r : balancers) {
      r.run();
    }
  }

  @Override
  public String toString() {
    return "SplitControl{" + split + "}";
  }
}
