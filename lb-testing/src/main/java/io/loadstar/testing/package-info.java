/**
 * Fixtures for Loadstar's own tests: {@link io.loadstar.testing.FakeTicker} and {@link
 * io.loadstar.testing.ManualScheduler} for fake time, {@link io.loadstar.testing.Await} for polling
 * real servers with a deadline, loopback servers and real server processes. Not API: it changes
 * with the tests that use it.
 */
@NullMarked
package io.loadstar.testing;

import org.jspecify.annotations.NullMarked;
