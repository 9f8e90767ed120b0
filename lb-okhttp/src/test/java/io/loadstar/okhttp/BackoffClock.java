package io.loadstar.okhttp;

import io.loadstar.api.Attempt;
import io.loadstar.api.BalancedCall;
import io.loadstar.api.EndpointCall;
import io.loadstar.api.LbEventListener;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.PickContext;
import io.loadstar.api.PickResult;
import java.time.Duration;
import java.util.function.BooleanSupplier;

/**
 * A real balancer whose calls wait out their retry backoffs with a test's {@link Wait} instead of
 * parking the thread: the backoff the interceptor waits for is the balancer call's own ({@link
 * BalancedCall#awaitBackoff}), so this is where a test puts its clock. Everything else is the
 * balancer's.
 */
final class BackoffClock implements LoadBalancer {

  /** How a backoff is waited out: at most {@code nanos}, less once {@code giveUp} turns true. */
  @FunctionalInterface
  interface Wait {
    void sleep(long nanos, BooleanSupplier giveUp) throws InterruptedException;
  }

  private final LoadBalancer lb;
  private final Wait wait;

  private BackoffClock(LoadBalancer lb, Wait wait) {
    this.lb = lb;
    this.wait = wait;
  }

  /** {@code lb}, its calls' backoffs waited out by {@code wait}. */
  static LoadBalancer of(LoadBalancer lb, Wait wait) {
    return new BackoffClock(lb, wait);
  }

  @Override
  public BalancedCall newCall(PickContext context, boolean idempotent) {
    BalancedCall call = lb.newCall(context, idempotent);
    return new BalancedCall() {
      @Override
      public Attempt first(long maxWaitNanos) throws InterruptedException {
        return call.first(maxWaitNanos);
      }

      @Override
      public Attempt next() {
        return call.next();
      }

      @Override
      public void awaitBackoff(long delayNanos, BooleanSupplier giveUp)
          throws InterruptedException {
        if (delayNanos > 0) {
          wait.sleep(delayNanos, giveUp);
        }
      }

      @Override
      public boolean idempotent() {
        return call.idempotent();
      }

      @Override
      public int attempts() {
        return call.attempts();
      }

      @Override
      public PickContext context() {
        return call.context();
      }
    };
  }

  @Override
  public String name() {
    return lb.name();
  }

  @Override
  public PickResult pick(PickContext context) {
    return lb.pick(context);
  }

  @Override
  public <T> T execute(PickContext context, EndpointCall<T> call) throws Exception {
    return lb.execute(context, call);
  }

  @Override
  public boolean awaitReady(Duration timeout) throws InterruptedException {
    return lb.awaitReady(timeout);
  }

  @Override
  public Inspection inspect() {
    return lb.inspect();
  }

  @Override
  public Control control() {
    return lb.control();
  }

  @Override
  public Subscription addListener(LbEventListener listener) {
    return lb.addListener(listener);
  }

  @Override
  public void close() {
    lb.close();
  }
}
