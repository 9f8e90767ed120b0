package io.loadstar.core;

import io.loadstar.api.EndpointView;
import io.loadstar.api.Picker;
import java.util.List;
import org.jspecify.annotations.Nullable;

/*
 * Design notes: a routing feature is a stage. SnapshotBuilder composes the stages, outermost
 * first, into one chain per group of a tier's endpoints; the last link is the strategy's picker.
 * A stage may hand the group on unchanged (its feature is off), split it and build a picker per
 * part through the rest of the chain (canary, zones), or wrap what the rest builds (sticky keys).
 * Each stage records the routes and routing lines it is responsible for in the build's statuses,
 * so snapshot() and explain() read what the pickers do. A new routing feature is a new stage and
 * one line in SnapshotBuilder's list.
 */
/** One routing feature: builds a group's picker around the rest of the chain. */
interface RoutingStage {

  /**
   * Returns the picker of {@code group}, built around {@code next} (the rest of the chain), or null
   * if nothing in the group can be picked.
   */
  @Nullable Picker picker(RoutingBuild build, Group group, Chain next);

  /** The rest of the chain after a stage; its last link is the strategy. */
  @FunctionalInterface
  interface Chain {
    @Nullable Picker picker(Group group);
  }

  /**
   * Endpoints of one tier that one picker serves: those listed with a weight (drained included) and
   * the usable ones among them, and the group's name in routing lines ("canary ", "stable " or "").
   */
  record Group(List<EndpointState> listed, List<EndpointView> usable, String label) {}
}
