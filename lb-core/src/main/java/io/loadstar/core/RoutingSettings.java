package io.loadstar.core;

import org.jspecify.annotations.Nullable;

/** What every snapshot of a balancer is built with, from its settings. Immutable. */
record RoutingSettings(
    int panicThreshold,
    boolean failFastInPanic,
    boolean tierSpillover,
    long slowStartNanos,
    int slowStartFloorPercent,
    int weightScale,
    int maxInFlight,
    String localZone,
    ZoneRouting zoneRouting,
    @Nullable Affinity affinity) {}
