package io.loadstar.httpclient5;

import java.io.IOException;
import org.apache.hc.client5.http.HttpRequestRetryStrategy;
import org.apache.hc.core5.http.HttpRequest;
import org.apache.hc.core5.http.HttpResponse;
import org.apache.hc.core5.http.protocol.HttpContext;
import org.apache.hc.core5.util.TimeValue;

/**
 * The client's retry strategy once balancing is installed: balanced requests are retried by
 * Loadstar on another endpoint, so HttpClient's retry stage leaves them alone; other hosts keep
 * {@code delegate}. The balancing handler, which every request passes, marks the context.
 */
final class OtherHostsRetryStrategy implements HttpRequestRetryStrategy {

  private final HttpRequestRetryStrategy delegate;

  OtherHostsRetryStrategy(HttpRequestRetryStrategy delegate) {
    this.delegate = delegate;
  }

  private static boolean balanced(HttpContext context) {
    return Boolean.TRUE.equals(context.getAttribute(HttpClientLoadBalancing.BALANCED));
  }

  @Override
  public boolean retryRequest(
      HttpRequest request, IOException exception, int execCount, HttpContext context) {
    return !balanced(context) && delegate.retryRequest(request, exception, execCount, context);
  }

  @Override
  public boolean retryRequest(HttpResponse response, int execCount, HttpContext context) {
    return !balanced(context) && delegate.retryRequest(response, execCount, context);
  }

  @Override
  public TimeValue getRetryInterval(HttpResponse response, int execCount, HttpContext context) {
    return delegate.getRetryInterval(response, execCount, context);
  }

  @Override
  public TimeValue getRetryInterval(
      HttpRequest request, IOException exception, int execCount, HttpContext context) {
    return delegate.getRetryInterval(request, exception, execCount, context);
  }
}
