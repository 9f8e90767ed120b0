package io.loadstar.grpc;

import io.grpc.Attributes;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.SynchronizationContext;
import io.loadstar.api.Attempt;
import io.loadstar.api.BalancedCall;
import io.loadstar.api.CallFailure;
import io.loadstar.api.PickContext;
import io.loadstar.api.RetryDecision;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
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
 * <p>An attempt's outcome is reported when its call closes: OK, or a code that is neither a failure
 * code nor retryable, is a success; a call never sent (no headers written) failed with {@link
 * CallFailure.Kind#NOT_SENT}; a failure code, or a retryable one, after it was sent is {@link
 * CallFailure.Kind#POSSIBLY_PROCESSED}. The balancer decides whether to retry, on an endpoint the
 * RPC has not tried, after its backoff or the server's {@code grpc-retry-pushback-ms}, within the
 * RPC's deadline and the service's budget.
 *
 * <p>The caller's calls and the switch from one attempt to the next run one at a time in the call's
 * {@link SynchronizationContext}; an attempt's callbacks come from gRPC, one at a time, and only
 * the committed attempt (or the last one) speaks to the caller's listener.
 */
final class BalancedClientCall<ReqT, RespT> extends ClientCall<ReqT, RespT> {

  private static final Logger logger = LoggerFactory.getLogger(BalancedClientCall.class);
  private static final Metadata.Key<String> PUSHBACK =
      Metadata.Key.of("grpc-retry-pushback-ms", Metadata.ASCII_STRING_MARSHALLER);
  private static final long NO_RETRY = -2;

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
  private int requested;
  private @Nullable List<ReqT> messages = new ArrayList<>(1);
  private boolean halfClosed;
  private @Nullable Boolean compression;
  private @Nullable List<String> earlier; // the failed attempts, for the final status

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
    Boolean marked = callOptions.getOption(LoadstarGrpc.RETRYABLE);
    GrpcRules.Retry byRules = owner.rules.retryOf(method);
    if (marked == null) {
      this.retry = byRules;
    } else {
      this.retry = marked ? (byRules != null ? byRules : GrpcRules.Retry.DEFAULT) : null;
    }
    this.commitOnSent = retry == null || !method.getType().clientSendsOneMessage();
  }

  @Override
  public void start(Listener<RespT> responseListener, Metadata headers) {
    if (listener != null) {
      throw new IllegalStateException("start() was called already");
    }
    this.listener = responseListener;
    this.headers = copy(headers);
    BalancedCall c = owner.balancer.newCall(pickContext(headers), retry != null);
    this.call = c;
    serializer.execute(
        () -> {
          Attempt first = null;
          if (ready()) {
            try {
              first = c.first(0);
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt(); // not reached: first(0) never waits
            }
          }
          // else: the balancer has no endpoints yet; the picker takes the first attempt once the
          // channel has a picker, and gRPC holds the RPC meanwhile, up to its deadline.
          startAttempt(first);
        });
  }

  private boolean ready() {
    try {
      return owner.balancer.awaitReady(Duration.ZERO);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  private PickContext pickContext(Metadata headers) {
    String key = callOptions.getOption(LoadstarGrpc.HASH_KEY);
    if (key == null) {
      Metadata.Key<String> header = owner.rules.hashKeyHeaderKey();
      if (header != null) {
        key = headers.get(header);
      }
    }
    return key != null ? PickContext.ofHashKey(key) : PickContext.empty();
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
            requested = (int) Math.min(Integer.MAX_VALUE, (long) requested + numMessages);
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
          List<ReqT> kept = messages;
          if (!committed && kept != null) {
            kept.add(message);
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
          halfClosed = true;
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
          compression = enabled;
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
    AttemptSlot slot = new AttemptSlot(callOrThrow(), picked, attemptListener::sent);
    attemptListener.slot = slot;
    CallOptions options =
        callOptions.withOption(AttemptSlot.KEY, slot).withStreamTracerFactory(slot);
    Context previous = context.attach();
    ClientCall<ReqT, RespT> c;
    try {
      c = next.newCall(method, options);
      attemptListener.attemptCall = c;
      current = c;
      c.start(attemptListener, copy(headersOrThrow()));
    } finally {
      context.detach(previous);
    }
    Boolean compress = compression;
    if (compress != null) {
      c.setMessageCompression(compress);
    }
    if (requested > 0) {
      c.request(requested);
    }
    List<ReqT> kept = messages;
    if (kept != null) {
      for (ReqT m : kept) {
        c.sendMessage(m);
      }
    }
    if (halfClosed) {
      c.halfClose();
    }
  }

  /** The RPC can no longer be repeated: the caller's messages are let go. */
  private void commit() {
    if (!committed) {
      committed = true;
      serializer.execute(() -> messages = null);
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
                  Attempt nextAttempt = callOrThrow().next();
                  if (!nextAttempt.isAvailable()) {
                    finishOutside(withEarlier(last, nextAttempt.reason()), lastTrailers);
                    return;
                  }
                  startAttempt(nextAttempt);
                });
    if (delayNanos <= 0) {
      retry.run();
      return;
    }
    ScheduledExecutorService scheduler = owner.rules.retryScheduler();
    try {
      if (scheduler != null) {
        scheduler.schedule(retry, delayNanos, TimeUnit.NANOSECONDS);
      } else {
        CompletableFuture.delayedExecutor(delayNanos, TimeUnit.NANOSECONDS).execute(retry);
      }
    } catch (RejectedExecutionException e) {
      finishOutside( // the retry allowed is not taken: no endpoint is held meanwhile
          withEarlier(last, "the retry scheduler refused the retry (" + e.getMessage() + ")"),
          lastTrailers);
    }
  }

  /**
   * Closes a cancelled call, unless the cancelled attempt's listener did: from the serializer, not
   * an attempt's callback, so through the call's executor.
   */
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
    Listener<RespT> l = listenerOrThrow();
    if (heldHeaders != null) {
      l.onHeaders(heldHeaders);
    }
    l.onClose(status, trailers);
  }

  private Status withEarlier(Status status, @Nullable String unavailableReason) {
    List<String> before = earlier;
    if (before == null && unavailableReason == null) {
      return status;
    }
    StringBuilder sb = new StringBuilder("Loadstar, service ").append(owner.balancer.name());
    if (before != null) {
      sb.append(": earlier attempts ").append(String.join("; ", before));
    }
    if (unavailableReason != null) {
      sb.append(": no endpoint left to retry on: ").append(unavailableReason);
    }
    return status.augmentDescription(sb.toString());
  }

  private long remainingNanos() {
    Deadline deadline = callOptions.getDeadline();
    Deadline inherited = context.getDeadline();
    if (inherited != null && (deadline == null || inherited.isBefore(deadline))) {
      deadline = inherited;
    }
    return deadline == null
        ? Long.MAX_VALUE
        : Math.max(0, deadline.timeRemaining(TimeUnit.NANOSECONDS));
  }

  /** The server's pushback: its delay in nanoseconds, -1 if none, NO_RETRY if it said no. */
  private static long pushback(Metadata trailers) {
    String value = trailers.get(PUSHBACK);
    if (value == null) {
      return -1;
    }
    try {
      long ms = Long.parseLong(value.trim());
      return ms < 0 ? NO_RETRY : TimeUnit.MILLISECONDS.toNanos(ms);
    } catch (NumberFormatException e) {
      return NO_RETRY; // gRFC A6: an unparsable pushback means do not retry
    }
  }

  private static Metadata copy(Metadata headers) {
    Metadata m = new Metadata();
    m.merge(headers);
    return m;
  }

  private void checkStarted() {
    if (listener == null) {
      throw new IllegalStateException("start() was not called");
    }
  }

  private BalancedCall callOrThrow() {
    BalancedCall c = call;
    if (c == null) {
      throw new IllegalStateException("start() was not called");
    }
    return c;
  }

  private Metadata headersOrThrow() {
    Metadata h = headers;
    if (h == null) {
      throw new IllegalStateException("start() was not called");
    }
    return h;
  }

  private Listener<RespT> listenerOrThrow() {
    Listener<RespT> l = listener;
    if (l == null) {
      throw new IllegalStateException("start() was not called");
    }
    return l;
  }

  @Override
  public String toString() {
    return "BalancedClientCall{" + method.getFullMethodName() + ", " + call + '}';
  }

  /** One attempt's callbacks, one at a time from gRPC. */
  private final class AttemptListener extends Listener<RespT> {
    @Nullable AttemptSlot slot; // set before the attempt starts
    @Nullable ClientCall<ReqT, RespT> attemptCall;
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
        listenerOrThrow().onHeaders(responseHeaders);
      } else {
        heldHeaders = responseHeaders;
      }
    }

    @Override
    public void onMessage(RespT message) {
      commit();
      Metadata held = heldHeaders;
      Listener<RespT> l = listenerOrThrow();
      if (held != null) {
        heldHeaders = null;
        l.onHeaders(held);
      }
      l.onMessage(message);
    }

    @Override
    public void onReady() {
      if (current == attemptCall) {
        listenerOrThrow().onReady();
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
        finish(withEarlier(status, null), trailers, held);
        return;
      }
      long latency = attempt.elapsedNanos();
      boolean sent = s.wasSent();
      if (sent && !s.wasRouted()) {
        owner.unrouted(method.getFullMethodName());
        attempt.cancelled(); // not the endpoint it went to: report nothing about it
        finish(status, trailers, held);
        return;
      }
      if (status.isOk()) {
        attempt.succeeded(latency);
        finish(status, trailers, held);
        return;
      }
      if (cancelled || context.isCancelled()) {
        attempt.cancelled(); // the caller gave up: not the endpoint's fault
        finish(status, trailers, held);
        return;
      }
      GrpcRules.Retry r = retry;
      boolean canRetry =
          !committed
              && !(commitOnSent && sent)
              && attempt.number() < (r != null ? r.maxAttempts : Integer.MAX_VALUE);
      long remaining = canRetry ? remainingNanos() : 0;
      StatusRuntimeException error = new StatusRuntimeException(status, trailers);
      RetryDecision decision;
      if (!sent) {
        decision = attempt.failed(CallFailure.notSent(error), latency, -1, remaining);
      } else {
        Status.Code code = status.getCode();
        boolean failure =
            owner.rules.failureCodes().contains(code) || code == Status.Code.CANCELLED;
        boolean retryable = r != null && r.codes.contains(code);
        long pushback = pushback(trailers);
        if (!retryable || pushback == NO_RETRY) {
          remaining = 0;
        }
        long retryAfter = Math.max(-1, pushback);
        if (failure) {
          decision =
              attempt.failed(CallFailure.possiblyProcessed(error), latency, retryAfter, remaining);
        } else if (remaining > 0) {
          decision =
              attempt.refused(CallFailure.possiblyProcessed(error), latency, retryAfter, remaining);
        } else {
          attempt.succeeded(latency); // the application's answer
          finish(withEarlier(status, null), trailers, held);
          return;
        }
      }
      if (!decision.isRetry()) {
        finish(withEarlier(status, decision.unavailableReason()), trailers, held);
        return;
      }
      String failed =
          attempt.endpoint().key()
              + " "
              + status.getCode()
              + (sent ? "" : " (not sent)")
              + (status.getDescription() != null ? ": " + status.getDescription() : "");
      serializer.execute(
          () -> {
            List<String> before = earlier;
            if (before == null) {
              before = new ArrayList<>(2);
              earlier = before;
            }
            before.add(failed);
          });
      current = null;
      retryAfter(decision.delayNanos(), status, trailers);
    }
  }
}
