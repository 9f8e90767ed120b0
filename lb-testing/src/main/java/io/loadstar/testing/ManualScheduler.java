package io.loadstar.testing;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.PriorityQueue;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.Callable;
import java.util.concurrent.CancellationException;
import java.util.concurrent.Delayed;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A {@link ScheduledExecutorService} that runs tasks only when told: {@link #runDueTasks()} runs,
 * in due-time order, every task due at the {@link FakeTicker}'s current time (including tasks those
 * tasks schedule, if already due). Never runs anything inline. Thread-safe.
 */
public final class ManualScheduler extends AbstractExecutorService
    implements ScheduledExecutorService {

  private final FakeTicker ticker;
  private final AtomicLong sequence = new AtomicLong();
  private final PriorityQueue<Task<?>> queue = new PriorityQueue<>();
  private boolean shutdown;

  public ManualScheduler(FakeTicker ticker) {
    this.ticker = ticker;
  }

  /** Runs every task due now; returns how many ran. */
  public int runDueTasks() {
    int ran = 0;
    while (true) {
      Task<?> next;
      synchronized (this) {
        next = queue.peek();
        if (next == null || next.due - ticker.nanoTime() > 0) { // differences: the ticker may wrap
          return ran;
        }
        queue.poll();
      }
      next.run();
      ran++;
    }
  }

  /** Advances the ticker by {@code step} at a time up to {@code total}, running due tasks. */
  public void advance(java.time.Duration total, java.time.Duration step) {
    long remaining = total.toNanos();
    runDueTasks();
    while (remaining > 0) {
      long s = Math.min(step.toNanos(), remaining);
      ticker.advance(java.time.Duration.ofNanos(s));
      remaining -= s;
      runDueTasks();
    }
  }

  /** Returns how many tasks are scheduled and not cancelled. */
  public synchronized int pendingTasks() {
    int n = 0;
    for (Task<?> t : queue) {
      n += t.isCancelled() ? 0 : 1;
    }
    return n;
  }

  @Override
  public ScheduledFuture<?> schedule(Runnable command, long delay, TimeUnit unit) {
    return schedule(
        () -> {
          command.run();
          return null;
        },
        delay,
        unit);
  }

  @Override
  public synchronized <V> ScheduledFuture<V> schedule(
      Callable<V> callable, long delay, TimeUnit unit) {
    if (shutdown) {
      throw new java.util.concurrent.RejectedExecutionException("ManualScheduler is shut down");
    }
    Task<V> task =
        new Task<>(
            callable,
            ticker.nanoTime() + Math.max(0, unit.toNanos(delay)),
            sequence.incrementAndGet());
    queue.add(task);
    return task;
  }

  @Override
  public ScheduledFuture<?> scheduleAtFixedRate(
      Runnable command, long initialDelay, long period, TimeUnit unit) {
    throw new UnsupportedOperationException("not used by Loadstar");
  }

  @Override
  public ScheduledFuture<?> scheduleWithFixedDelay(
      Runnable command, long initialDelay, long delay, TimeUnit unit) {
    throw new UnsupportedOperationException("not used by Loadstar");
  }

  @Override
  public void execute(Runnable command) {
    schedule(command, 0, TimeUnit.NANOSECONDS);
  }

  @Override
  public synchronized void shutdown() {
    shutdown = true;
  }

  @Override
  public synchronized List<Runnable> shutdownNow() {
    shutdown = true;
    List<Runnable> dropped = new ArrayList<>(queue);
    queue.clear();
    return dropped;
  }

  @Override
  public synchronized boolean isShutdown() {
    return shutdown;
  }

  @Override
  public synchronized boolean isTerminated() {
    return shutdown && queue.isEmpty();
  }

  @Override
  public boolean awaitTermination(long timeout, TimeUnit unit) {
    return isTerminated();
  }

  @Override
  public <T> List<java.util.concurrent.Future<T>> invokeAll(
      Collection<? extends Callable<T>> tasks) {
    throw new UnsupportedOperationException("not used by Loadstar");
  }

  private final class Task<V> implements ScheduledFuture<V>, Runnable {
    private final Callable<V> callable;
    final long due;
    private final long seq;
    private volatile int state; // 0 pending, 1 done, 2 cancelled
    private V result;
    private Throwable failure;

    Task(Callable<V> callable, long due, long seq) {
      this.callable = callable;
      this.due = due;
      this.seq = seq;
    }

    @Override
    public void run() {
      if (state != 0) {
        return;
      }
      try {
        result = callable.call();
      } catch (Throwable t) {
        failure = t;
      }
      state = 1;
    }

    @Override
    public long getDelay(TimeUnit unit) {
      return unit.convert(due - ticker.nanoTime(), TimeUnit.NANOSECONDS);
    }

    @Override
    public int compareTo(Delayed o) {
      Task<?> other = (Task<?>) o;
      int c = Long.signum(due - other.due); // tasks are due within 2^63 ns of each other
      return c != 0 ? c : Long.compare(seq, other.seq);
    }

    @Override
    public boolean cancel(boolean mayInterruptIfRunning) {
      if (state != 0) {
        return false;
      }
      state = 2;
      synchronized (ManualScheduler.this) {
        queue.remove(this);
      }
      return true;
    }

    @Override
    public boolean isCancelled() {
      return state == 2;
    }

    @Override
    public boolean isDone() {
      return state != 0;
    }

    @Override
    public V get() throws ExecutionException {
      if (state == 2) {
        throw new CancellationException();
      }
      if (state == 0) {
        throw new IllegalStateException("not run yet: call runDueTasks()");
      }
      if (failure != null) {
        throw new ExecutionException(failure);
      }
      return result;
    }

    @Override
    public V get(long timeout, TimeUnit unit) throws ExecutionException, TimeoutException {
      return get();
    }
  }
}
