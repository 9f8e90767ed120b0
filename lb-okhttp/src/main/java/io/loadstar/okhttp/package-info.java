/**
 * Loadstar for OkHttp 5: {@link io.loadstar.okhttp.LoadBalancingInterceptor} balances the requests
 * to the hosts it is configured for over each host's {@link io.loadstar.api.LoadBalancer}, retries
 * on another endpoint by the balancer's retry policy, and tells which endpoint served a response
 * ({@link io.loadstar.okhttp.CallAttempts}). {@link io.loadstar.okhttp.HttpHealthChecker} checks
 * endpoints over HTTP.
 */
@NullMarked
package io.loadstar.okhttp;

import org.jspecify.annotations.NullMarked;
