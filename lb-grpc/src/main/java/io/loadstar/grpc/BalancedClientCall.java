package io.loadstar.grpc;

import io.grpc.Attributes;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.Context;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.SynchronizationContext;
import io.loadstar.api.Attempt;
import io.loadstar.api.BalancedCall;
import io.loadstar.api.RetryDecision;
import java.time.Duration;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One RPC on a Loadstar channel: its attempts, each a call on the channel carrying an {@link
 * AttemptSlot} that the {@code loadstar} picker routes to the attempt's endpoint.
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
 * deadline, when sooner than the RPC's; an attempt it ends is the endpoint's failure.
 *
 * <p>The caller's calls and the switch from one attempt to the next run one at a time in the call's
 * {@link SynchronizationContext}; an attempt's callbacks come from gRPC, one at a time, and only
 * the committed attempt (or the last one) speaks to the caller's listener.
 */
final class BalancedClientCall<ReqT, RespT> extends ClientCall<ReqT, RespT> {

  private static final Logger logger = LoggerFactory.getLogger(BalancedClientCall.class);

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
  private final AtomicBoolean closed = new AtomicBoolean();

  // Set in start(), before any attempt; read by attempts after it.
  private volatile @Nullable Listener<RespT> listener;
  private @Nullable Metadata headers;
  private @Nullable BalancedCall call;

  // The caller's (ClientCall's methods but cancel are called one at a time): its misuse is
  // refused at once, as gRPC's own call refuses it, not from the serializer.
  private boolean halfCloseCalled;

  // The serializer's.
  private final CallRecord<ReqT> record = new CallRecord<>();
  private final AttemptHistory history;

  private volatile boolean committed;
  private volatile boolean cancelled;
  private @Nullable Status cancelStatus; // the serializer's: the caller's cancel
  private volatile @Nullable ClientCall<ReqT, RespT> current;

  BalancedClientCall(
      BalancingInterceptor owner,
      MethodDescriptor<ReqT, RespT> method,
      CallOptions callOptions,
      Channel next) {
    this.owner = owner;
    this.method = method;
    this.callOptions = callOptions;
    this.next = next;
    this.context = Context.current();
    this.history = new AttemptHistory(owner.balancer.name());
    this.retry = owner.rules.retryOf(method, callOptions);
    this.commitOnSent = retry == null || !method.getType().clientSendsOneMessage();
  }

