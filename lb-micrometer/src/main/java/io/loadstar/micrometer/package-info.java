/**
 * Micrometer meters for Loadstar: {@link io.loadstar.micrometer.LoadstarMetrics} turns balancers'
 * state, counters and events into gauges and counters, with nothing added to the call path.
 */
@NullMarked
package io.loadstar.micrometer;

import org.jspecify.annotations.NullMarked;
