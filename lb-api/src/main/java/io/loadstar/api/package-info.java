/**
 * Loadstar's public types and service-provider interfaces: endpoints and their discovery ({@link
 * io.loadstar.api.Endpoint}, {@link io.loadstar.api.EndpointSource}), selection ({@link
 * io.loadstar.api.LoadBalancer}, {@link io.loadstar.api.Picker}, {@link
 * io.loadstar.api.SelectionStrategy}) and outcome reporting ({@link io.loadstar.api.CallHandle}).
 *
 * <p>This package has no dependencies beyond the JDK. Implementations live in {@code lb-core} and
 * the integration modules.
 */
@NullMarked
package io.loadstar.api;

import org.jspecify.annotations.NullMarked;
