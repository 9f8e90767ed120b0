package io.loadstar.grpc;

import io.grpc.Attributes;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import org.jspecify.annotations.Nullable;

/**
 * One RPC on a Loadstar channel, as its caller sees it: a {@link ClientCall} that refuses misuse at
 * once, as gRPC's own call does, and hands everything else to the RPC's attempts ({@link
 * RpcAttempts}: picked, hedged, retried, reported).
 */
final class BalancedClientCall<ReqT, RespT> extends ClientCall<ReqT, RespT> {

  private final RpcAttempts<ReqT, RespT> attempts;

  // The caller's (ClientCall's methods but cancel are called one at a time).
  private boolean started;
  private boolean halfCloseCalled;

  BalancedClientCall(
      BalancingInterceptor owner,
      MethodDescriptor<ReqT, RespT> method,
      CallOptions callOptions,
      Channel next) {
    this.attempts = new RpcAttempts<>(owner, method, callOptions, next);
  }

  @Override
  public void start(Listener<RespT> responseListener, Metadata headers) {
    if (started) {
      throw new IllegalStateException("start() was called already");
    }
    started = true;
    attempts.start(responseListener, headers);
  }

  @Override
  public void request(int numMessages) {
    checkStarted();
    if (numMessages < 0) {
      throw new IllegalArgumentException("numMessages: " + numMessages + " (expected: 0 or more)");
    }
    attempts.request(numMessages);
  }

  @Override
  public void sendMessage(ReqT message) {
    checkStarted();
    if (halfCloseCalled) {
      throw new IllegalStateException("sendMessage() after halfClose()");
    }
    attempts.sendMessage(message);
  }

  @Override
  public void halfClose() {
    checkStarted();
    if (halfCloseCalled) {
      throw new IllegalStateException("halfClose() was called already");
    }
    halfCloseCalled = true;
    attempts.halfClose();
  }

  @Override
  public void setMessageCompression(boolean enabled) {
    attempts.setMessageCompression(enabled);
  }

  @Override
  public void cancel(@Nullable String message, @Nullable Throwable cause) {
    attempts.cancel(message, cause);
  }

  @Override
  public boolean isReady() {
    ClientCall<ReqT, RespT> c = attempts.current();
    return c != null && c.isReady();
  }

  @Override
  public Attributes getAttributes() {
    ClientCall<ReqT, RespT> c = attempts.current();
    return c != null ? c.getAttributes() : Attributes.EMPTY;
  }

  private void checkStarted() {
    if (!started) {
      throw new IllegalStateException("start() was not called");
    }
  }

  @Override
  public String toString() {
    return "BalancedClientCall{" + attempts + '}';
  }
}
