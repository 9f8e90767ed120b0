package io.loadstar.httpclient5;

import io.loadstar.api.Attempt;
import io.loadstar.api.BalancedCall;
import io.loadstar.api.LoadBalancer;
import java.io.IOException;
import java.io.InterruptedIOException;
import org.apache.hc.client5.http.async.AsyncExecCallback;
import org.apache.hc.client5.http.async.AsyncExecChain;
import org.apache.hc.client5.http.async.AsyncExecChainHandler;
import org.apache.hc.core5.http.HttpException;
import org.apache.hc.core5.http.HttpRequest;
import org.apache.hc.core5.http.nio.AsyncEntityProducer;
import org.jspecify.annotations.Nullable;

/**
 * The async client's balancing stage: a request to a balanced host becomes an {@link AsyncCall}
 * whose attempts go down the rest of the chain on routes to the picked endpoints; other requests
 * pass through. The first pick does not wait for discovery: an async caller must not block.
 */
final class AsyncBalancingHandler implements AsyncExecChainHandler {

  private final HttpClientLoadBalancing balancing;

  AsyncBalancingHandler(HttpClientLoadBalancing balancing) {
    this.balancing = balancing;
  }

  @Override
  public void execute(
      HttpRequest request,
      @Nullable AsyncEntityProducer entityProducer,
      AsyncExecChain.Scope scope,
      AsyncExecChain chain,
      AsyncExecCallback callback)
      throws HttpException, IOException {
    String host = HttpRules.requestHost(request, scope.route);
    LoadBalancer lb = balancing.balancerOf(host);
    scope.clientContext.setAttribute(HttpClientLoadBalancing.BALANCED, lb != null);
    if (lb == null) {
      chain.proceed(request, entityProducer, scope, callback);
      return;
    }
    HttpRules.checkNoProxy(host, scope.route);
    HttpClientLoadBalancing.Settings settings = balancing.settings();
    boolean idempotent = HttpRules.idempotent(request, scope.clientContext);
    BalancedCall call =
        lb.newCall(HttpRules.pickContext(request, scope.clientContext, settings.key()), idempotent);
    Attempt first;
    try {
      first = call.first(0);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while picking an endpoint");
    }
    if (!first.isAvailable()) {
      throw new EndpointUnavailableException(lb.name(), first.reason());
    }
    new AsyncCall(
            settings,
            lb.name(),
            lb.inspect().retryPolicy(),
            call,
            request,
            entityProducer,
            scope,
            chain,
            callback,
            idempotent)
        .start(first);
  }
}
