/**
 * Loadstar for Apache HttpClient 5: {@link io.loadstar.httpclient5.HttpClientLoadBalancing} adds a
 * handler to a classic or async client's execution chain that balances the requests to the hosts it
 * is configured for over each host's {@link io.loadstar.api.LoadBalancer}, retries on another
 * endpoint by the balancer's retry policy, and tells which endpoints a request tried ({@link
 * io.loadstar.httpclient5.CallAttempts}).
 */
@NullMarked
package io.loadstar.httpclient5;

import org.jspecify.annotations.NullMarked;