  @Override
  public void start(Listener<RespT> responseListener, Metadata headers) {
    if (listener != null) {
      throw new IllegalStateException("start() was called already");
    }
    this.listener = responseListener;
    this.headers = copy(headers);
    BalancedCall c =
        owner.balancer.newCall(owner.rules.pickContext(callOptions, headers), retry != null);
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

  @Override
  public void request(int numMessages) {
    checkStarted();
    if (numMessages < 0) {
      throw new IllegalArgumentException("numMessages: " + numMessages + " (expected: 0 or more)");
    }
    serializer.execute(
        () -> {
          if (!committed) {
            record.request(numMessages);
          }
          ClientCall<ReqT, RespT> c = current;
          if (c != null) {
            c.request(numMessages);
          }
        });
  }

  @Override
  public void sendMessage(ReqT message) {
    checkStarted();
    if (halfCloseCalled) {
      throw new IllegalStateException("sendMessage() after halfClose()");
    }
    serializer.execute(
        () -> {
          if (!committed) {
            record.message(message);
          }
          ClientCall<ReqT, RespT> c = current;
          if (c != null) {
            c.sendMessage(message);
          }
        });
  }

  @Override
  public void halfClose() {
    checkStarted();
    if (halfCloseCalled) {
      throw new IllegalStateException("halfClose() was called already");
    }
    halfCloseCalled = true;
    serializer.execute(
        () -> {
          record.halfClose();
          ClientCall<ReqT, RespT> c = current;
          if (c != null) {
            c.halfClose();
          }
        });
  }

  @Override
  public void setMessageCompression(boolean enabled) {
    serializer.execute(
        () -> {
          record.compression(enabled);
          ClientCall<ReqT, RespT> c = current;
          if (c != null) {
            c.setMessageCompression(enabled);
          }
        });
  }

  @Override
  public void cancel(@Nullable String message, @Nullable Throwable cause) {
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
          ClientCall<ReqT, RespT> c = current;
          if (c != null) {
            c.cancel(message, cause); // its listener reports the attempt and closes the call
          } else if (listener != null) {
            // Waiting out a retry's backoff: no attempt holds an endpoint.
            finishCancelled();
          }
          // else: before start(), which closes the call at once
        });
  }

  @Override
  public boolean isReady() {
    ClientCall<ReqT, RespT> c = current;
    return c != null && c.isReady();
  }

  @Override
  public Attributes getAttributes() {
    ClientCall<ReqT, RespT> c = current;
    return c != null ? c.getAttributes() : Attributes.EMPTY;
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
    AttemptListener attemptListener = new AttemptListener();
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
      current = c;
      c.start(attemptListener, copy(started(headers)));
    } finally {
      context.detach(previous);
    }
    record.replayOnto(c);
  }

  /** The RPC can no longer be repeated: the caller's messages are let go. */
  private void commit() {
    if (!committed) {
      committed = true;
      serializer.execute(record::release);
    }
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

  /**
   * Closes the caller's call from outside the attempts' callbacks (a retry's timer, a cancel):
   * through the call's executor when it has one, as gRPC delivers every callback. A blocking stub
   * waits on that executor, and would never see a close delivered from another thread.
   */
  private void finishOutside(Status status, Metadata trailers) {
    Executor executor = callOptions.getExecutor();
    if (executor == null) {
      finish(status, trailers, null);
      return;
    }
    try {
      executor.execute(() -> finish(status, trailers, null));
    } catch (RejectedExecutionException e) {
      finish(status, trailers, null);
    }
  }

  /** Closes the caller's call once, with the last attempt's held headers first. */
  private void finish(Status status, Metadata trailers, @Nullable Metadata heldHeaders) {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    current = null;
    Listener<RespT> l = started(listener);
    if (heldHeaders != null) {
      l.onHeaders(heldHeaders);
    }
    l.onClose(status, trailers);
  }

  private long remainingNanos() {
    return RpcDeadlines.remainingNanos(callOptions, context);
  }

  private static Metadata copy(Metadata headers) {
    Metadata m = new Metadata();
    m.merge(headers);
    return m;
  }

  private void checkStarted() {
    started(listener);
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
    return "BalancedClientCall{" + method.getFullMethodName() + ", " + call + '}';
  }

  /** One attempt's callbacks, one at a time from gRPC. */
  private final class AttemptListener extends Listener<RespT> {
    @Nullable AttemptSlot slot; // set before the attempt starts
    @Nullable ClientCall<ReqT, RespT> attemptCall;
    boolean timed; // carries the attempt's own deadline; set before the attempt starts
    private @Nullable Metadata heldHeaders;

    /** The attempt's headers were written to a connection. */
    void sent() {
      if (commitOnSent) {
        commit();
      }
    }

    @Override
    public void onHeaders(Metadata responseHeaders) {
      if (committed) {
        started(listener).onHeaders(responseHeaders);
      } else {
        heldHeaders = responseHeaders;
      }
    }

    @Override
    public void onMessage(RespT message) {
      commit();
      Metadata held = heldHeaders;
      Listener<RespT> l = started(listener);
      if (held != null) {
        heldHeaders = null;
        l.onHeaders(held);
      }
      l.onMessage(message);
    }

    @Override
    public void onReady() {
      if (current == attemptCall) {
        started(listener).onReady();
      }
    }

    @Override
    public void onClose(Status status, Metadata trailers) {
      AttemptSlot s = slot;
      Attempt attempt = s != null ? s.close() : null;
      Metadata held = heldHeaders;
      heldHeaders = null;
      if (attempt == null || !attempt.isAvailable()) {
        // No endpoint was picked: closed before a picker routed it (a deadline, a cancel), or
        // nothing could be picked and the picker dropped it with the reason.
        finish(history.describe(status, null), trailers, held);
        return;
      }
      boolean sent = s.wasSent();
      if (sent && !s.wasRouted()) {
        owner.unrouted(method.getFullMethodName());
        attempt.cancelled(); // not the endpoint it went to: report nothing about it
        finish(status, trailers, held);
        return;
      }
      if (!status.isOk() && (cancelled || context.isCancelled())) {
        attempt.cancelled(); // the caller gave up: not the endpoint's fault
        finish(status, trailers, held);
        return;
      }
      GrpcRules.Retry r = retry;
      boolean canRetry =
          !committed
              && !(commitOnSent && sent)
              && attempt.number() < (r != null ? r.maxAttempts : Integer.MAX_VALUE);
      long remaining = remainingNanos();
      boolean timedOut = RpcDeadlines.attemptTimedOut(timed, status, remaining);
      RetryDecision decision =
          StatusOutcome.report(
              attempt, status, trailers, sent, timedOut, canRetry ? remaining : 0, owner.rules, r);
      if (!decision.isRetry()) {
        finish(history.describe(status, decision.unavailableReason()), trailers, held);
        return;
      }
      String failed = StatusOutcome.describe(attempt, status, sent);
      serializer.execute(() -> history.add(failed));
      current = null;
      retryAfter(decision.delayNanos(), status, trailers);
    }
  }
}
