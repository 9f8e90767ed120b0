package io.loadstar.bench;

import io.grpc.Attributes;
import io.grpc.LoadBalancer.Subchannel;

/**
 * A gRPC subchannel that is always READY and never connects, for the pickers lb-bench measures
 * (gRPC's and Loadstar's): the picker is what is measured.
 */
public final class ReadySubchannel extends Subchannel {
  private final int id;

  /** A subchannel numbered {@code id}, for its {@code toString}. */
  public ReadySubchannel(int id) {
    this.id = id;
  }

  @Override
  public void shutdown() {}

  @Override
  public void requestConnection() {}

  @Override
  public Attributes getAttributes() {
    return Attributes.EMPTY;
  }

  @Override
  public String toString() {
    return "Ready{" + id + "}";
  }
}
