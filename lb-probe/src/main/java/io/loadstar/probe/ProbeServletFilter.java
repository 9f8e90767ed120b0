package io.loadstar.probe;

import static java.util.Objects.requireNonNull;

import jakarta.servlet.AsyncEvent;
import jakarta.servlet.AsyncListener;
import jakarta.servlet.Filter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * A Servlet filter (Jakarta Servlet 5 or later) that counts every request it sees in a {@link
 * ProbeLoad} and answers probes on {@link ProbeLoad#PATH} (within the application's context path).
 * Map it to {@code /*}. An asynchronous request counts until it completes.
 *
 * <pre>{@code
 * context.addFilter("loadstar-probe", new ProbeServletFilter(ProbeLoad.create()))
 *     .addMappingForUrlPatterns(null, false, "/*");
 * }</pre>
 */
public final class ProbeServletFilter implements Filter {

  private final ProbeLoad load;

  /** A filter counting in {@code load}. */
  public ProbeServletFilter(ProbeLoad load) {
    this.load = requireNonNull(load, "load");
  }

  /** Returns the load this filter counts in. */
  public ProbeLoad load() {
    return load;
  }

  @Override
  public void doFilter(ServletRequest request, ServletResponse response, FilterChain chain)
      throws IOException, ServletException {
    if (request instanceof HttpServletRequest http
        && response instanceof HttpServletResponse out
        && ProbeLoad.PATH.equals(http.getRequestURI().substring(http.getContextPath().length()))) {
      byte[] body = load.answer().getBytes(StandardCharsets.UTF_8);
      out.setStatus(200);
      out.setContentType(ProbeLoad.CONTENT_TYPE);
      out.setHeader("Cache-Control", "no-store");
      out.setContentLength(body.length);
      out.getOutputStream().write(body);
      return;
    }
    long started = load.started();
    boolean async = false;
    try {
      chain.doFilter(request, response);
      if (request.isAsyncStarted()) {
        async = true;
        request.getAsyncContext().addListener(new Ending(started));
      }
    } finally {
      if (!async) {
        load.ended(started);
      }
    }
  }

  /** Ends an asynchronous request's count when it completes, fails or times out. */
  private final class Ending implements AsyncListener {
    private final long started;
    private boolean ended;

    Ending(long started) {
      this.started = started;
    }

    private synchronized void end() {
      if (!ended) {
        ended = true;
        load.ended(started);
      }
    }

    @Override
    public void onComplete(AsyncEvent event) {
      end();
    }

    @Override
    public void onTimeout(AsyncEvent event) {
      end();
    }

    @Override
    public void onError(AsyncEvent event) {
      end();
    }

    @Override
    public void onStartAsync(AsyncEvent event) {
      event.getAsyncContext().addListener(this); // a new async cycle: keep listening
    }
  }

  @Override
  public String toString() {
    return "ProbeServletFilter{" + load + '}';
  }
}
