/**
 * A complete driver of Loadstar's attempt loop for a client of its own (docs/DRIVERS.md shows it):
 * what a new integration writes.
 */
@NullMarked
package io.loadstar.samples.drivers;

import org.jspecify.annotations.NullMarked;
