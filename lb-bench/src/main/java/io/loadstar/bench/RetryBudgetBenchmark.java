package io.loadstar.bench;

import io.loadstar.api.LbEventListener;
import io.loadstar.api.RetryPolicy;
import io.loadstar.api.Ticker;
import io.loadstar.core.Retrier;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What the retry budget adds to every call: {@link Retrier#recordCall()} counts the call in the
 * current one-second slot (a CAS on a shared counter). Measured alone and with two threads counting
 * into the same budget.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(
    value = 1,
    jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class RetryBudgetBenchmark {

  private final Retrier retrier =
      Retrier.create("svc", RetryPolicy.defaults(), Ticker.system(), LbEventListener.NONE);

  @Benchmark
  public void recordCall() {
    retrier.recordCall();
  }

  @Benchmark
  @Threads(2)
  public void recordCallThreads2() {
    retrier.recordCall();
  }
}
