package io.loadstar.dns;

import io.loadstar.api.Endpoint;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * What one name resolved to: endpoints, the TTL that remains of the records used, whether the name
 * does not exist, or the error that stopped the lookup.
 */
record LookupResult(
    List<Endpoint> endpoints, long ttlNanos, boolean nxdomain, @Nullable Throwable error) {

  /** Whether the name has nothing to offer (no error, no endpoint): try the next candidate. */
  boolean notFound() {
    return error == null && endpoints.isEmpty();
  }
}
