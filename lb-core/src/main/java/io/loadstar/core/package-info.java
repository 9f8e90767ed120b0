/**
 * Loadstar's balancing engine: {@link io.loadstar.core.LoadBalancers} builds a balancer from
 * endpoint sources ({@link io.loadstar.core.StaticEndpointSource}, {@link
 * io.loadstar.core.DynamicEndpointSource}, {@link io.loadstar.core.CompositeEndpointSource}) and a
 * selection strategy from {@link io.loadstar.core.Strategies}.
 *
 * <p>Types not declared {@code public} here are implementation details.
 */
@NullMarked
package io.loadstar.core;

import org.jspecify.annotations.NullMarked;
