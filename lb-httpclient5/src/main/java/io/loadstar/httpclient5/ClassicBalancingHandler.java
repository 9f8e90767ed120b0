package io.loadstar.httpclient5;

import io.loadstar.api.AttemptLoop;
import io.loadstar.api.BalancedCall;
import io.loadstar.api.LoadBalancer;
import java.io.IOException;
import org.apache.hc.client5.http.classic.ExecChain;
import org.apache.hc.client5.http.classic.ExecChainHandler;
import org.apache.hc.core5.http.ClassicHttpRequest;
import org.apache.hc.core5.http.ClassicHttpResponse;
import org.apache.hc.core5.http.HttpException;

/**
 * The classic client's balancing stage: a request to a balanced host runs on the shared {@link
 * AttemptLoop}, each attempt sent down the rest of the chain on a route to the picked endpoint;
 * other requests pass through.
 */
final class ClassicBalancingHandler implements ExecChainHandler {

  private final HttpClientLoadBalancing balancing;

  ClassicBalancingHandler(HttpClientLoadBalancing balancing) {
    this.balancing = balancing;
  }

  @Override
  public ClassicHttpResponse execute(
      ClassicHttpRequest request, ExecChain.Scope scope, ExecChain chain)
      throws IOException, HttpException {
    String host = HttpRules.requestHost(request, scope.route);
    LoadBalancer lb = balancing.balancerOf(host);
    scope.clientContext.setAttribute(HttpClientLoadBalancing.BALANCED, lb != null);
    if (lb == null) {
      return chain.proceed(request, scope);
    }
    HttpRules.checkNoProxy(host, scope.route);
    HttpClientLoadBalancing.Settings settings = balancing.settings();
    boolean idempotent = HttpRules.idempotent(request, scope.clientContext);
    BalancedCall call =
        lb.newCall(HttpRules.pickContext(request, scope.clientContext, settings.key()), idempotent);
    ClassicDriver driver =
        new ClassicDriver(
            settings, lb.name(), lb.inspect().retryPolicy(), request, scope, chain, idempotent);
    return AttemptLoop.run(call, Long.MAX_VALUE, driver);
  }
}
