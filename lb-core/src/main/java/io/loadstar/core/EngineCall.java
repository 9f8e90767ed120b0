package io.loadstar.core;

import static java.util.Objects.requireNonNull;

import io.loadstar.api.Attempt;
import io.loadstar.api.BalancedCall;
import io.loadstar.api.CallFailure;
import io.loadstar.api.CallHandle;
import io.loadstar.api.Endpoint;
import io.loadstar.api.PickContext;
import io.loadstar.api.PickResult;
import io.loadstar.api.RetryDecision;
import java.util.concurrent.Future;
import java.util.function.BooleanSupplier;
import org.jspecify.annotations.Nullable;

/**
 * One call's attempts, as its balancer's retry engine decides them: the {@link BalancedCall} of
 * lb-api. Attempted from one thread at a time; its attempts may be reported from any thread, and
 * its hedge is taken on a hedge thread, so what those touch is guarded by this (taken on failures,
 * retries and hedges only: a call whose first attempt succeeds takes no lock).
 */
final class EngineCall implements BalancedCall {
  private static final String TIME_SPENT = "the call's time budget is spent";

  private final RetryEngine engine;
  private final boolean idempotent;
  // Guarded by this once the first attempt is out.
  private PickContext context;
  private int attempts;
  private @Nullable Endpoint tried; // the last attempt's endpoint, not yet in the context
  private boolean retryAllowed;
  private boolean hedged;
  private long firstStartNanos;
  // The call's deadline on the balancer's clock, as the driver's last failure report gave it (its
  // time left then); none if that report gave no limit.
  private boolean hasDeadline;
  private long deadlineNanos;
  // The calling thread's.
  private boolean started;
  private volatile @Nullable Future<?> hedgeTimer;

  EngineCall(RetryEngine engine, PickContext context, boolean idempotent) {
    this.engine = engine;
    this.context = context;
    this.idempotent = idempotent;
  }

  /** The call's first attempt, picked and sent by execute() already. */
  Attempt resume(PickResult first, long startNanos) {
    started = true;
    return attempt(first, startNanos);
  }

  @Override
  public Attempt first(long maxWaitNanos) throws InterruptedException {
    if (started) {
      throw new IllegalStateException("first() was called already: " + this);
    }
    started = true;
    PickResult result = engine.firstPick(context, maxWaitNanos);
    return attempt(result, engine.ticker().nanoTime());
  }

  @Override
  public synchronized Attempt next() {
    if (!retryAllowed) {
      throw new IllegalStateException(
          "next() without a retry decision to act on (call it once per retry): " + this);
    }
    retryAllowed = false;
    long now = engine.ticker().nanoTime();
    if (hasDeadline) {
      // The driver may act on a decision long after it was made (a hedge's, once the first
      // attempt has also ended): a retry with no time left is not sent.
      long left = deadlineNanos - now;
      if (left <= 0) {
        return new EngineAttempt(this, null, TIME_SPENT, attempts, now);
      }
      context = context.withTimeBudget(left);
    }
    return attempt(engine.pick(context), now);
  }

  private Attempt attempt(PickResult result, long startNanos) {
    if (!result.isAvailable()) {
      return new EngineAttempt(this, null, result.reason(), attempts, startNanos);
    }
    if (attempts == 0) {
      firstStartNanos = startNanos;
    }
    attempts++;
    tried = result.endpoint();
    return new EngineAttempt(this, result, null, attempts, startNanos);
  }

  /** The attempt numbered {@code number} failed: decides, unless a later attempt was picked. */
  synchronized RetryDecision decide(
      int number, CallFailure failure, long retryAfterNanos, long remainingNanos) {
    Endpoint failed = tried;
    if (number != attempts || failed == null) {
      return RetryDecision.stop(); // reported late, after the call went on (or ended)
    }
    tried = null;
    context = context.withTried(failed);
    long delay =
        engine.retryDelayNanos(attempts, failure, idempotent, retryAfterNanos, remainingNanos);
    if (delay == RetryEngine.NO_RETRY) {
      return RetryDecision.stop();
    }
    hasDeadline = remainingNanos != Long.MAX_VALUE;
    if (hasDeadline) {
      deadlineNanos = engine.ticker().nanoTime() + remainingNanos; // differences only: may wrap
      context = context.withTimeBudget(remainingNanos - delay); // what the retry will have left
    }
    // Nothing is picked now: the retry's endpoint is picked after the delay. If the driver is to
    // wait, it need not wait to find out that nothing is left (a retry at once finds out when
    // next() comes back unavailable, with the same reason).
    if (delay > 0) {
      String none = engine.nothingLeft(context);
      if (none != null) {
        return RetryDecision.noEndpoint(none);
      }
    }
    retryAllowed = true;
    return RetryDecision.retry(delay);
  }

  @Override
  public boolean scheduleHedge(Runnable send) {
    requireNonNull(send, "send");
    long delay;
    synchronized (this) {
      if (hedged || hedgeTimer != null) {
        throw new IllegalStateException("scheduleHedge() was called already: " + this);
      }
      if (attempts != 1 || tried == null) {
        return false; // no first attempt out, or it was reported already
      }
      delay = engine.hedgeDelayNanos(idempotent);
      if (delay == Long.MAX_VALUE) {
        return false;
      }
      delay -= engine.ticker().nanoTime() - firstStartNanos; // counted from the first pick
    }
    Future<?> timer = engine.scheduleHedge(send, Math.max(0, delay));
    hedgeTimer = timer;
    return timer != null;
  }

