package io.loadstar.etcd;

import java.io.IOException;
import org.jspecify.annotations.Nullable;

/** An error etcd answered with, or the failure to reach any of its members. */
public final class EtcdException extends IOException {

  private static final long serialVersionUID = 1L;

  /** gRPC's code for "unavailable": no leader, leader changed, member stopping. */
  static final int UNAVAILABLE = 14;

  /** gRPC's code for "not found": an unknown or expired lease. */
  static final int NOT_FOUND = 5;

  private final int code;

  EtcdException(String message, int code, @Nullable Throwable cause) {
    super(message, cause);
    this.code = code;
  }

  /**
   * Returns etcd's gRPC status code (for example 5, not found, for an expired lease), or -1 if etcd
   * was not reached or answered without one.
   */
  public int code() {
    return code;
  }
}
