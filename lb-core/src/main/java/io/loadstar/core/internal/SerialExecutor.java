package io.loadstar.core.internal;

import static java.util.Objects.requireNonNull;

import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/*
 * Design notes: gRPC's SynchronizationContext idea. Tasks are queued; whichever thread finds the
 * executor idle drains the queue, so tasks run one at a time, in submission order, on the
 * submitting threads, and the executor owns no thread. A task that submits another does not run
 * it recursively: it is queued and run after the current one (non-reentrant), so state mutated by
 * a task is never observed half-applied by a nested task. The drain loop re-checks the queue after
 * releasing ownership, which closes the race with a concurrent execute() that saw it owned.
 *
 * Hand-off: a thread that must not run the loop (a request thread whose call crossed a threshold)
 * queues its task with handOff(), which asks the drainer (a Loadstar thread) to drain, at most one
 * such request outstanding at a time, so a burst of failures costs the drainer one task.
 */
/**
 * Runs tasks one at a time, in submission order, on the threads that submit them; owns no thread.
 *
 * <p>Thread-safe. A task that throws is logged and does not stop later tasks.
 */
public final class SerialExecutor implements Executor {

  private static final Logger logger = LoggerFactory.getLogger(SerialExecutor.class);

  private final String name;
  private final Queue<Runnable> queue = new ConcurrentLinkedQueue<>();
  private final AtomicReference<Thread> drainingThread = new AtomicReference<>();
  private final Executor drainer;
  private final AtomicBoolean drainAsked = new AtomicBoolean();
  private final Runnable askedDrain = this::askedDrain;

  /**
   * Creates an executor; {@code name} prefixes its log lines. {@link #handOff} runs the queue on
   * the submitting thread.
   */
  public SerialExecutor(String name) {
    this(name, Runnable::run);
  }

  /**
   * Creates an executor whose {@link #handOff} tasks are run by {@code drainer}; {@code name}
   * prefixes its log lines. The drainer may drop the drain it is given only if it is shutting down
   * for good.
   */
  public SerialExecutor(String name, Executor drainer) {
    this.name = requireNonNull(name, "name");
    this.drainer = requireNonNull(drainer, "drainer");
  }

  /**
   * Queues {@code task} to run on the drainer, never on this thread (unless this executor has no
   * drainer of its own): for threads that must not run the loop, such as request threads. Allocates
   * nothing but the queue's node.
   */
  public void handOff(Runnable task) {
    queue.add(requireNonNull(task, "task"));
    if (drainAsked.compareAndSet(false, true)) {
      try {
        drainer.execute(askedDrain);
      } catch (RuntimeException e) {
        drainAsked.set(false);
        throw e;
      }
    }
  }

  private void askedDrain() {
    drainAsked.set(false);
    drain();
  }

  /** Queues {@code task} and runs queued tasks unless another thread is already running them. */
  @Override
  public void execute(Runnable task) {
    queue.add(requireNonNull(task, "task"));
    drain();
  }

  /**
   * Queues {@code task} without running anything. Call {@link #drain()} afterwards, outside any
   * lock: this split lets a caller fix the order of tasks under its own lock yet run them (alien
   * code included) after releasing it.
   */
  public void enqueue(Runnable task) {
    queue.add(requireNonNull(task, "task"));
  }

  /** Runs queued tasks unless another thread is already running them. */
  public void drain() {
    do {
      if (!drainingThread.compareAndSet(null, Thread.currentThread())) {
        return;
      }
      try {
        Runnable task;
        while ((task = queue.poll()) != null) {
          try {
            task.run();
          } catch (Throwable t) {
            logger.error("[{}] task {} threw; continuing with the next task", name, task, t);
          }
        }
      } finally {
        drainingThread.set(null);
      }
    } while (!queue.isEmpty());
  }

  /**
   * Runs {@code task} and waits until it ran (it may be queued behind a task another thread runs
   * right now), at most {@code timeoutNanos}; an interrupt is kept for later and does not end the
   * wait. From inside one of this executor's tasks, only queues it: it runs right after the current
   * one.
   *
   * @return false if the task did not run within the timeout
   */
  public boolean executeAndWait(Runnable task, long timeoutNanos) {
    requireNonNull(task, "task");
    if (isRunningOnCurrentThread()) {
      queue.add(task);
      return true;
    }
    CountDownLatch done = new CountDownLatch(1);
    execute(
        () -> {
          try {
            task.run();
          } finally {
            done.countDown();
          }
        });
    return awaitUninterruptibly(done, timeoutNanos);
  }

  /**
   * Waits for {@code latch}, at most {@code timeoutNanos}; an interrupt is kept for later and does
   * not end the wait.
   *
   * @return false if the latch did not open within the timeout
   */
  public static boolean awaitUninterruptibly(CountDownLatch latch, long timeoutNanos) {
    boolean interrupted = false;
    long deadline = System.nanoTime() + timeoutNanos;
    try {
      while (latch.getCount() > 0) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          return false;
        }
        try {
          latch.await(left, TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
          interrupted = true;
        }
      }
      return true;
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /**
   * Waits, at most {@code timeoutNanos}, until the tasks queued before this call have run (on this
   * thread if the executor is idle). Returns at once, allocating nothing, when nothing is queued or
   * running, or when called from one of this executor's tasks.
   *
   * @return false if the queued tasks did not run within the timeout
   */
  public boolean settle(long timeoutNanos) {
    if (drainingThread.get() == null && queue.isEmpty()) {
      return true;
    }
    return isRunningOnCurrentThread() || executeAndWait(() -> {}, timeoutNanos);
  }

  /** Returns true if the calling thread is running this executor's tasks right now. */
  public boolean isRunningOnCurrentThread() {
    return drainingThread.get() == Thread.currentThread();
  }

  @Override
  public String toString() {
    return "SerialExecutor{" + name + "}";
  }
}
