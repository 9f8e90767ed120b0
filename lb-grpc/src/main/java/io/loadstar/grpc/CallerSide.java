package io.loadstar.grpc;

import io.grpc.ClientCall;
import io.grpc.Metadata;
import io.grpc.Status;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jspecify.annotations.Nullable;

/**
 * The caller's listener of one RPC ({@link RpcAttempts}), closed once: from an attempt's callback,
 * or from outside them (a retry's timer, a cancel) through the call's executor when it has one, as
 * gRPC delivers every callback. A blocking stub waits on that executor, and would never see a close
 * delivered from another thread. Thread-safe.
 */
final class CallerSide<RespT> {

  private final @Nullable Executor executor;
  private final AtomicBoolean closed = new AtomicBoolean();
  private volatile ClientCall.@Nullable Listener<RespT> listener;

  CallerSide(@Nullable Executor executor) {
    this.executor = executor;
  }

  /** The caller started the RPC with {@code listener}. */
  void started(ClientCall.Listener<RespT> listener) {
    this.listener = listener;
  }

  boolean isStarted() {
    return listener != null;
  }

  /** The caller's listener; throws if the RPC was not started. */
  ClientCall.Listener<RespT> listener() {
    ClientCall.Listener<RespT> l = listener;
    if (l == null) {
      throw new IllegalStateException("start() was not called");
    }
    return l;
  }

  /** Closes the caller's call once, with the last attempt's held headers first. */
  void close(Status status, Metadata trailers, @Nullable Metadata heldHeaders) {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    ClientCall.Listener<RespT> l = listener();
    if (heldHeaders != null) {
      l.onHeaders(heldHeaders);
    }
    l.onClose(status, trailers);
  }

  /** Closes the caller's call from outside the attempts' callbacks. */
  void closeOutside(Status status, Metadata trailers, Runnable before) {
    Executor e = executor;
    if (e == null) {
      before.run();
      close(status, trailers, null);
      return;
    }
    try {
      e.execute(
          () -> {
            before.run();
            close(status, trailers, null);
          });
    } catch (RejectedExecutionException rejected) {
      before.run();
      close(status, trailers, null);
    }
  }
}
