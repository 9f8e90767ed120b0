package io.loadstar.httpclient5;

import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.hc.client5.http.classic.ExecChain;
import org.apache.hc.client5.http.classic.ExecRuntime;
import org.apache.hc.client5.http.protocol.HttpClientContext;
import org.apache.hc.core5.concurrent.Cancellable;
import org.apache.hc.core5.concurrent.CancellableDependency;
import org.apache.hc.core5.concurrent.ComplexCancellable;
import org.jspecify.annotations.Nullable;

/*
 * Design notes: the classic chain gives a handler no way to bound one exchange's wait for its
 * answer without also bounding the caller's reads of the body (the socket timeout is the
 * connection's), and no way to run two exchanges of one request at once on the request's runtime.
 * Both are done the way HttpClient aborts a request: each attempt that may be cut or raced runs on
 * a runtime forked from the request's, depending on a cancellable of its own; cutting it (its
 * attempt timeout passed before the answer arrived, or the other attempt of a hedged request won)
 * cancels that, which shuts its connection. The caller's abort of the request reaches every such
 * attempt through the request's dependency. The timer is the JDK's shared delayer
 * (CompletableFuture.orTimeout), cancelled once the answer is in: no thread of Loadstar's.
 */
/** One attempt's exchange on a runtime of its own, which can be cut. Thread-safe. */
final class ClassicExchange {

  private static final int RUNNING = 0;
  private static final int ANSWERED = 1;
  private static final int TIMED_OUT = 2;
  private static final int CANCELLED = 3;

  private final ComplexCancellable cancellable = new ComplexCancellable();
  private final AtomicInteger state = new AtomicInteger(RUNNING);
  private final ExecRuntime runtime;
  private final HttpClientContext context;
  private volatile @Nullable CompletableFuture<Void> deadline;

  private ClassicExchange(ExecRuntime requestRuntime, HttpClientContext context) {
    this.runtime = requestRuntime.fork(cancellable);
    this.context = context;
  }

  /**
   * The exchanges of one request that run on runtimes of their own; the request's abort cuts all.
   */
  static final class Calls implements Cancellable {
    private final Set<ClassicExchange> running =
        ConcurrentHashMap.newKeySet(); // at most maxAttempts
    private final ExecChain.Scope scope;
    private volatile boolean aborted;

    private Calls(ExecChain.Scope scope) {
      this.scope = scope;
    }

    /** The request's exchanges, registered as its dependency: its abort cuts them. */
    static Calls of(ExecChain.Scope scope) {
      Calls calls = new Calls(scope);
      if (scope.originalRequest instanceof CancellableDependency) {
        ((CancellableDependency) scope.originalRequest).setDependency(calls);
      }
      return calls;
    }

    /**
     * A new exchange for one attempt, in {@code context}; cut at once if the request was aborted.
     */
    ClassicExchange start(HttpClientContext context) {
      ClassicExchange e = new ClassicExchange(scope.execRuntime, context);
      running.add(e);
      if (aborted || scope.execRuntime.isExecutionAborted()) {
        e.abort();
      }
      return e;
    }

    /** The request was aborted: every exchange is cut, a body being read included. */
    @Override
    public boolean cancel() {
      aborted = true;
      for (ClassicExchange e : running) {
        e.abort();
      }
      return true;
    }
  }

  /** The scope the attempt runs in: its route, this exchange's runtime and context. */
  ExecChain.Scope scope(ExecChain.Scope request, org.apache.hc.client5.http.HttpRoute route) {
    return new ExecChain.Scope(
        request.exchangeId, route, request.originalRequest, runtime, context);
  }

  ExecRuntime runtime() {
    return runtime;
  }

  /** Cuts the exchange if its answer has not arrived {@code nanos} from now. */
  void timeoutAfter(long nanos) {
    deadline =
        HttpRules.timer(
            nanos,
            () -> {
              if (state.compareAndSet(RUNNING, TIMED_OUT)) {
                cancellable.cancel();
              }
            });
  }

  /**
   * The answer is in (its head, and what was read ahead): the exchange is no longer cut, and the
   * caller's reads of the body keep the client's timeouts. False if it was cut first.
   */
  boolean answered() {
    CompletableFuture<Void> d = deadline;
    if (d != null) {
      d.complete(null); // cancels the timer
    }
    return state.compareAndSet(RUNNING, ANSWERED);
  }

  /** Whether the attempt timeout cut the exchange. */
  boolean timedOut() {
    return state.get() == TIMED_OUT;
  }

  /** Whether the exchange was cancelled (its hedge won, or the request was aborted). */
  boolean isCancelled() {
    return state.get() == CANCELLED;
  }

  /** Cuts the exchange, unless its answer is in; shuts its connection if it has one. */
  void cancel() {
    if (state.compareAndSet(RUNNING, CANCELLED)) {
      stop();
    }
  }

  /** The request was aborted: cuts the exchange, even while its body is read. */
  private void abort() {
    state.compareAndSet(RUNNING, CANCELLED);
    stop();
  }

  private void stop() {
    cancellable.cancel();
    CompletableFuture<Void> d = deadline;
    if (d != null) {
      d.complete(null);
    }
  }
}
