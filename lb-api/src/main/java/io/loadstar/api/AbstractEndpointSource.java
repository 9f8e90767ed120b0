package io.loadstar.api;

import static java.util.Objects.requireNonNull;

import org.jspecify.annotations.Nullable;

/*
 * Design notes: the answers a source gives are complete lists, so only the latest list matters;
 * the base class keeps a slot instead of a queue. A failure after a list that has not been handed
 * over yet must not hide the list (the balancer would keep an older one), so that list waits in a
 * second slot and goes first; a list supersedes both. offer() writes the slot under the base class's own
 * lock (cheap, no alien code: callable under a subclass's lock, which fixes the order of answers
 * computed under it); flush() hands the slot to the balancer outside every lock, one thread at a
 * time: a thread that finds another delivering leaves its answer in the slot, and the deliverer
 * takes it before it stops. So each answer is queued once, by the balancer, and the balancer's
 * listeners never run under a source's lock.
 */
/**
 * The base of a discovery source: the one-balancer start guard, ordered delivery of answers from
 * any thread, and close. A subclass starts its discovery in {@link #onStart}, stops it in {@link
 * #onClose}, and reports each complete answer with {@link #publish}; one that computes answers
 * under a lock of its own {@link #offer}s them there and {@link #flush}es after releasing it.
 *
 * <pre>{@code
 * final class ConfigSource extends AbstractEndpointSource {
 *   protected void onStart(Context context) {
 *     publish(EndpointUpdate.of(readConfig())); // or EndpointUpdate.failed(error)
 *   }
 * }
 * }</pre>
 *
 * <p>Answers published before the source is started are kept (the latest) and delivered when it
 * starts; answers after {@link #close} are dropped.
 */
public abstract class AbstractEndpointSource implements EndpointSource {

  private final Object lock = new Object();
  private @Nullable Context context; // guarded by lock
  private boolean closed; // guarded by lock
  private boolean delivering; // guarded by lock: a thread is handing answers to the balancer
  private @Nullable EndpointUpdate pending; // guarded by lock: the latest not yet handed over
  private @Nullable EndpointUpdate pendingList; // guarded by lock: a list a failure came after
  private @Nullable EndpointUpdate latest; // guarded by lock: the latest offered

  /** For subclasses. */
  protected AbstractEndpointSource() {}

  /**
   * Starts the source for a balancer: checks it serves no other, then calls {@link #onStart}, then
   * delivers what was published before.
   *
   * @throws IllegalStateException if the source was started before or is closed
   */
  @Override
  public final void start(Context context) {
    requireNonNull(context, "context");
    synchronized (lock) {
      if (closed) {
        throw new IllegalStateException(
            this + " is closed (expected: a new source for a new balancer)");
      }
      if (this.context != null) {
        throw new IllegalStateException(
            this
                + " already serves a balancer (expected: one source per balancer"
                + oneSourcePerBalancerHint()
                + ")");
      }
      this.context = context;
    }
    onStart(context);
    flush();
  }

  /** Starts discovery; {@link #publish} the first answer now or later. */
  protected abstract void onStart(Context context);

  /**
   * Completes the message of a second {@link #start}: say, after a semicolon, how to serve two
   * balancers with this kind of source. Defaults to nothing.
   */
  protected String oneSourcePerBalancerHint() {
    return "";
  }

  /** Stops the source: later answers are dropped, then {@link #onClose} runs (once). Idempotent. */
  @Override
  public final void close() {
    synchronized (lock) {
      if (closed) {
        return;
      }
      closed = true;
      pending = null;
      pendingList = null;
    }
    onClose();
  }

  /** Releases what the source holds (timers, connections, subscriptions). Defaults to nothing. */
  protected void onClose() {}

  /** Returns whether {@link #close} was called. */
  protected final boolean isClosed() {
    synchronized (lock) {
      return closed;
    }
  }

  /**
   * Hands the balancer {@code update} (a complete list, an empty answer, or a failure), in order
   * with every other answer of this source. Call it holding no lock: the balancer may apply the
   * answer on this thread.
   */
  protected final void publish(EndpointUpdate update) {
    offer(update);
    flush();
  }

  /**
   * Records {@code update} as this source's latest answer, without delivering it: callable while
   * holding a lock of the subclass's, which fixes the order of answers computed under it. Call
   * {@link #flush} once the lock is released. Of answers not yet handed over, only the latest list
   * is delivered, and a failure after it.
   */
  protected final void offer(EndpointUpdate update) {
    requireNonNull(update, "update");
    synchronized (lock) {
      if (closed) {
        return;
      }
      if (!update.isError()) {
        pendingList = null; // the newest list says all
      } else if (pending != null && !pending.isError()) {
        pendingList = pending; // delivered before the failure that came after it
      }
      pending = update;
      latest = update;
    }
  }

  /**
   * Delivers the latest {@link #offer offered} answer, if any, unless another thread is delivering
   * (which then delivers it). Call it holding no lock.
   */
  protected final void flush() {
    Context c;
    synchronized (lock) {
      if (delivering || context == null || closed || pending == null) {
        return;
      }
      delivering = true;
      c = context;
    }
    boolean done = false;
    try {
      while (true) {
        EndpointUpdate next;
        synchronized (lock) {
          if (pendingList != null) {
            next = pendingList;
            pendingList = null;
          } else {
            next = pending;
            pending = null;
          }
          if (next == null || closed) {
            delivering = false;
            done = true;
            return;
          }
        }
        c.publish(next);
      }
    } finally {
      if (!done) {
        synchronized (lock) {
          delivering = false; // the balancer threw: the next flush delivers again
        }
      }
    }
  }

  /** Returns the latest answer offered, or null if none yet: for {@code toString} and tests. */
  protected final @Nullable EndpointUpdate latest() {
    synchronized (lock) {
      return latest;
    }
  }
}
