package io.loadstar.grpc;

import io.grpc.Status;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * The failed attempts of one RPC that was retried, for the status it ends with: the caller sees
 * every endpoint tried and what each answered, as the HTTP drivers chain earlier failures as
 * suppressed exceptions. Confined to its call's serializer; read by the attempt that ends the RPC,
 * which the serializer started after the last addition.
 */
final class AttemptHistory {

  private final String service;
  private @Nullable List<String> failed;

  AttemptHistory(String service) {
    this.service = service;
  }

  /** Adds a failed attempt's description ({@link StatusOutcome#describe}). */
  void add(String attempt) {
    List<String> f = failed;
    if (f == null) {
      f = new ArrayList<>(2);
      failed = f;
    }
    f.add(attempt);
  }

  /**
   * Returns {@code status} with the earlier attempts, and why no endpoint was left to retry on (if
   * {@code unavailableReason} says), added to its description; {@code status} itself if there is
   * nothing to add.
   */
  Status describe(Status status, @Nullable String unavailableReason) {
    List<String> f = failed;
    if (f == null && unavailableReason == null) {
      return status;
    }
    StringBuilder sb = new StringBuilder("Loadstar, service ").append(service);
    if (f != null) {
      sb.append(": earlier attempts ").append(String.join("; ", f));
    }
    if (unavailableReason != null) {
      sb.append(": no endpoint left to retry on: ").append(unavailableReason);
    }
    return status.augmentDescription(sb.toString());
  }
}
