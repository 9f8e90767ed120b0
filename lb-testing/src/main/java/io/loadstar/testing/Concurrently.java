package io.loadstar.testing;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.jspecify.annotations.Nullable;

/**
 * Makes a bounded number of numbered calls from several threads at once, as callers of a service
 * do, and counts the ones that failed. Bounded in count and, as a guard only, in time.
 */
public final class Concurrently {

  private Concurrently() {}

  /** One call, given its number; throwing counts it as failed. */
  @FunctionalInterface
  public interface Call {
    void call(int number) throws Exception;
  }

  /** How many calls failed, and the first failure. */
  public static final class Outcome {
    private final int failed;
    private final @Nullable Exception first;

    Outcome(int failed, @Nullable Exception first) {
      this.failed = failed;
      this.first = first;
    }

    /** Returns how many calls threw. */
    public int failed() {
      return failed;
    }

    /** Returns what the first failed call threw, or null. */
    public @Nullable Exception firstFailure() {
      return first;
    }

    @Override
    public String toString() {
      return failed + " failed" + (first != null ? ", the first with " + first : "");
    }
  }

  /** Makes calls 0 to {@code calls - 1} from {@code threads} threads; waits for them all. */
  public static Outcome run(int threads, int calls, Call call) throws Exception {
    AtomicInteger failed = new AtomicInteger();
    AtomicReference<Exception> first = new AtomicReference<>();
    AtomicInteger next = new AtomicInteger();
    ExecutorService callers = Executors.newFixedThreadPool(threads);
    try {
      List<Future<?>> done = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        done.add(
            callers.submit(
                () -> {
                  int i;
                  while ((i = next.getAndIncrement()) < calls) {
                    try {
                      call.call(i);
                    } catch (Exception e) {
                      first.compareAndSet(null, e);
                      failed.incrementAndGet();
                    }
                  }
                }));
      }
      for (Future<?> f : done) {
        f.get(60, TimeUnit.SECONDS);
      }
    } finally {
      callers.shutdownNow();
    }
    return new Outcome(failed.get(), first.get());
  }
}
