package io.loadstar.grpc;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.Context;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.MethodDescriptor.MethodType;
import io.grpc.Status;
import io.grpc.SynchronizationContext;
import io.loadstar.api.Attempt;
import io.loadstar.api.BalancedCall;
import io.loadstar.api.PickContext;
import io.loadstar.api.RetryDecision;
import java.time.Duration;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The attempts of one RPC on a Loadstar channel ({@link BalancedClientCall} is the caller's side):
 * each a call on the channel carrying an {@link AttemptSlot} that the {@code loadstar} picker
 * routes to the attempt's endpoint.
 *
 * <p>What the caller does (start, request, send, half-close, compression) is recorded while the RPC
 * can still be repeated, and replayed on each new attempt. An RPC is committed, and nothing more is
 * recorded or repeated, at its first response message if it is marked retryable and sends one
 * request message (unary and server streaming); otherwise as soon as its headers are written to a
 * connection, since an RPC that was not sent is the only other kind Loadstar repeats. Until it
 * commits, response headers are held back, so a retried attempt leaves no trace with the caller.
 *
 * <p>An attempt's outcome is reported when its call closes, as {@link StatusOutcome} says; the
 * balancer decides whether to retry, on an endpoint the RPC has not tried, after its backoff or the
 * server's pushback, within the RPC's deadline and the service's budget. A unary RPC marked
 * retryable gives each attempt that another may follow the balancer's attempt timeout as its own
 * deadline, when sooner than the RPC's; an attempt it ends is the endpoint's failure. When the
 * balancer's policy hedges, such an RPC also gets a hedge beside its first attempt once the hedging
 * delay has passed: the first of the two to answer wins, the other is cancelled and reported
 * overtaken (blaming no endpoint), and one that ends without an answer waits for the other ({@link
 * HedgeRace}).
 *
 * <p>The caller's calls and the switch from one attempt to the next run one at a time in the call's
 * {@link SynchronizationContext}; an attempt's callbacks come from gRPC, one at a time, and only
 * the winning attempt (or the last one) speaks to the caller's listener.
 */
final class RpcAttempts<ReqT, RespT> {

  private static final Logger logger = LoggerFactory.getLogger(RpcAttempts.class);

  private final BalancingInterceptor owner;
  private final MethodDescriptor<ReqT, RespT> method;
  private final CallOptions callOptions;
  private final Channel next;
  private final Context context;
  private final GrpcRules.@Nullable Retry retry;
  private final boolean commitOnSent;
  private final SynchronizationContext serializer =
      new SynchronizationContext(
          (thread, error) -> logger.error("Loadstar gRPC call failed unexpectedly", error));
  private final CallerSide<RespT> caller;

  // Set in start(), before any attempt; read by attempts after it.
  private @Nullable Metadata headers;
  private @Nullable BalancedCall call;

  // The serializer's.
  private final CallRecord<ReqT> record = new CallRecord<>();
  private final AttemptHistory history;

  private volatile boolean committed;
  private volatile boolean cancelled;
  private @Nullable Status cancelStatus; // the serializer's: the caller's cancel
  private volatile @Nullable ClientCall<ReqT, RespT> current;
  private volatile @Nullable ClientCall<ReqT, RespT> hedgeCall; // beside current, until one won
  private final HedgeRace<RpcAttempt<ReqT, RespT>> race = new HedgeRace<>();

  RpcAttempts(
      BalancingInterceptor owner,
      MethodDescriptor<ReqT, RespT> method,
      CallOptions callOptions,
      Channel next) {
    this.owner = owner;
    this.method = method;
    this.callOptions = callOptions;
    this.next = next;
    this.context = Context.current();
    this.caller = new CallerSide<>(callOptions.getExecutor());
    this.history = new AttemptHistory(owner.balancer.name());
    this.retry = owner.rules.retryOf(method, callOptions);
    this.commitOnSent = retry == null || !method.getType().clientSendsOneMessage();
  }

  /** The caller started the RPC: its first attempt is picked and sent. */
  void start(ClientCall.Listener<RespT> responseListener, Metadata headers) {
    caller.started(responseListener);
    this.headers = copy(headers);
    // The RPC's deadline is the call's time budget: a latency-aware strategy skips an endpoint
    // predicted to miss it, and a retry is not sent once it has passed.
    PickContext picking = owner.rules.pickContext(callOptions, headers);
    long remaining = remainingNanos();
    if (remaining != Long.MAX_VALUE) {
      picking = picking.withTimeBudget(remaining);
    }
    BalancedCall c = owner.balancer.newCall(picking, retry != null);
    this.call = c;
    serializer.execute(
        () -> {
          Attempt first = null;
          try {
            if (owner.balancer.awaitReady(Duration.ZERO)) {
              first = c.first(0);
            }
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // not reached: neither waits with 0
          }
          // else: the balancer has no endpoints yet; the picker takes the first attempt once the
          // channel has a picker, and gRPC holds the RPC meanwhile, up to its deadline.
          startAttempt(first);
        });
  }

  void request(int numMessages) {
    serializer.execute(
        () -> {
          if (!committed) {
            record.request(numMessages);
          }
          toAttempts(c -> c.request(numMessages));
        });
  }

  void sendMessage(ReqT message) {
    serializer.execute(
        () -> {
          if (!committed) {
            record.message(message);
          }
          toAttempts(c -> c.sendMessage(message));
        });
  }

  void halfClose() {
    serializer.execute(
        () -> {
          record.halfClose();
          toAttempts(ClientCall::halfClose);
        });
  }

  void setMessageCompression(boolean enabled) {
    serializer.execute(
        () -> {
          record.compression(enabled);
          toAttempts(c -> c.setMessageCompression(enabled));
        });
  }

  void cancel(@Nullable String message, @Nullable Throwable cause) {
    serializer.execute(
        () -> {
          if (cancelled) {
            return;
          }
          cancelled = true;
          Status status = Status.CANCELLED;
          if (message != null) {
            status = status.withDescription(message);
          }
          cancelStatus = status.withCause(cause);
          if (current != null) {
            // Their listeners report the attempts and close the call.
            toAttempts(c -> c.cancel(message, cause));
          } else if (caller.isStarted()) {
            // Waiting out a retry's backoff: no attempt holds an endpoint.
            finishCancelled();
          }
          // else: before start(), which closes the call at once
        });
  }

  /** The attempt that speaks to the caller (the first, until another won), if one is out. */
  @Nullable ClientCall<ReqT, RespT> current() {
    return current;
  }

  /** Starts an attempt and replays what the caller did so far. In the serializer. */
  private void startAttempt(@Nullable Attempt picked) {
    if (cancelled) {
      if (picked != null && picked.isAvailable()) {
        picked.cancelled();
      }
      finishCancelled(); // the cancel may have found only the attempt that had just ended
      return;
    }
    RpcAttempt<ReqT, RespT> attemptListener = new RpcAttempt<>(this);
    race.started(attemptListener);
    hedgeCall = null;
    current = launch(picked, attemptListener);
    if (picked != null
        && picked.isAvailable()
        && picked.number() == 1
        && retry != null
        && retry.maxAttempts > 1
        && method.getType() == MethodType.UNARY) {
      started(call).scheduleHedge(() -> serializer.execute(this::startHedge));
    }
  }

  /**
   * The hedging delay has passed with the first attempt still out: sends the hedge, on an endpoint
   * the RPC has not tried, beside it. In the serializer.
   */
  private void startHedge() {
    RpcAttempt<ReqT, RespT> hedge = new RpcAttempt<>(this);
    Attempt picked;
    synchronized (race) { // an attempt that ends meanwhile either sees the hedge or stops it
      if (cancelled || committed || !race.canHedge()) {
        return;
      }
      picked = started(call).hedge();
      if (!picked.isAvailable() || !race.hedged(hedge)) {
        return; // no hedge: the first attempt is the RPC's
      }
    }
    hedgeCall = launch(picked, hedge);
  }

  /** Starts the call of one attempt and replays what the caller did; returns it. Serializer. */
  private ClientCall<ReqT, RespT> launch(
      @Nullable Attempt picked, RpcAttempt<ReqT, RespT> attemptListener) {
    AttemptSlot slot = new AttemptSlot(started(call), picked, attemptListener::sent);
    attemptListener.slot = slot;
    CallOptions options =
        callOptions.withOption(AttemptSlot.KEY, slot).withStreamTracerFactory(slot);
    long timeout =
        RpcDeadlines.attemptTimeoutNanos(picked, retry, method.getType(), remainingNanos());
    if (timeout != Long.MAX_VALUE) {
      options = options.withDeadlineAfter(timeout, TimeUnit.NANOSECONDS);
      attemptListener.timed = true;
    }
    Context previous = context.attach();
    ClientCall<ReqT, RespT> c;
    try {
      c = next.newCall(method, options);
      attemptListener.attemptCall = c;
      c.start(attemptListener, copy(started(headers)));
    } finally {
      context.detach(previous);
    }
    record.replayOnto(c);
    return c;
  }

  /** Does what the caller did on every attempt that is out. In the serializer. */
  private void toAttempts(Consumer<ClientCall<ReqT, RespT>> action) {
    ClientCall<ReqT, RespT> c = current;
    if (c != null) {
      action.accept(c);
    }
    ClientCall<ReqT, RespT> h = hedgeCall;
    if (h != null) {
      action.accept(h);
    }
  }

  /**
   * {@code by} answers for the caller: the RPC can no longer be repeated, the caller's messages are
   * let go, and the other attempt out, if any, is cancelled as overtaken. False if the other
   * answered first (then {@code by} is the one overtaken).
   */
  boolean commit(RpcAttempt<ReqT, RespT> by) {
    if (!race.claim(by)) {
      return false;
    }
    started(call).cancelHedge();
    if (!committed) {
      committed = true;
      current = by.attemptCall;
      hedgeCall = null;
      serializer.execute(record::release);
    }
    RpcAttempt<ReqT, RespT> l = race.other(by);
    if (l != null) {
      l.overtake();
      serializer.execute(
          () -> {
            ClientCall<ReqT, RespT> c = l.attemptCall;
            if (c != null) {
              c.cancel("overtaken: another attempt of the RPC answered first", null);
            }
          });
    }
    return true;
  }

  /** Waits out a retry's delay, then starts the retry or ends the RPC with the last status. */
  private void retryAfter(long delayNanos, Status last, Metadata lastTrailers) {
    Runnable retry =
        () ->
            serializer.execute(
                () -> {
                  if (cancelled) {
                    finishCancelled();
                    return;
                  }
                  Attempt nextAttempt = started(call).next();
                  if (!nextAttempt.isAvailable()) {
                    finishOutside(history.describe(last, nextAttempt.reason()), lastTrailers);
                    return;
                  }
                  startAttempt(nextAttempt);
                });
    if (delayNanos <= 0) {
      retry.run();
      return;
    }
    try {
      owner.rules.runAfter(delayNanos, retry);
    } catch (RejectedExecutionException e) {
      finishOutside( // the retry allowed is not taken: no endpoint is held meanwhile
          history.describe(last, "the retry scheduler refused the retry (" + e.getMessage() + ")"),
          lastTrailers);
    }
  }

  /** Closes a cancelled call (unless the cancelled attempt's listener did), from outside. */
  private void finishCancelled() {
    Status status = cancelStatus;
    finishOutside(
        status != null ? status : Status.CANCELLED.withDescription("cancelled by the caller"),
        new Metadata());
  }

  private void finishOutside(Status status, Metadata trailers) {
    caller.closeOutside(status, trailers, () -> current = null);
  }

  /** Closes the caller's call once, with the last attempt's held headers first. */
  void finish(Status status, Metadata trailers, @Nullable Metadata heldHeaders) {
    current = null;
    caller.close(status, trailers, heldHeaders);
  }

  long remainingNanos() {
    return RpcDeadlines.remainingNanos(callOptions, context);
  }

  /**
   * Acts on how the RPC's attempts ended without an answer for the caller: {@code ended} is the
   * latest attempt's outcome, whose decision stands; {@code earlier}, beside a hedge, the one that
   * ended first; {@code last} the one that ended last. Retries as the decision says, or closes the
   * call with the latest attempt's status.
   */
  void act(HedgeRace.Ended ended, HedgeRace.@Nullable Ended earlier, HedgeRace.Ended last) {
    if (earlier != null) {
      serializer.execute(() -> history.add(earlier.description()));
      if (ended.decision().isRetry() && remainingNanos() <= 0) {
        // The hedge allowed a retry when it ended, but the RPC's time ran out while the first
        // attempt was still out: the caller gets how the last one ended (its deadline).
        finish(history.describe(last.status(), null), last.trailers(), last.heldHeaders());
        return;
      }
    }
    RetryDecision decision = ended.decision();
    if (!decision.isRetry()) {
      finish(
          history.describe(ended.status(), decision.unavailableReason()),
          ended.trailers(),
          ended.heldHeaders());
      return;
    }
    serializer.execute(() -> history.add(ended.description()));
    current = null;
    hedgeCall = null;
    retryAfter(decision.delayNanos(), ended.status(), ended.trailers());
  }

  /** An attempt was sent to a connection the {@code loadstar} policy had not routed it to. */
  void unrouted() {
    owner.unrouted(method.getFullMethodName());
  }

  /** Whether the caller gave up on the RPC (cancelled it, or its context was cancelled). */
  boolean callerGaveUp() {
    return cancelled || context.isCancelled();
  }

  /** Whether the RPC can be repeated after an attempt numbered {@code number} that was sent. */
  boolean repeatable(int number, boolean sent) {
    return !committed
        && !(commitOnSent && sent)
        && number < (retry != null ? retry.maxAttempts : Integer.MAX_VALUE);
  }

  /** The RPC's outcome of one attempt, reported to the balancer: its retry decision. */
  RetryDecision report(
      Attempt attempt,
      Status status,
      Metadata trailers,
      boolean sent,
      boolean timedOut,
      long remainingNanos) {
    return StatusOutcome.report(
        attempt, status, trailers, sent, timedOut, remainingNanos, owner.rules, retry);
  }

  HedgeRace<RpcAttempt<ReqT, RespT>> race() {
    return race;
  }

  boolean commitOnSent() {
    return commitOnSent;
  }

  ClientCall.Listener<RespT> callerListener() {
    return caller.listener();
  }

  BalancedCall call() {
    return started(call);
  }

  AttemptHistory history() {
    return history;
  }

  private static Metadata copy(Metadata headers) {
    Metadata m = new Metadata();
    m.merge(headers);
    return m;
  }

  /** Returns {@code value}, set by {@code start()}; throws if the call was not started. */
  private static <T> T started(@Nullable T value) {
    if (value == null) {
      throw new IllegalStateException("start() was not called");
    }
    return value;
  }

  @Override
  public String toString() {
    return method.getFullMethodName() + ", " + call;
  }
}