  @Override
  public void cancelHedge() {
    Future<?> timer = hedgeTimer;
    if (timer != null) {
      timer.cancel(false);
    }
  }

  @Override
  public synchronized Attempt hedge() {
    if (hedged) {
      throw new IllegalStateException("hedge() was called already: " + this);
    }
    hedged = true;
    long now = engine.ticker().nanoTime();
    Endpoint first = tried;
    if (attempts != 1 || first == null) {
      return new EngineAttempt(this, null, "the first attempt was reported", attempts, now);
    }
    String refusal = engine.hedgeRefusal(idempotent);
    if (refusal != null) {
      return new EngineAttempt(this, null, refusal, attempts, now);
    }
    PickContext hedging = context.withTried(first); // a hedge never goes where the first went
    long budget = hedging.timeBudgetNanos();
    if (budget != Long.MAX_VALUE) {
      hedging = hedging.withTimeBudget(budget - (now - firstStartNanos));
    }
    // Marked as a hedge's: a load-aware picker compares every endpoint not tried, not two.
    PickResult result =
        engine.pick(hedging.toBuilder().attribute(BasePicker.HEDGE, Boolean.TRUE).build());
    if (!result.isAvailable()) {
      return new EngineAttempt(this, null, result.reason(), attempts, now);
    }
    if (!engine.chargeHedge()) {
      result.handle().onCancel();
      return new EngineAttempt(this, null, "the retry budget is spent", attempts, now);
    }
    context = hedging;
    return attempt(result, now);
  }

  @Override
  public void awaitBackoff(long delayNanos, BooleanSupplier giveUp) throws InterruptedException {
    if (delayNanos > 0) {
      engine.sleep(delayNanos, giveUp);
    }
  }

  @Override
  public boolean idempotent() {
    return idempotent;
  }

  @Override
  public synchronized int attempts() {
    return attempts;
  }

  @Override
  public synchronized PickContext context() {
    return context;
  }

  @Override
  public String toString() {
    return "BalancedCall{" + engine.service() + ", attempts=" + attempts + ", " + context + '}';
  }

  RetryEngine engine() {
    return engine;
  }

  /** One attempt of a call; reported once. */
  private static final class EngineAttempt implements Attempt {
    private final EngineCall call;
    private final @Nullable PickResult pick;
    private final @Nullable String reason;
    private final int number;
    private final long startNanos;
    private boolean reported; // a second report from the same or a later thread is caught
    private long timeoutNanos = -1; // decided when first asked

    EngineAttempt(
        EngineCall call,
        @Nullable PickResult pick,
        @Nullable String reason,
        int number,
        long start) {
      this.call = call;
      this.pick = pick;
      this.reason = reason;
      this.number = number;
      this.startNanos = start;
    }

    @Override
    public boolean isAvailable() {
      return pick != null;
    }

    @Override
    public Endpoint endpoint() {
      if (pick == null) {
        throw new IllegalStateException("no endpoint was picked: " + reason);
      }
      return pick.endpoint();
    }

    @Override
    public String reason() {
      if (reason == null) {
        throw new IllegalStateException("an endpoint was picked: " + this);
      }
      return reason;
    }

    @Override
    public int number() {
      return number;
    }

    @Override
    public long timeoutNanos() {
      long t = timeoutNanos;
      if (t < 0) {
        t = pick == null ? Long.MAX_VALUE : call.engine().attemptTimeoutNanos(number, number);
        timeoutNanos = t;
      }
      return t;
    }

    @Override
    public long elapsedNanos() {
      return call.engine().ticker().nanoTime() - startNanos;
    }

    /** The pick's handle, once: a second report would corrupt the endpoint's in-flight count. */
    private CallHandle report() {
      if (pick == null) {
        throw new IllegalStateException(
            "nothing to report: no endpoint was picked (" + reason + ')');
      }
      if (reported) {
        throw new IllegalStateException("reported already: " + this);
      }
      reported = true;
      return pick.handle();
    }

    @Override
    public void succeeded(long latencyNanos) {
      report().onSuccess(latencyNanos);
    }

    @Override
    public RetryDecision failed(
        CallFailure failure, long latencyNanos, long retryAfterNanos, long remainingNanos) {
      report().onFailure(requireNonNull(failure, "failure"), latencyNanos);
      return call.decide(number, failure, retryAfterNanos, remainingNanos);
    }

    @Override
    public RetryDecision refused(
        CallFailure answer, long latencyNanos, long retryAfterNanos, long remainingNanos) {
      requireNonNull(answer, "answer");
      report().onSuccess(latencyNanos);
      return call.decide(number, answer, retryAfterNanos, remainingNanos);
    }

    @Override
    public void cancelled() {
      report().onCancel();
    }

    @Override
    public void overtaken(long elapsedNanos) {
      report().onOvertaken(elapsedNanos);
    }

    @Override
    public String toString() {
      return pick != null
          ? "attempt " + number + " on " + pick.endpoint().key() + " of " + call.engine().service()
          : "no attempt: " + reason;
    }
  }
}
