package io.loadstar.okhttp;

import static java.util.Objects.requireNonNull;

import java.util.function.Function;
import okhttp3.Request;
import org.jspecify.annotations.Nullable;

/**
 * Where a request's hash key comes from, for consistent hashing and sticky affinity ({@link
 * LoadBalancingInterceptor.Builder#hashKey}): a header, a cookie, or any function of the request. A
 * request tagged with its own {@code PickContext} keeps it.
 */
public final class AffinityKeys {

  private AffinityKeys() {}

  /** The value of header {@code name}; no key if the request has none. */
  public static Function<Request, @Nullable String> header(String name) {
    requireNonNull(name, "name");
    if (name.isBlank()) {
      throw new IllegalArgumentException("name: '" + name + "' (expected: a header name)");
    }
    return request -> request.header(name);
  }

  /** The value of cookie {@code name} in the request's {@code Cookie} headers; no key if absent. */
  public static Function<Request, @Nullable String> cookie(String name) {
    requireNonNull(name, "name");
    if (name.isBlank() || name.indexOf('=') >= 0 || name.indexOf(';') >= 0) {
      throw new IllegalArgumentException(
          "name: '" + name + "' (expected: a cookie name, without '=' or ';')");
    }
    return request -> {
      for (String header : request.headers("Cookie")) {
        for (String pair : header.split(";")) {
          int eq = pair.indexOf('=');
          if (eq > 0 && pair.substring(0, eq).trim().equals(name)) {
            return pair.substring(eq + 1).trim();
          }
        }
      }
      return null;
    };
  }
}
