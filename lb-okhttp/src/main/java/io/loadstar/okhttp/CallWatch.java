package io.loadstar.okhttp;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.LockSupport;
import okhttp3.Call;
import okhttp3.Connection;
import okhttp3.EventListener;
import org.jspecify.annotations.Nullable;

/**
 * Watches a call: its attempt running in the call's own chain (whether its request started, the
 * connection it went out on), the clones running its other attempts, and the call's cancellation,
 * which it passes on to every running clone and to a backoff wait. A clone that is cancelled (its
 * attempt timed out, or a hedge won) cancels nothing else: that event may arrive from OkHttp's
 * watchdog thread after the next attempt has started.
 */
final class CallWatch extends EventListener {
  private final Call original;
  private final Set<Call> clones = ConcurrentHashMap.newKeySet();
  volatile @Nullable AttemptWatch inChain; // the attempt in the original call's chain, if one runs
  volatile @Nullable Thread waiter;

  CallWatch(Call original) {
    this.original = original;
  }

  /** A clone runs one of the call's attempts: a cancel of the call reaches it. */
  void started(Call clone) {
    clones.add(clone);
    if (original.isCanceled()) {
      clone.cancel();
    }
  }

  void ended(Call clone) {
    clones.remove(clone);
  }

  @Override
  public void connectionAcquired(Call call, Connection connection) {
    AttemptWatch a = inChain;
    if (call == original && a != null) {
      a.connection = connection;
    }
  }

  @Override
  public void requestHeadersStart(Call call) {
    AttemptWatch a = inChain;
    if (call == original && a != null) {
      a.requestStarted = true;
    }
  }

  @Override
  public void canceled(Call call) {
    if (call != original) {
      return; // an attempt timed out or lost to a hedge; the loop goes on by itself
    }
    for (Call c : clones) {
      c.cancel();
    }
    Thread t = waiter;
    if (t != null) {
      LockSupport.unpark(t);
    }
  }

  /**
   * One attempt: whether its request started (else it was not sent), the connection it went out on,
   * and its clone, which the loop cancels when the call's other attempt won. As the clone's own
   * listener, it sees only the clone's events.
   */
  static final class AttemptWatch extends EventListener {
    volatile boolean requestStarted;
    volatile @Nullable Connection connection;
    private volatile @Nullable Call clone;
    private volatile boolean cancelled;

    /** The attempt runs as {@code call}: cancelled at once if the loop cancelled it already. */
    void runsAs(Call call) {
      clone = call;
      if (cancelled) {
        call.cancel();
      }
    }

    boolean isCancelled() {
      return cancelled;
    }

    /** The loop cancels the attempt: before, while or after it runs. */
    void cancel() {
      cancelled = true;
      Call c = clone;
      if (c != null) {
        c.cancel();
      }
    }

    @Override
    public void connectionAcquired(Call call, Connection connection) {
      this.connection = connection;
    }

    @Override
    public void requestHeadersStart(Call call) {
      requestStarted = true;
    }
  }
}
